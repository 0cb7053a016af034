"""Delivery rollups: what deliveries did by minute, hour and day, by channel, category,
template version and variant, and provider (DeliveryRollup).

Each outcome counts in the bucket of its own time, so a bucket changes after it is written
(an open comes days after the send). The pass therefore re-rolls: it recomputes every minute
of a range from the raw deliveries and replaces those minute rows whole, then the hours and
days holding them from the minutes. Replacing is idempotent, so running it again, late or
twice, changes nothing. Marking dirty buckets from each write was the other way; here the
writes are many (raw SQL in the outbox, webhooks, clicks, preference changes, cascading
deletes) and a missed one would leave a wrong figure for good, while nearly every change
lands in the newest minutes, where its own time is. So:

- every minute, `deliveries_rollup` re-rolls from where the last pass ended, less RECENT;
- every hour, `deliveries_rollup(settle=SETTLE)` re-rolls the last SETTLE: what lands in
  older buckets (a status counted where its row was created, failed after hours of retries;
  a bounce taking back a delivery; a webhook late with its own time) is exact after it.

Minute rows are kept MINUTE_RETENTION, hours and days ROLLUP_RETENTION (`rollups_prune`).
"""

import datetime as dt
import time
import zlib
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from mysetlist.core.buckets import bucket_start
from notifications.metrics.histogram import histogram_add, histogram_merge
from notifications.models import Channel, Delivery, DeliveryRollup, DeliveryRollupRun

RECENT = dt.timedelta(minutes=15)
SETTLE = dt.timedelta(days=2)
MOST_A_PASS = dt.timedelta(hours=6)  # a pass that is far behind catches up in steps
MINUTE_RETENTION = dt.timedelta(days=35)
ROLLUP_RETENTION = dt.timedelta(days=366)  # 12 months
COUNTS = (
    "deliveries", "sent", "delivered", "opened", "clicked", "converted", "dismissed",
    "failed", "bounced", "skipped", "pending",
)  # fmt: skip
HISTOGRAMS = ("latency_ms", "render_ms", "open_s", "click_s")
DIMENSIONS = ("channel", "category", "template_version", "experiment", "variant", "provider")
MINUTE, HOUR, DAY = dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1)
S = Delivery.Status
STATE_AT_CREATION = {S.FAILED: "failed", S.BOUNCED: "bounced", S.SKIPPED: "skipped",
                     S.QUEUED: "pending", S.HELD: "pending"}  # fmt: skip


def floor(moment: dt.datetime, step: dt.timedelta) -> dt.datetime:
    """Return the start of the UTC minute, hour or day holding `moment`."""
    try:
        return bucket_start(moment, _GRANULARITY[step])
    except KeyError:
        raise ValueError(f"no bucket of {step}") from None


_GRANULARITY = {MINUTE: "minute", HOUR: "hour", DAY: "day"}


def outcomes(row: dict) -> list[tuple[str, dt.datetime]]:
    """Return each count a delivery adds and when: its outcomes at their own times, its
    status (when it has no time of its own) at its creation."""
    status = row["status"]
    found = [("deliveries", row["created_at"])]
    if status in STATE_AT_CREATION:
        found.append((STATE_AT_CREATION[status], row["created_at"]))
    # As the direct figures always said: a sent row with an open reached its reader even
    # when the provider never said so; an in-app row is delivered (and so sent) when stored.
    delivered_at = None
    if status == S.DELIVERED:
        delivered_at = row["delivered_at"] or row["sent_at"] or row["created_at"]
    elif status == S.SENT and row["opened_at"]:
        delivered_at = row["opened_at"]
    sent_at = row["sent_at"] or delivered_at
    if sent_at:
        found.append(("sent", sent_at))
    if delivered_at:
        found.append(("delivered", delivered_at))
    for name in ("opened", "clicked", "converted"):
        if row[f"{name}_at"]:
            found.append((name, row[f"{name}_at"]))
    if row["channel"] == Channel.IN_APP and row["notification__dismissed_at"]:
        found.append(("dismissed", row["notification__dismissed_at"]))
    return found


def timings(row: dict) -> list[tuple[str, float, dt.datetime]]:
    """Return each timing a delivery adds to a histogram and when: latency and render time
    at its send (or creation, if never sent), time to open and to click at the open and
    the click."""
    found = []
    at = row["sent_at"] or row["created_at"]
    if row["latency_ms"] is not None:
        found.append(("latency_ms", row["latency_ms"], at))
    if row["render_ms"] is not None:
        found.append(("render_ms", max(row["render_ms"], 0.0), at))
    for name, moment in (("open_s", row["opened_at"]), ("click_s", row["clicked_at"])):
        if moment and row["sent_at"]:
            found.append((name, max((moment - row["sent_at"]).total_seconds(), 0.0), moment))
    return found


COLUMNS = (
    "status", "channel", "provider", "template_version", "experiment", "variant",
    "created_at", "sent_at", "delivered_at", "opened_at", "clicked_at", "converted_at",
    "latency_ms", "render_ms", "notification__category", "notification__dismissed_at",
)  # fmt: skip
TIMES = ("created_at", "sent_at", "delivered_at", "opened_at", "clicked_at", "converted_at")


def _touching(start: dt.datetime, end: dt.datetime):
    """The deliveries with any time in [start, end): one index range each."""
    within = Q()
    for field in TIMES:
        within |= Q(**{f"{field}__gte": start, f"{field}__lt": end})
    within |= Q(
        channel=Channel.IN_APP,
        notification__dismissed_at__gte=start,
        notification__dismissed_at__lt=end,
    )
    return Delivery.objects.filter(within).order_by().values(*COLUMNS)


def _new_cell() -> dict:
    return {**dict.fromkeys(COUNTS, 0), **{name: {} for name in HISTOGRAMS}}


def minute_cells(start: dt.datetime, end: dt.datetime) -> tuple[dict, int]:
    """Return the minute cells of [start, end) computed from the raw deliveries, keyed by
    (minute, *DIMENSIONS), and how many deliveries were read."""
    cells: dict[tuple, dict] = defaultdict(_new_cell)
    read = 0
    for row in _touching(start, end).iterator(chunk_size=5000):
        read += 1
        dims = (
            row["channel"], row["notification__category"], row["template_version"] or 0,
            row["experiment"], row["variant"], row["provider"],
        )  # fmt: skip
        for name, moment in outcomes(row):
            if start <= moment < end:
                cells[(floor(moment, MINUTE), *dims)][name] += 1
        for name, value, moment in timings(row):
            if start <= moment < end:
                histogram_add(cells[(floor(moment, MINUTE), *dims)][name], value)
    return cells, read


def _fold(granularity: str, starts: set[dt.datetime], step: dt.timedelta, source: str) -> None:
    """Replace the rows of `granularity` starting at `starts` by the sum of their `source`
    rows (hours from minutes, days from hours)."""
    for first in sorted(starts):
        cells: dict[tuple, dict] = defaultdict(_new_cell)
        parts = DeliveryRollup.objects.filter(
            granularity=source, bucket__gte=first, bucket__lt=first + step
        )
        for part in parts.iterator(chunk_size=2000):
            cell = cells[(first, *(getattr(part, name) for name in DIMENSIONS))]
            for name in COUNTS:
                cell[name] += getattr(part, name)
            for name in HISTOGRAMS:
                cell[name] = histogram_merge((cell[name], getattr(part, name)))
        DeliveryRollup.objects.filter(granularity=granularity, bucket=first).delete()
        _insert(granularity, cells)


def _insert(granularity: str, cells: dict[tuple, dict]) -> None:
    DeliveryRollup.objects.bulk_create(
        (
            DeliveryRollup(
                granularity=granularity,
                bucket=key[0],
                **dict(zip(DIMENSIONS, key[1:], strict=True)),
                **cell,
            )
            for key, cell in cells.items()
        ),
        batch_size=2000,
    )


def _lock() -> None:
    """One pass at a time (to the end of the transaction): two would replace the same rows."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            key = zlib.crc32(b"notifications.rollups")
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def rollup_range(*, start: dt.datetime, end: dt.datetime) -> int:
    """Replace the rollups of the minutes from `start` to `end` (rounded out to whole
    minutes) and of the hours and days holding them; return the deliveries read."""
    start, end = floor(start, MINUTE), floor(end - dt.timedelta(microseconds=1), MINUTE) + MINUTE
    began = time.monotonic()
    with transaction.atomic():
        _lock()
        cells, read = minute_cells(start, end)
        DeliveryRollup.objects.filter(
            granularity="minute", bucket__gte=start, bucket__lt=end
        ).delete()
        _insert("minute", cells)
        hours, hour = set(), floor(start, HOUR)
        while hour < end:
            hours.add(hour)
            hour += HOUR
        _fold("hour", hours, HOUR, "minute")
        _fold("day", {floor(hour, DAY) for hour in hours}, DAY, "hour")
        DeliveryRollupRun.objects.create(
            start=start,
            end=end,
            finished_at=timezone.now(),
            rows=read,
            seconds=time.monotonic() - began,
        )
    return read


def deliveries_rollup(*, now: dt.datetime | None = None, settle: dt.timedelta | None = None) -> int:
    """Re-roll the recent minutes (from the last pass's end less RECENT, at most
    MOST_A_PASS at once), or with `settle`, the whole of that last stretch. Return the
    deliveries read."""
    now = now or timezone.now()
    end = floor(now, MINUTE) + MINUTE
    if settle is not None:
        start = end - settle
        read = 0
        while start < end:  # in steps, each its own transaction
            step_end = min(start + MOST_A_PASS, end)
            read += rollup_range(start=start, end=step_end)
            start = step_end
        return read
    last = DeliveryRollupRun.objects.order_by("-end").values_list("end", flat=True).first()
    start = end - RECENT if last is None else min(last, end) - RECENT
    return rollup_range(start=start, end=min(end, start + MOST_A_PASS))


def rollups_prune(*, now: dt.datetime | None = None) -> int:
    """Delete minute rows older than MINUTE_RETENTION, hour and day rows older than
    ROLLUP_RETENTION, and pass records older than MINUTE_RETENTION; return rows deleted."""
    now = now or timezone.now()
    deleted, _ = DeliveryRollup.objects.filter(
        Q(granularity="minute", bucket__lt=now - MINUTE_RETENTION)
        | Q(granularity__in=["hour", "day"], bucket__lt=now - ROLLUP_RETENTION)
    ).delete()
    DeliveryRollupRun.objects.filter(end__lt=now - MINUTE_RETENTION).delete()
    return deleted
