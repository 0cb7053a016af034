"""What the tiered cache saves: a show page and the API ballot (through Django's test client,
in this process) and a cached function standing in for a dashboard widget, each measured
with no cache, with the shared layer only (this process's layer emptied before each call,
as on a process that has not read the show yet) and with both layers, interleaved in rounds
in the same run.

    make bench-cache      # BENCH_REQUESTS=500 per case by default; needs PostgreSQL + Redis

The data (made once, in `<DATABASE_URL's database>_bench_cache`): an artist with 300 songs
and 150 past shows of 20 songs, an upcoming show with 2,000 votes of 200 fans.
"""

import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.common import bench_database_url, setup_django  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "500"))
ROUNDS = 5
ARTIST = "Bench Cache Band"


def make_data():
    """Return the upcoming show and a fan who voted on it, made on the first run."""
    import datetime

    from django.utils import timezone
    from django.utils.text import slugify

    from mysetlist.setlists.models import Artist, SetlistEntry, Show, Song, Vote, VoteTally
    from mysetlist.users.models import User

    artist = Artist.objects.filter(name=ARTIST).first()
    if artist is not None:
        show = Show.objects.get(artist=artist, status=Show.Status.VOTING_OPEN)
        return show, User.objects.get(username="bench-cache-fan-0")
    rng = random.Random(3)
    today = timezone.now().date()
    artist = Artist.objects.create(name=ARTIST, slug=slugify(ARTIST))
    songs = Song.objects.bulk_create(Song(artist=artist, title=f"Song {n}") for n in range(300))
    for number in range(150):
        past = Show.objects.create(
            artist=artist,
            date=today - datetime.timedelta(days=7 * (150 - number)),
            status=Show.Status.COMPLETED,
        )
        SetlistEntry.objects.bulk_create(
            SetlistEntry(show=past, song=song, position=position)
            for position, song in enumerate(rng.sample(songs[:60], 20), start=1)
        )
    show = Show.objects.create(
        artist=artist,
        date=today + datetime.timedelta(days=10),
        status=Show.Status.VOTING_OPEN,
    )
    fans = User.objects.bulk_create(
        User(username=f"bench-cache-fan-{n}", email=f"fan{n}@example.com") for n in range(200)
    )
    votes = [
        Vote(user=fan, show=show, song=song, value=1 if rng.random() < 0.85 else -1)
        for fan in fans
        for song in rng.sample(songs, 10)
    ]
    Vote.objects.bulk_create(votes)
    counts: dict[int, list[int]] = {}
    for vote in votes:
        up_down = counts.setdefault(vote.song_id, [0, 0])
        up_down[0 if vote.value == 1 else 1] += 1
    VoteTally.objects.bulk_create(
        VoteTally(show=show, song_id=song_id, upvotes=up, downvotes=down, version=up + down)
        for song_id, (up, down) in counts.items()
    )
    return show, fans[0]


def per_call_ms(function, n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def summary(times: list[float]) -> str:
    from mysetlist.core.stats import percentile

    p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
    return f"median {p50:8.3f} ms   p95 {p95:8.3f} ms"


def measure(cases: dict, n: int) -> dict[str, dict[str, list[float]]]:
    """Run every case in every mode, interleaved in ROUNDS rounds."""
    from mysetlist.core import tiered_cache

    real = tiered_cache.cached

    def uncached(namespace, key, *, loader, **options):
        return loader()

    def shared_only(*args, **kwargs):
        tiered_cache._layer().clear()
        return real(*args, **kwargs)

    modes = {"no cache": uncached, "shared only": shared_only, "both layers": real}
    found: dict[str, dict[str, list[float]]] = {case: {m: [] for m in modes} for case in cases}
    try:
        for _ in range(ROUNDS):
            for mode, implementation in modes.items():
                tiered_cache.cached = implementation
                for case, function in cases.items():
                    function()  # warm: the first read of a mode fills the cache
                    found[case][mode] += per_call_ms(function, n // ROUNDS)
    finally:
        tiered_cache.cached = real
    return found


def main() -> None:
    os.environ.setdefault("THROTTLE_USER", "100000000/min")
    os.environ.setdefault("THROTTLE_ANON", "100000000/min")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    setup_django(bench_database_url("_bench_cache"))
    import logging

    from django.conf import settings
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from mysetlist.core import tiered_cache
    from mysetlist.setlists import selectors
    from mysetlist.setlists.models import Vote
    from predictions import services as predictions_services

    setup_test_environment()
    logging.getLogger("django.request").setLevel(logging.ERROR)
    show, fan = make_data()
    predictions_services.prediction_ensure(show_id=show.pk)
    tiered_cache.clear()

    page_client, api_client = Client(), Client()
    api_client.force_login(fan)
    page_url = reverse("setlists:show-detail", args=[show.pk])
    api_url = reverse("setlists-api:show-ballot", args=[show.pk])
    assert page_client.get(page_url).status_code == 200
    assert api_client.get(api_url).status_code == 200

    @tiered_cache.cached_function("widgets", ttl=30)
    def votes_by_song(*, show_id: int) -> tuple:
        """A dashboard widget's read: the show's votes per song, most first."""
        rows = (
            Vote.objects.filter(show_id=show_id)
            .values("song_id")
            .annotate(n=Count("id"))
            .order_by("-n", "song_id")
            .values_list("song_id", "n")
        )
        return tuple(rows)

    cases = {
        "show page GET (anonymous)": lambda: page_client.get(page_url),
        "API ballot GET (signed in)": lambda: api_client.get(api_url),
        "show_ballot selector (signed in)": lambda: selectors.show_ballot(show=show, user=fan),
        "cached function (widget)": lambda: votes_by_song(show_id=show.pk),
    }
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    print(f"cores: {cores} (of {os.cpu_count()}); shared layer: {backend}")
    print(f"{REQUESTS} calls per case and mode, in {ROUNDS} interleaved rounds\n")
    found = measure(cases, REQUESTS)
    for case, modes in found.items():
        print(case)
        for mode, times in modes.items():
            print(f"  {mode:<12} {summary(times)}")
    print("\nreads counted by this process:", tiered_cache.cache_stats())


if __name__ == "__main__":
    main()
