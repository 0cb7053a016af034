"""Delivery rollups: the histogram's maths; the pass against a count made here from the
rows themselves; re-rolling, retention; and delivery_totals over them."""

import datetime as dt
import itertools
import random
from collections import Counter

import pytest

from mysetlist.core.exceptions import ApplicationError
from mysetlist.core.stats import percentile
from notifications import selectors
from notifications.metrics import queries as metrics
from notifications.metrics.histogram import (
    RELATIVE_ERROR,
    bucket_of,
    bucket_value,
    histogram_merge,
    histogram_of,
    histogram_percentile,
)
from notifications.metrics.rollups import (
    deliveries_rollup,
    rollup_range,
    rollups_prune,
)
from notifications.models import Delivery, DeliveryRollup, DeliveryRollupRun, Notification
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db
_keys = itertools.count()
T0 = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


def test_histogram_reads_every_value_back_within_its_relative_error():
    for value in (0.001, 0.5, 1, 7, 99.9, 1000, 86_400_000):
        assert bucket_value(bucket_of(value)) == pytest.approx(value, rel=RELATIVE_ERROR)
    assert bucket_value(bucket_of(0)) == 0
    with pytest.raises(ValueError):
        bucket_of(-1)


def test_histogram_percentiles_stay_near_exact_and_merge_like_the_union():
    rng = random.Random(3)
    parts = [[rng.lognormvariate(5, 2) for _ in range(500)] for _ in range(6)]
    values = [value for part in parts for value in part]
    merged = histogram_merge(histogram_of(part) for part in parts)
    assert merged == histogram_of(values)
    for share in (0, 0.5, 0.9, 0.99, 1):
        assert histogram_percentile(merged, share) == pytest.approx(
            percentile(values, share), rel=RELATIVE_ERROR
        )
    assert histogram_percentile({}, 0.5) is None
    with pytest.raises(ValueError):
        histogram_percentile(merged, 1.5)


CATEGORIES = ("show_announced", "voting_opened", "digest")
STATUSES = ("queued", "held", "sent", "delivered", "failed", "bounced", "skipped")


def _random_deliveries(rng: random.Random, count: int) -> None:
    fan = UserFactory()
    for _ in range(count):
        created = T0 + dt.timedelta(seconds=rng.randint(0, 3 * 86_400))
        notification = Notification.objects.create(
            user=fan, category=rng.choice(CATEGORIES), key=f"r:{next(_keys)}",
            created_at=created,
            dismissed_at=created + dt.timedelta(hours=rng.randint(1, 40))
            if rng.random() < 0.3 else None,
        )  # fmt: skip
        for channel in rng.sample(["email", "push", "in_app", "sms"], rng.randint(1, 3)):
            status = rng.choice(STATUSES)
            sent = created + dt.timedelta(seconds=rng.randint(0, 7200))
            fields = {}
            if status in ("sent", "delivered", "bounced"):
                fields["sent_at"], fields["latency_ms"] = sent, rng.randint(0, 90_000)
                fields["render_ms"] = round(rng.uniform(0.1, 50), 3)
                if status == "delivered":
                    fields["delivered_at"] = sent + dt.timedelta(seconds=rng.randint(0, 60))
                if rng.random() < 0.5:
                    fields["opened_at"] = sent + dt.timedelta(hours=rng.uniform(0, 30))
                    if rng.random() < 0.5:
                        fields["clicked_at"] = fields["opened_at"] + dt.timedelta(minutes=5)
                        if rng.random() < 0.5:
                            fields["converted_at"] = fields["clicked_at"] + dt.timedelta(hours=2)
            Delivery.objects.create(
                notification=notification, channel=channel, status=status, created_at=created,
                provider=rng.choice(["resend", "ses", ""]), template_version=rng.choice([None, 1]),
                variant=rng.choice(["", "b"]), **fields,
            )  # fmt: skip


def _by_day_here() -> dict:
    """The window's counts by day and channel, made from the rows with no rollup code."""
    counted: Counter = Counter()
    for d in Delivery.objects.select_related("notification"):

        def add(name, moment, d=d):
            counted[(moment.astimezone(dt.UTC).date(), d.channel, name)] += 1

        add("deliveries", d.created_at)
        states = {"failed": "failed", "bounced": "bounced", "skipped": "skipped",
                  "queued": "pending", "held": "pending"}  # fmt: skip
        if d.status in states:
            add(states[d.status], d.created_at)
        if d.status == "delivered":
            add("delivered", d.delivered_at)
        if d.status == "sent" and d.opened_at:
            add("delivered", d.opened_at)
        if d.sent_at:
            add("sent", d.sent_at)
        for name in ("opened", "clicked", "converted"):
            if getattr(d, f"{name}_at"):
                add(name, getattr(d, f"{name}_at"))
        if d.channel == "in_app" and d.notification.dismissed_at:
            add("dismissed", d.notification.dismissed_at)
    return counted


def _by_day_rolled() -> dict:
    counted: Counter = Counter()
    for day in range(5):
        date = (T0 + dt.timedelta(days=day)).date()
        report = metrics.delivery_metrics(date_from=date, date_to=date)
        for row in report.by_channel:
            for name in metrics.COUNTS:
                if getattr(row, name):
                    counted[(date, row.channel, name)] += getattr(row, name)
    return counted


def test_rollups_equal_a_count_made_from_the_rows_and_follow_later_changes():
    rng = random.Random(11)
    _random_deliveries(rng, 150)
    rollup_range(start=T0, end=T0 + dt.timedelta(days=5))
    assert _by_day_rolled() == _by_day_here()

    # outcomes land later, in their own (other) buckets; a re-roll of them follows
    late = T0 + dt.timedelta(days=3, hours=5)
    changed = Delivery.objects.filter(status="sent", opened_at=None)[:5]
    for d in changed:
        d.opened_at = late
        d.save(update_fields=["opened_at"])
    assert _by_day_rolled() != _by_day_here()
    rollup_range(start=late, end=late + dt.timedelta(minutes=1))
    assert _by_day_rolled() == _by_day_here()

    def rows():
        return sorted(repr({**row, "id": 0}) for row in DeliveryRollup.objects.values())

    before = rows()
    rollup_range(start=T0, end=T0 + dt.timedelta(days=5))  # idempotent: the same rows
    assert rows() == before


def test_each_outcome_counts_at_its_own_time_and_dismissals_on_in_app():
    fan = UserFactory()
    n = Notification.objects.create(
        user=fan, category="digest", key="own", created_at=T0,
        dismissed_at=T0 + dt.timedelta(days=1, minutes=3),
    )  # fmt: skip
    Delivery.objects.create(
        notification=n, channel="in_app", status="delivered", created_at=T0,
        sent_at=T0, delivered_at=T0, opened_at=T0 + dt.timedelta(days=1, minutes=1),
        latency_ms=40, provider="inbox",
    )  # fmt: skip
    rollup_range(start=T0, end=T0 + dt.timedelta(days=2))

    (first,) = selectors.delivery_totals(start=T0, end=T0 + dt.timedelta(days=1))
    (second,) = selectors.delivery_totals(
        start=T0 + dt.timedelta(days=1), end=T0 + dt.timedelta(days=2)
    )
    assert (first.deliveries, first.sent, first.delivered, first.opened) == (1, 1, 1, 0)
    assert (second.deliveries, second.opened, second.dismissed) == (0, 1, 1)
    assert first.latency_p50_ms == pytest.approx(40, rel=RELATIVE_ERROR)
    hours = DeliveryRollup.objects.filter(granularity="hour").count()
    assert hours == 2 and DeliveryRollup.objects.filter(granularity="day").count() == 2


def test_the_minute_pass_re_rolls_from_the_last_pass_and_records_it():
    fan = UserFactory()
    now = T0 + dt.timedelta(hours=2, seconds=30)
    n = Notification.objects.create(user=fan, category="digest", key="m", created_at=T0)
    d = Delivery.objects.create(
        notification=n, channel="email", status="sent", created_at=now, sent_at=now,
        provider="ses", latency_ms=5,
    )  # fmt: skip
    deliveries_rollup(now=now)
    run = DeliveryRollupRun.objects.get()
    assert run.end == T0 + dt.timedelta(hours=2, minutes=1) and run.rows == 1

    later = now + dt.timedelta(minutes=3)
    d.opened_at = now + dt.timedelta(seconds=10)  # lands in a minute already rolled
    d.save(update_fields=["opened_at"])
    deliveries_rollup(now=later)
    (row,) = selectors.delivery_totals(start=T0, end=T0 + dt.timedelta(hours=3))
    assert (row.sent, row.opened, row.delivered) == (1, 1, 1)
    assert DeliveryRollupRun.objects.count() == 2


def test_prune_keeps_twelve_months_of_hours_and_days_and_35_days_of_minutes():
    now = T0
    for granularity, age in (("minute", 34), ("minute", 36), ("day", 360), ("hour", 370)):
        DeliveryRollup.objects.create(
            granularity=granularity, bucket=now - dt.timedelta(days=age), channel="email",
            category="digest", template_version=0,
        )  # fmt: skip
    assert rollups_prune(now=now) == 2
    kept = set(DeliveryRollup.objects.values_list("granularity", flat=True))
    assert kept == {"minute", "day"}


def test_delivery_totals_by_provider_and_channel_and_by_minute():
    fan = UserFactory()
    for n, (channel, provider, status) in enumerate(
        [("email", "ses", "sent"), ("email", "ses", "failed"), ("push", "webpush", "sent"),
         ("email", "ses", "bounced")]
    ):  # fmt: skip
        at = T0 + dt.timedelta(minutes=n)
        note = Notification.objects.create(user=fan, category="digest", key=f"t{n}", created_at=at)
        Delivery.objects.create(
            notification=note, channel=channel, provider=provider, status=status, created_at=at,
            sent_at=at if status != "failed" else None,
        )  # fmt: skip
    rollup_range(start=T0, end=T0 + dt.timedelta(minutes=10))
    end = T0 + dt.timedelta(minutes=10)

    ses, webpush = selectors.delivery_totals(start=T0, end=end, by=("provider", "channel"))
    assert ses.key == {"provider": "ses", "channel": "email"}
    assert (ses.sent, ses.failed, ses.bounced, ses.failure_rate) == (2, 1, 1, 0.5)
    assert webpush.failure_rate == 0.0
    minutes = selectors.delivery_totals(start=T0, end=end, every="minute")
    assert [(row.key["bucket"].minute, row.deliveries) for row in minutes] == [
        (0, 1),
        (1, 1),
        (2, 1),
        (3, 1),
    ]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"end": T0}, "end"),
        ({"end": T0 + dt.timedelta(seconds=30)}, "start"),
        ({"by": ("colour",)}, "by"),
        ({"every": "week"}, "every"),
        ({"start": T0.replace(tzinfo=None)}, "start"),
    ],
)
def test_delivery_totals_refuses_bad_arguments_clearly(arguments, field):
    kwargs = {"start": T0, "end": T0 + dt.timedelta(hours=1), **arguments}
    with pytest.raises(ApplicationError) as error:
        selectors.delivery_totals(**kwargs)
    assert field in error.value.extra["fields"]


def test_deliveries_backfill_rolls_up_past_days_and_refuses_bad_ranges():
    from io import StringIO

    from django.core.management import CommandError, call_command
    from django.utils import timezone

    fan, now = UserFactory(), timezone.now()
    at = (now - dt.timedelta(days=3)).replace(second=0, microsecond=0)
    note = Notification.objects.create(user=fan, category="digest", key="old", created_at=at)
    Delivery.objects.create(notification=note, channel="email", provider="ses", status="sent",
                            created_at=at, sent_at=at)  # fmt: skip

    out = StringIO()
    call_command("deliveries_backfill", "--days", "5", stdout=out)

    assert "1 deliveries" in out.getvalue()
    [day] = selectors.delivery_totals(
        start=at - dt.timedelta(hours=1), end=at + dt.timedelta(hours=1)
    )
    assert day.sent == 1
    with pytest.raises(CommandError, match="kept"):
        call_command("deliveries_backfill", "--days", "400")
    with pytest.raises(CommandError, match="future"):
        call_command(
            "deliveries_backfill", "--since", (now + dt.timedelta(days=3)).date().isoformat()
        )
