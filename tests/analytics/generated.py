"""Made-up events for metric tests, and the straightforward computations to check against."""

import datetime as dt
import random

NAMES = ["$pageview", "vote_cast", "artist_followed"]


def generate(now: dt.datetime, n: int = 400, seed: int = 5, span: dt.timedelta | None = None):
    """Events over `span` (three hours) before now from 25 anonymous ids."""
    rng = random.Random(seed)
    span_seconds = int((span or dt.timedelta(hours=3)).total_seconds())
    events = []
    for i in range(n):
        properties = {"device": rng.choice(["mobile", "desktop"])}
        if rng.random() < 0.7:
            properties |= {"show_id": rng.randint(1, 4), "song_id": rng.randint(1, 9),
                           "artist_id": rng.randint(1, 2)}  # fmt: skip
        moment = now - dt.timedelta(seconds=rng.randint(0, span_seconds))
        events.append({
            "event": rng.choice(NAMES), "distinct_id": f"anon-{rng.randint(1, 25)}",
            "message_id": f"gen-{seed}-{i}", "timestamp": moment.isoformat(),
            "properties": properties,
        })  # fmt: skip
    return events


def moment_of(event: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(event["timestamp"])
