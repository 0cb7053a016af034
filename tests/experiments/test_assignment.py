"""Assignment against GrowthBook's cross-SDK vectors and its Python SDK, and the split's
statistics: weights kept over 100,000 ids, nobody moved by more coverage."""

import json
import random
from pathlib import Path

import pytest
from growthbook.core import chooseVariation, gbhash, getBucketRanges
from scipy.stats import chisquare

from experiments.assignment import Splitter, bucket_ranges, choose, hash_value

SHARED = Path(__file__).resolve().parents[3] / "shared"
VECTORS = SHARED / "data" / "growthbook" / "hash_vectors.json"


@pytest.fixture(scope="module")
def vectors():
    if not VECTORS.exists():
        pytest.fail(f"{VECTORS} is missing: the cross-SDK vectors must run")
    return json.loads(VECTORS.read_text())


def _equal(n):
    return [1 / n] * n


def test_hash_matches_every_vector(vectors):
    assert len(vectors["hash"]) >= 10
    for seed, value, version, expected in vectors["hash"]:
        got = hash_value(seed, value, version)
        if expected is None:
            assert got is None, (seed, value, version)
        else:
            assert got == pytest.approx(expected, abs=1e-9), (seed, value, version)


# Where GrowthBook's SDKs fall back to equal weights, MySetlist refuses the weights instead:
# a silent fallback would move fans. A variant carries its own weight, so a list of weights of
# another length than the variants cannot be built; the SDK's fallback for it is equal weights.
REFUSED = {"weights sum below 1", "weights sum above 1"}
LENGTH_MISMATCH = {"weights.length not equal to num variations"}


def test_ranges_match_every_vector(vectors):
    for name, (n, coverage, weights), expected in vectors["ranges"]:
        if name in REFUSED:
            with pytest.raises(ValueError, match="sum to 1"):
                bucket_ranges(weights, coverage)
            continue
        if name in LENGTH_MISMATCH:
            assert len(weights) != n
            weights = None
        got = bucket_ranges(weights or _equal(n), coverage)
        assert len(got) == len(expected), name
        for (start, end), (want_start, want_end) in zip(got, expected, strict=True):
            assert start == pytest.approx(want_start, abs=1e-9), name
            assert end == pytest.approx(want_end, abs=1e-9), name


def test_refused_weights_are_the_only_differences_from_the_sdk(vectors):
    names = {name for name, *_ in vectors["ranges"]}
    assert REFUSED | LENGTH_MISMATCH <= names


def test_choose_matches_every_vector(vectors):
    for n, ranges, expected in vectors["choose"]:
        assert choose(n, [tuple(r) for r in ranges]) == expected, (n, ranges)


def test_namespace_hash_matches_every_vector(vectors):
    # A namespace is a range of the id's version-1 hash seeded with "__" + its name.
    for value, (namespace, start, end), expected in vectors["namespace"]:
        n = hash_value(f"__{namespace}", value, 1)
        assert (start <= n < end) is expected, (value, namespace)


def _run(case: dict, value: str) -> int:
    """Run one experiment of the vectors as the SDKs do, on this module's functions."""
    if not value:
        return -1  # the SDKs put an empty id in no variant; get_variant does the same
    namespace = case.get("namespace")
    if namespace and not namespace[1] <= hash_value(f"__{namespace[0]}", value, 1) < namespace[2]:
        return -1
    n = hash_value(case.get("seed", case["key"]), value, case.get("version", 1))
    if n is None:
        return -1
    ranges = case.get("ranges") or bucket_ranges(
        case.get("weights") or _equal(case["n"]), case.get("coverage", 1)
    )
    return choose(n, [tuple(r) for r in ranges])


def test_run_matches_every_vector(vectors):
    assert len(vectors["run"]) >= 40
    for name, case, value, expected in vectors["run"]:
        assert _run(case, value) == expected, (name, value)


def test_splitter_is_hash_version_2_with_its_ranges():
    splitter = Splitter.of("foo", [0.5, 0.5], 0.99)
    assert splitter.place("1") == hash_value("foo", "1", 2)
    assert splitter.variant("1") == 1  # the vectors' "seed + v2 weights/coverage"


def test_splitter_agrees_with_the_growthbook_sdk_on_many_ids():
    rng = random.Random(7)
    ids = [f"user:{i}" for i in range(3000)] + [f"{rng.getrandbits(64):x}" for _ in range(3000)]
    weights, coverage = [0.2, 0.3, 0.5], 0.8
    splitter = Splitter.of("exp-seed", weights, coverage)
    sdk_ranges = getBucketRanges(3, coverage, weights)
    for value in ids:
        n = gbhash("exp-seed", value, 2)
        assert splitter.place(value) == n
        assert splitter.variant(value) == chooseVariation(n, sdk_ranges)


def test_split_of_100000_ids_keeps_the_weights():
    weights = [0.5, 0.3, 0.2]
    splitter = Splitter.of("weights-check", weights)
    counts = [0, 0, 0]
    for i in range(100_000):
        counts[splitter.variant(f"user:{i}")] += 1
    assert sum(counts) == 100_000
    result = chisquare(counts, [w * 100_000 for w in weights])
    assert result.pvalue > 0.001, counts


def test_uneven_split_is_detected_by_the_same_check():
    # The check above can fail: a 51/49 split of 100,000 against 50/50 is far below 0.001.
    assert chisquare([51_000, 49_000], [50_000, 50_000]).pvalue < 0.001


def test_raising_coverage_moves_no_id():
    weights = [0.34, 0.33, 0.33]
    ids = [f"user:{i}" for i in range(20_000)]
    before = {i: Splitter.of("grow", weights, 0.2).variant(i) for i in ids}
    for coverage in (0.5, 0.8, 1.0):
        after = {i: Splitter.of("grow", weights, coverage).variant(i) for i in ids}
        moved = [i for i in ids if before[i] >= 0 and after[i] != before[i]]
        assert moved == []
        assert sum(v >= 0 for v in after.values()) > sum(v >= 0 for v in before.values())
        before = after


def test_a_new_seed_randomises_again():
    ids = [f"user:{i}" for i in range(2000)]
    first = [Splitter.of("exp", [0.5, 0.5]).variant(i) for i in ids]
    second = [Splitter.of("exp:1a2b", [0.5, 0.5]).variant(i) for i in ids]
    same = sum(a == b for a, b in zip(first, second, strict=True))
    assert 850 < same < 1150  # about half stay, as chance has it


@pytest.mark.parametrize("weights", [[], [0.5], [0.7, 0.6], [-0.1, 1.1]])
def test_bucket_ranges_refuses_bad_weights(weights):
    with pytest.raises(ValueError):
        bucket_ranges(weights)
