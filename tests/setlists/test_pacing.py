"""Pacing a show's live frames: a quiet show waits for nothing, a busy one keeps to its
share of the process."""

import pytest

from mysetlist.setlists.pacing import Pace


def test_a_vote_on_a_quiet_show_waits_only_for_the_coalescing_interval():
    pace = Pace(share=0.2)
    # A frame to 1,000 sockets (25 ms), then another vote a while later: no extra wait.
    assert pace.sent(100.0, 0.025, 0.025) == pytest.approx(100.025)
    assert pace.sent(100.5, 0.025, 0.025) == pytest.approx(100.525)


@pytest.mark.parametrize("took", [0.005, 0.020, 0.300])
def test_a_show_kept_busy_takes_at_most_its_share_of_the_process(took):
    pace, start, sending, end = Pace(share=0.2), 0.0, 0.0, 0.0
    while start < 60:  # a minute of frames, each sent as soon as allowed
        sending += took
        end = start + took
        start = pace.sent(start, took, 0.025)
    # Up to the last frame's end: the share, plus the bucket's one second of burst.
    assert sending / end <= 0.2 + (0.2 + took) / end
    # Frames slow enough for the share to bind do use it (5 ms frames every 25 ms: 20 %).
    assert sending / end >= 0.2 - 0.01


def test_after_a_busy_spell_a_quiet_show_is_prompt_again():
    pace, starts = Pace(share=0.2), [0.0]
    for _ in range(50):  # busy: 20 ms frames as often as allowed
        starts.append(pace.sent(starts[-1], 0.020, 0.025))
    assert starts[1] - starts[0] == pytest.approx(0.025)  # the bucket had room at first
    assert starts[-1] - starts[-2] == pytest.approx(0.100)  # then 20 ms per 100 ms: a fifth
    start = starts[-1]
    later = start + 5.0  # five quiet seconds drain the bucket
    assert pace.sent(later, 0.020, 0.025) == pytest.approx(later + 0.025)
