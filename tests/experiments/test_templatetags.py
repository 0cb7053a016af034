import pytest
from django.template import Context, RequestContext, Template
from django.test import RequestFactory

from experiments.models import Exposure
from tests.experiments.factories import experiment

pytestmark = pytest.mark.django_db

PAGE = Template(
    '{% load experiments %}{% variant "cta-copy" as v %}'
    '{% if v.variant == "b" %}Vote now{% else %}Pick your songs{% endif %}|{{ v.reason }}'
)


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_the_tag_picks_the_fans_variant_and_records_the_exposure(user):
    experiment(key="cta-copy", weights=(0.0, 1.0))
    assert PAGE.render(RequestContext(_request(user))) == "Vote now|assigned"
    assert Exposure.objects.get().user == user


def test_an_unknown_experiment_renders_the_default_branch_not_an_error(user, caplog):
    assert PAGE.render(RequestContext(_request(user))) == "Pick your songs|unknown experiment"
    assert "no such experiment" in caplog.text


def test_without_a_request_the_tag_renders_the_default(user):
    experiment(key="cta-copy", weights=(0.0, 1.0))
    assert PAGE.render(Context({})) == "Pick your songs|no request"
    assert not Exposure.objects.exists()
