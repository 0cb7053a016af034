"""A show's prediction through the tiered cache: the page and the API read it from the cache,
and a prediction stored anew is what they show next."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from mysetlist.core import tiered_cache
from predictions import selectors, services
from tests.setlists.factories import ShowFactory

pytestmark = pytest.mark.django_db


def reads(outcome: str) -> int:
    return tiered_cache.cache_stats().get("prediction", {}).get(outcome, 0)


def test_the_api_and_page_show_a_prediction_stored_anew(
    api_client, client, django_capture_on_commit_callbacks
):
    first = timezone.now() - datetime.timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        show = ShowFactory(voting_open=True)
        services.prediction_generate(show_id=show.pk, now=first)
    url = reverse("predictions-api:show-prediction", kwargs={"show_id": show.pk})

    body = api_client.get(url).json()
    assert body["note"] == "no model has been fitted yet"
    assert body["generated_at"] == first.isoformat().replace("+00:00", "Z")
    assert client.get(reverse("setlists:show-detail", args=[show.pk])).status_code == 200
    assert (reads("miss"), reads("local_hit")) == (1, 1)  # the page read the API's copy

    second = first + datetime.timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.prediction_generate(show_id=show.pk, now=second)
    body = api_client.get(url).json()
    assert body["generated_at"] == second.isoformat().replace("+00:00", "Z")
    assert selectors.show_prediction_view_get(show_id=show.pk).prediction.generated_at == second


def test_a_show_without_a_prediction_gets_one_on_its_first_api_read(
    api_client, django_capture_on_commit_callbacks
):
    show = ShowFactory(voting_open=True)
    url = reverse("predictions-api:show-prediction", kwargs={"show_id": show.pk})
    assert selectors.show_prediction_view_get(show_id=show.pk) is None  # cached: none yet
    with django_capture_on_commit_callbacks(execute=True):
        body = api_client.get(url).json()
    assert body["note"] == "no model has been fitted yet"
    assert selectors.show_prediction_view_get(show_id=show.pk) is not None
