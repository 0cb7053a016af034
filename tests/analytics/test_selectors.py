import pytest
from django.core.cache import cache

from analytics.selectors import WEB_TRACKER_CACHE_KEY, ingest_key_get, web_tracker_key_get
from analytics.services import ingest_key_create

pytestmark = pytest.mark.django_db


def test_a_new_public_key_replaces_a_cached_absence(django_capture_on_commit_callbacks):
    assert web_tracker_key_get() is None  # now cached as "none"

    with django_capture_on_commit_callbacks(execute=True):
        _, secret = ingest_key_create(name="web", is_public=True)

    assert web_tracker_key_get() == secret
    cache.delete(WEB_TRACKER_CACHE_KEY)


def test_secret_keys_keep_only_a_hash():
    key, secret = ingest_key_create(name="partner")

    assert key.public_key == "" and secret not in key.key_hash
    assert ingest_key_get(secret=secret).pk == key.pk
    assert ingest_key_get(secret="mk_" + "x" * 200) is None
