"""Made-up events for metric tests, and the straightforward computations to check against."""

import datetime as dt
import random

NAMES = ["$pageview", "vote_cast", "artist_followed"]
DEVICES = ["mobile", "desktop", "tablet"]


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
        # As the tracker sends it, but not on every event (the server's own have none).
        context = {"device_type": DEVICES[i % 3], "page": {"path": f"/p/{i % 4}/"}} if i % 5 else {}
        events.append({
            "event": rng.choice(NAMES), "distinct_id": f"anon-{rng.randint(1, 25)}",
            "message_id": f"gen-{seed}-{i}", "timestamp": moment.isoformat(),
            "properties": properties, "context": context,
        })  # fmt: skip
    return events


def moment_of(event: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(event["timestamp"])


def breakdown_of(event: dict, breakdown: str):
    """The event's value of a breakdown (show_id, properties.x, context.x.y), or None."""
    source, path = breakdown.split(".", 1) if "." in breakdown else ("properties", breakdown)
    value = event.get(source, {})
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value
