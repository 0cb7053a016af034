import logging
import os
import time

import pytest
from django.core.cache import cache
from django.db import transaction

from mysetlist.core import tiered_cache
from tests.core.cache_process import OtherProcess

needs_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="processes share a cache only through Redis"
)


class Loader:
    """A loader that counts its calls and returns the value the test sets."""

    def __init__(self, value):
        self.value = value
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.value


def read(loader, namespace="test:1", key="k", **options):
    return tiered_cache.cached(namespace, key, ttl=options.pop("ttl", 60), loader=loader, **options)


def test_cached_loads_once_then_serves_the_local_then_the_shared_layer():
    loader = Loader(("a", 1))
    assert read(loader) == ("a", 1)
    assert read(loader) == ("a", 1)
    tiered_cache._layer().clear()  # as another process would: nothing local yet
    assert read(loader) == ("a", 1)
    assert loader.calls == 1
    stats = tiered_cache.cache_stats()["test"]
    assert (stats["miss"], stats["local_hit"], stats["shared_hit"]) == (1, 1, 1)
    assert stats["hit_rate"] == pytest.approx(66.67)
    assert stats["local_hit_rate"] == pytest.approx(33.33)


def test_cached_keeps_none_and_separates_keys_and_namespaces():
    nothing, one, other = Loader(None), Loader(1), Loader(2)
    assert read(nothing, key="none") is None
    assert read(nothing, key="none") is None
    assert nothing.calls == 1
    assert (read(one, key="x"), read(other, key="y"), read(other, namespace="test:2")) == (1, 2, 2)
    assert (one.calls, other.calls) == (1, 2)


def test_local_entries_expire_after_their_local_ttl_and_shared_ones_after_ttl():
    loader = Loader("v")
    read(loader, ttl=1, local_ttl=0.05)
    time.sleep(0.1)
    read(loader, ttl=1, local_ttl=0.05)
    assert tiered_cache.cache_stats()["test"]["shared_hit"] == 1  # local copy expired
    time.sleep(1.1)
    read(loader, ttl=1, local_ttl=0.05)
    assert loader.calls == 2  # the shared copy expired too


def test_the_local_layer_is_bounded():
    bound = tiered_cache._layer().max_entries
    for n in range(bound + 50):
        read(Loader(n), key=str(n))
    assert len(tiered_cache._layer()) == bound
    loader = Loader("again")
    assert read(loader, key="0") == 0  # forgotten here, still shared
    assert loader.calls == 0


def test_invalidate_makes_this_process_miss_at_once():
    loader = Loader(1)
    read(loader)
    loader.value = 2
    assert read(loader) == 1
    tiered_cache.invalidate("test:1")
    assert read(loader) == 2
    assert read(loader, namespace="test:2") == 2  # another namespace: its own version


def test_a_dependency_invalidates_the_entries_that_name_it():
    loader = Loader(1)
    assert read(loader, depends_on=["songs:9"]) == 1
    loader.value = 2
    tiered_cache.invalidate("songs:9")
    assert read(loader, depends_on=["songs:9"]) == 2


def test_clear_empties_every_namespace():
    first, second = Loader(1), Loader(2)
    read(first, namespace="a:1")
    read(second, namespace="b:1")
    tiered_cache.clear()
    read(first, namespace="a:1")
    read(second, namespace="b:1")
    assert (first.calls, second.calls) == (2, 2)


@pytest.mark.django_db
def test_invalidate_on_commit_waits_for_the_commit_and_reads_fresh_until_then(
    django_capture_on_commit_callbacks,
):
    loader = Loader(1)
    read(loader)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tiered_cache.invalidate_on_commit("test:1")
        loader.value = 2
        assert read(loader) == 2  # the transaction sees its own change
        assert read(loader) == 2
        assert loader.calls == 3  # bypassed, not stored
        token = cache.get(tiered_cache._version_key("test:1"))
    assert len(callbacks) == 1
    assert cache.get(tiered_cache._version_key("test:1")) != token  # bumped on commit
    assert read(loader) == 2
    assert read(loader) == 2
    assert loader.calls == 4  # cached again after the commit


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_invalidation_changes_nothing():
    loader = Loader(1)
    read(loader)
    token = cache.get(tiered_cache._version_key("test:1"))
    with pytest.raises(RuntimeError), transaction.atomic():
        tiered_cache.invalidate_on_commit("test:1")
        raise RuntimeError("rolled back")
    assert cache.get(tiered_cache._version_key("test:1")) == token
    assert read(loader) == 1
    assert loader.calls == 1


def test_cached_function_keys_by_arguments_and_invalidates_by_namespace():
    calls = []

    @tiered_cache.cached_function("widgets", ttl=30)
    def votes_today(*, artist_id: int) -> int:
        calls.append(artist_id)
        return artist_id * 10

    assert votes_today(artist_id=1) == 10
    assert votes_today(artist_id=1) == 10
    assert votes_today(artist_id=2) == 20
    assert calls == [1, 2]
    tiered_cache.invalidate("widgets")
    assert votes_today(artist_id=1) == 10
    assert calls == [1, 2, 1]


def test_an_unreachable_shared_cache_falls_back_to_the_loader(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ConnectionError("down")

    tiered_cache.local_forget()
    monkeypatch.setattr(tiered_cache.cache, "get_many", broken)
    loader = Loader("fresh")
    with caplog.at_level(logging.WARNING, logger="mysetlist.core.tiered_cache"):
        assert read(loader) == "fresh"
        assert read(loader) == "fresh"
    assert loader.calls == 2
    assert "unreachable" in caplog.text


def test_counts_go_to_the_sink_by_family_and_outcome():
    handed: list[dict] = []
    tiered_cache.counts_sink_set(handed.append)
    try:
        tiered_cache.counts_flush()
        handed.clear()
        loader = Loader(1)
        read(loader, namespace="ballot:1")
        read(loader, namespace="ballot:1")
        read(loader, namespace="ballot:2")
        tiered_cache.counts_flush()
    finally:
        from monitoring import live

        tiered_cache.counts_sink_set(live.counts_add)
    totals: dict[str, int] = {}
    for counts in handed:
        for field, n in counts.items():
            totals[field] = totals.get(field, 0) + n
    assert totals == {"cache:ballot:miss": 2, "cache:ballot:local_hit": 1}


@needs_redis
def test_another_process_sees_a_change_within_the_check_interval(tmp_path, settings):
    source = tmp_path / "value.txt"
    source.write_text("one")
    other = OtherProcess()
    try:
        command = {"op": "file", "namespace": "shared:1", "path": str(source)}
        assert other.ask(**command) == "one"
        source.write_text("two")
        assert other.ask(**command) == "one"  # it keeps its copy until told
        tiered_cache.invalidate("shared:1")
        took = other.wait_for("two", within=settings.TIERED_CACHE_CHECK_SECONDS + 1, **command)
        assert took <= settings.TIERED_CACHE_CHECK_SECONDS + 0.5
        # And clear() reaches it the same way.
        source.write_text("three")
        assert other.ask(**command) == "two"
        tiered_cache.clear()
        other.wait_for("three", within=settings.TIERED_CACHE_CHECK_SECONDS + 1, **command)
    finally:
        other.close()


@pytest.mark.django_db
def test_an_invalidation_rolled_back_with_its_savepoint_stops_the_bypass():
    loader = Loader(1)
    read(loader)
    with pytest.raises(RuntimeError), transaction.atomic():  # a savepoint in the test's
        tiered_cache.invalidate_on_commit("test:1")
        assert read(loader) == 1
        assert loader.calls == 2  # bypassed while it waited
        raise RuntimeError("rolled back")
    assert read(loader) == 1
    assert loader.calls == 2  # cached again: nothing waits for the commit any more
