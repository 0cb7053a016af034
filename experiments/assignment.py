"""Deterministic, sticky assignment of ids to variants, as GrowthBook's SDKs assign them.

Pure: no Django. `hash_value(seed, id, version)` is GrowthBook's FNV-1a hash mapped to [0, 1)
(versions 1 and 2), `bucket_ranges` its ranges of that interval per variant, and
`Splitter` both at once for one experiment: it hashes the seed once, then only each id, so
assignment stays cheap on hot paths. The same id and seed land in the same variant in every
GrowthBook SDK (tests check this against the cross-SDK vectors and the Python SDK).

Coverage scales each variant's range from its start, so raising coverage only adds ids: an
id inside a range stays inside it. A new seed re-randomises everyone (a new phase).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

_OFFSET = 0x811C9DC5
_PRIME = 0x01000193
_MASK = 0xFFFFFFFF


def _fnv1a32(text: str, state: int = _OFFSET) -> int:
    for char in text:
        state = ((state ^ ord(char)) * _PRIME) & _MASK
    return state


def hash_value(seed: str, value: str, version: int = 2) -> float | None:
    """Return the id's place in [0, 1) for the seed: GrowthBook's hash of `version` 1 (1,000
    buckets) or 2 (10,000 buckets, hashed twice against the first version's bias); None for
    another version."""
    if version == 2:
        return _fnv1a32(str(_fnv1a32(seed + value))) % 10000 / 10000
    if version == 1:
        return _fnv1a32(value + seed) % 1000 / 1000
    return None


def bucket_ranges(
    weights: Sequence[float], coverage: float = 1.0
) -> tuple[tuple[float, float], ...]:
    """Return each variant's range of [0, 1): consecutive by weight, each cut to `coverage` of
    its width from its start.

    Unlike the SDKs, which fall back to equal weights, weights that do not sum to 1 (within
    0.01, GrowthBook's tolerance) are refused: a silent fallback would move ids."""
    if not weights or any(w < 0 for w in weights) or abs(sum(weights) - 1) > 0.01:
        raise ValueError(f"weights must be non-negative and sum to 1, not {list(weights)}")
    coverage = min(max(coverage, 0.0), 1.0)
    ranges, start = [], 0.0
    for weight in weights:
        ranges.append((start, start + coverage * weight))
        start += weight
    return tuple(ranges)


def choose(n: float, ranges: Sequence[tuple[float, float]]) -> int:
    """Return the index of the range holding `n`, or -1 (outside the coverage)."""
    for index, (start, end) in enumerate(ranges):
        if start <= n < end:
            return index
    return -1


@dataclass(frozen=True)
class Splitter:
    """One experiment phase's assignment: its seed (hash version 2) and variant ranges."""

    seed: str
    ranges: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_state", _fnv1a32(self.seed))

    @classmethod
    def of(cls, seed: str, weights: Sequence[float], coverage: float = 1.0) -> Splitter:
        return cls(seed=seed, ranges=bucket_ranges(weights, coverage))

    def place(self, value: str) -> float:
        """Return `hash_value(self.seed, value, 2)`, hashing only `value`."""
        return _fnv1a32(str(_fnv1a32(value, self._state))) % 10000 / 10000

    def variant(self, value: str) -> int:
        """Return the index of the id's variant, or -1 when it is outside the coverage."""
        n = self.place(value)
        for index, (start, end) in enumerate(self.ranges):
            if start <= n < end:
                return index
        return -1
