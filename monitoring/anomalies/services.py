"""Anomaly detection without hand-set thresholds, wired into alert rules.

Design: an alert rule has a detection mode. "threshold" rules compare a catalog figure with
a number, as before. An "anomaly" rule names a seasonal series (monitoring.anomalies.series)
and a sensitivity instead: at each evaluation (beat, every minute, monitoring.alerts_evaluate)
the series is read over the rule's window ending now and over the same window 1 to
HISTORY_WEEKS weeks before, per subject (each open show for votes, the platform for the
rest), and each subject's value gets the seasonal modified z-score of monitoring.anomaly
(median and MAD of the same hour of the week, with the series' floors). The rule's observed
value is the highest score in the unusual direction among its subjects, compared with
"greater than the sensitivity", so the pure state machine (monitoring.alerting.rules) runs
unchanged: pending for `for`, firing, keep-firing, repeats, silences, acknowledgement and
resolving all work as for any rule; no baseline (too little history) is no data.

Why not a detector of its own beside the rules: alerts belong to rules (one open alert per
rule, its messages, its silences); a second evaluator raising them would have to copy that
lifecycle. A rule in anomaly mode reuses it whole, and staff set it up where they set up the
others. What the rule's value alone cannot say (which show, how unusual against what) is
recorded as AnomalyFinding rows, one per subject and episode, listed in admin.

Each series' history comes from what keeps it long enough (see the table in series.py); the
HTTP error rate's only source, the live store, keeps 26 hours, so request_hours_record copies
its hours into RequestHour rows every hour.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from monitoring import anomaly
from monitoring.anomalies import series as seasonal_series
from monitoring.anomalies.models import AnomalyFinding, RequestHour

logger = logging.getLogger(__name__)

HISTORY_WEEKS = 8
WEEK = dt.timedelta(days=7)
# A finding seen again within this long is the same episode, refreshed.
EPISODE_GAP = dt.timedelta(minutes=5)
REQUEST_HOURS_KEPT = dt.timedelta(weeks=HISTORY_WEEKS + 2)


@dataclass(frozen=True)
class SubjectVerdict:
    subject: str
    value: float | None
    history: list[float | None]
    verdict: anomaly.Verdict
    scale: float | None


def spans_for(*, end: dt.datetime, window: dt.timedelta, weeks: int = HISTORY_WEEKS):
    """The window ending at `end` (cut to its minute), then the same window 1..weeks
    weeks before."""
    end = end.replace(second=0, microsecond=0)
    return [(end - window - k * WEEK, end - k * WEEK) for k in range(weeks + 1)]


def _directed(score: float, direction: str) -> float:
    if direction == "up":
        return score
    if direction == "down":
        return -score
    return abs(score)


def series_evaluate(
    *, key: str, end: dt.datetime, window: dt.timedelta, sensitivity: float
) -> list[SubjectVerdict]:
    """Judge each subject of the series over the window ending at `end` against the same
    window in past weeks."""
    series = seasonal_series.series_get(key)
    spans = spans_for(end=end, window=window)
    judged = []
    for subject, values in series.read(spans).items():
        value, history = values[0], values[1:]
        if value is None:
            verdict = anomaly.Verdict(None, False, None)
        else:
            verdict = anomaly.seasonal(
                value,
                [h for h in history if h is not None],
                threshold=sensitivity,
                relative_floor=series.relative_floor,
                absolute_floor=series.absolute_floor,
                direction=series.direction,
            )
        scale = None
        if verdict.score is not None and verdict.score != 0:
            scale = abs((value - verdict.expected) / verdict.score)
        judged.append(SubjectVerdict(subject, value, history, verdict, scale))
    return judged


def _finding_record(*, rule, key: str, judged: SubjectVerdict, start, end, now) -> None:
    verdict = judged.verdict
    finding = (
        AnomalyFinding.objects.filter(
            rule=rule, metric=key, subject=judged.subject, last_seen_at__gte=now - EPISODE_GAP
        )
        .order_by("-last_seen_at")
        .first()
    )
    scale = judged.scale if judged.scale is not None else 0.0
    fields = {
        "window_start": start, "window_end": end, "observed": judged.value,
        "baseline": verdict.expected, "scale": scale, "score": verdict.score,
        "sensitivity": rule.sensitivity, "history": judged.history, "last_seen_at": now,
    }  # fmt: skip
    if finding is None:
        AnomalyFinding.objects.create(
            rule=rule, metric=key, subject=judged.subject, first_seen_at=now,
            peak_score=verdict.score, **fields,
        )  # fmt: skip
        logger.warning(
            "anomaly: %s %s is %.4g, usually %.4g (score %.1f)",
            key, judged.subject or "platform", judged.value, verdict.expected, verdict.score,
        )  # fmt: skip
        return
    for name, value in fields.items():
        setattr(finding, name, value)
    if abs(verdict.score) > abs(finding.peak_score):
        finding.peak_score = verdict.score
    finding.evaluations += 1
    finding.save()


def rule_score(*, rule, now: dt.datetime) -> float | None:
    """Evaluate an anomaly rule at `now`: record a finding for each unusual subject and
    return the highest score in the series' unusual direction (None: no subject has enough
    history to be judged)."""
    window = dt.timedelta(seconds=rule.window_seconds)
    series = seasonal_series.series_get(rule.metric)
    judged = series_evaluate(key=rule.metric, end=now, window=window, sensitivity=rule.sensitivity)
    start, end = spans_for(end=now, window=window)[0]
    scores = []
    for subject in judged:
        if subject.verdict.score is None:
            continue
        scores.append(_directed(subject.verdict.score, series.direction))
        if subject.verdict.anomalous:
            _finding_record(
                rule=rule, key=rule.metric, judged=subject, start=start, end=end, now=now
            )
    return max(scores) if scores else None


@transaction.atomic
def request_hours_record(*, now: dt.datetime | None = None) -> int:
    """Copy the requests and server errors of each whole hour the live store still holds
    into RequestHour rows (replacing them: a rerun changes nothing), and drop rows older
    than the baseline needs. Return how many hours were written."""
    from monitoring import live

    now = now or timezone.now()
    current = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    written = 0
    for back in range(1, seasonal_series.LIVE_STORE_HOURS + 1):
        hour = current - dt.timedelta(hours=back)
        minutes = live.minutes_read(hour, hour + dt.timedelta(hours=1))
        requests = int(live.fields_sum(minutes, "req")[""])
        if not requests:
            continue
        errors = int(live.fields_sum(minutes, "err")[""])
        RequestHour.objects.update_or_create(
            hour=hour, defaults={"requests": requests, "errors": errors}
        )
        written += 1
    RequestHour.objects.filter(hour__lt=now - REQUEST_HOURS_KEPT).delete()
    return written
