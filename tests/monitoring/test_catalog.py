import datetime as dt

import pytest

from monitoring import catalog
from mysetlist.core.exceptions import ApplicationError

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def answer():
    figure = catalog.register(
        catalog.Figure(key="test_answer", name="The answer", unit="count", read=lambda s, e: 42)
    )
    yield figure
    catalog._FIGURES.pop(figure.key)


def test_a_figure_is_read_by_its_key(answer):
    assert catalog.value("test_answer", NOW - dt.timedelta(minutes=5), NOW) == 42
    assert answer in catalog.figures()


def test_an_unknown_figure_is_an_error_naming_the_known_ones(answer):
    with pytest.raises(ApplicationError, match="no figure 'nope'.*test_answer"):
        catalog.value("nope", NOW, NOW)


def test_a_key_is_registered_once(answer):
    with pytest.raises(ValueError, match="registered already"):
        catalog.register(catalog.Figure(key="test_answer", name="", unit="", read=lambda s, e: 0))
