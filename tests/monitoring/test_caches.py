"""The caches page (clear every cache, staff only) and the cache hit-rate figures."""

import datetime as dt
import logging

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from monitoring import catalog, figures
from mysetlist.core import tiered_cache
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


class Loader:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.calls


def window():
    now = timezone.now()
    return now - dt.timedelta(minutes=5), now + dt.timedelta(seconds=1)


def test_the_hit_rate_figures_sum_the_counts_every_process_hands_over():
    loader = Loader()
    for namespace in ("ballot:1", "ballot:1", "ballot:1", "prediction:1"):
        tiered_cache.cached(namespace, "k", ttl=60, loader=loader)
    tiered_cache._layer().clear()
    tiered_cache.cached("ballot:1", "k", ttl=60, loader=loader)  # from the shared layer
    tiered_cache.counts_flush()
    # Another process's counts, as its flush hands them over.
    from monitoring import live

    live.counts_add({"cache:ballot:local_hit": 3, "cache:ballot:miss": 1})

    start, end = window()
    assert figures.cache_counts(start, end) == {
        "ballot": {"local_hit": 5, "shared_hit": 1, "miss": 2},
        "prediction": {"local_hit": 0, "shared_hit": 0, "miss": 1},
    }
    assert catalog.value("cache_hit_rate", start, end) == pytest.approx(100 * 6 / 9, abs=0.01)
    assert catalog.value("cache_local_hit_rate", start, end) == pytest.approx(100 * 5 / 9, abs=0.01)
    earlier = (start - dt.timedelta(hours=1), end - dt.timedelta(hours=1))
    assert catalog.value("cache_hit_rate", *earlier) is None


def test_only_staff_reach_the_caches_page():
    loader = Loader()
    tiered_cache.cached("widgets", "k", ttl=60, loader=loader)
    fan = Client()
    fan.force_login(UserFactory())
    url = reverse("monitoring:caches")
    for response in (fan.get(url), fan.post(url)):
        assert response.status_code == 403  # the plain "not allowed" page
    response = Client().post(url)
    assert response.status_code == 302 and reverse("users:login") in response["Location"]
    tiered_cache.cached("widgets", "k", ttl=60, loader=loader)
    assert loader.calls == 1  # nothing was cleared


def test_staff_clear_every_cache_with_the_button(caplog):
    staff = UserFactory(username="oncall", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    loader = Loader()
    tiered_cache.cached("widgets", "k", ttl=60, loader=loader)

    page = client.get(reverse("monitoring:caches"))
    assert page.status_code == 200
    assert b'id="clear-caches"' in page.content and b"<td>widgets</td>" in page.content
    assert client.post(reverse("monitoring:caches")).status_code == 403  # no CSRF token
    tiered_cache.cached("widgets", "k", ttl=60, loader=loader)
    assert loader.calls == 1

    token = page.context["csrf_token"]
    with caplog.at_level(logging.WARNING, logger="monitoring.services"):
        response = client.post(reverse("monitoring:caches"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert "Caches cleared by oncall" in caplog.text
    assert tiered_cache.cached("widgets", "k", ttl=60, loader=loader) == 2  # loaded again
    followed = client.get(response["Location"])
    assert b"Caches cleared on every process" in followed.content


def test_the_admin_index_links_to_the_caches_page():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert reverse("monitoring:caches").encode() in response.content
