from notifications.inbox import inbox_group
from notifications.selectors import inbox_groups_present


def test_inbox_groups_present_cannot_tell_from_a_cache_of_this_process_alone(settings):
    # The embedded setup: daphne's records are in its own memory, not the worker's.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert inbox_groups_present(groups=[inbox_group(1)]) is None
