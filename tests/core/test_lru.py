import threading

import pytest

from mysetlist.core.lru import LRU


def test_lru_returns_what_was_put_until_it_expires():
    lru = LRU(4)
    lru.put("a", 1, expires_at=10.0)
    assert lru.get("a", now=9.9) == 1
    assert lru.get("a", now=10.0) is None
    assert len(lru) == 0  # the expired entry is gone, not only hidden
    assert lru.get("b", now=0.0, default="none") == "none"


def test_lru_forgets_the_least_recently_used_beyond_its_bound():
    lru = LRU(2)
    lru.put("a", 1, expires_at=100)
    lru.put("b", 2, expires_at=100)
    assert lru.get("a", now=0) == 1  # "b" is now the least recently used
    lru.put("c", 3, expires_at=100)
    assert len(lru) == 2
    assert lru.get("b", now=0) is None
    assert (lru.get("a", now=0), lru.get("c", now=0)) == (1, 3)


def test_lru_stays_within_its_bound_under_threads():
    lru = LRU(50)

    def fill(offset: int) -> None:
        for n in range(2000):
            lru.put((offset, n), n, expires_at=100)
            lru.get((offset, n - 1), now=0)

    threads = [threading.Thread(target=fill, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(lru) == 50


def test_lru_refuses_a_bound_below_one():
    with pytest.raises(ValueError, match="at least one"):
        LRU(0)
