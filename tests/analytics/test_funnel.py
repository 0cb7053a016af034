"""The pure funnel arithmetic: one person's steps, and every person's at once."""

import datetime as dt
import random
from collections import defaultdict

import numpy as np
import pytest

from analytics.maths.funnels import sequence_counts, steps_reached


def test_steps_reached_takes_the_attempt_that_gets_furthest():
    t = [dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=h) for h in range(5)]
    # A first try at 0h stalls (its second step comes too late); a second at 3h completes.
    times = [(t[0], "a"), (t[3], "a"), (t[4], "b")]

    assert steps_reached(times, ["a", "b"], dt.timedelta(hours=2), t[0], t[4]) == 2
    assert steps_reached(times, ["a", "b"], dt.timedelta(hours=2), t[0], t[2]) == 1


@pytest.mark.parametrize("seed", range(6))
def test_sequence_counts_agrees_with_steps_reached_person_by_person(seed):
    rng = random.Random(seed)
    names = ["a", "b", "c"]
    steps = [rng.choice(names) for _ in range(rng.randint(2, 5))]
    window, end = rng.randint(1, 40), 60
    rows = [(rng.randint(1, 30) * rng.choice([-1, 1]), rng.randint(0, 80), rng.choice(names))
            for _ in range(600)]  # fmt: skip
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    by_person = defaultdict(list)
    for person, at, name in rows:
        by_person[person].append((base + dt.timedelta(seconds=at), name))
    expected = [0] * len(steps)
    for times in by_person.values():
        got = steps_reached(sorted(times), steps, dt.timedelta(seconds=window), base,
                            base + dt.timedelta(seconds=end))  # fmt: skip
        for k in range(got):
            expected[k] += 1

    person, at, name = (np.array(column) for column in zip(*rows, strict=True))
    mask = sum((name == step).astype(np.int64) << k for k, step in enumerate(steps))
    counts = sequence_counts(person, at, mask, steps=len(steps), window=window, end=end)

    assert counts == expected
    assert counts[0] > 0


def test_sequence_counts_of_no_rows_is_nobody():
    empty = np.array([], dtype=np.int64)
    assert sequence_counts(empty, empty, empty, steps=3, window=5, end=10) == [0, 0, 0]
