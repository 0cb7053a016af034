"""What is happening now: trending artists, shows and songs; voting; ingestion lag."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, F, FloatField, Func, Q, Sum, Value, When
from django.db.models.functions import Cast, Greatest, Power
from django.utils import timezone

from analytics.metrics.trends import trend_buckets
from analytics.models import EventRollup, RollupRun
from analytics.rollups.buckets import STEP, bucket_start
from analytics.rollups.timeline import micros
from mysetlist.core.exceptions import ApplicationError
from mysetlist.core.stats import percentile


@dataclass(frozen=True)
class Lag:
    runs: int
    p50_ms: float
    p99_ms: float
    max_ms: int


def ingestion_lag(*, hours: int = 24, kind: str = RollupRun.Kind.LIVE) -> Lag:
    """Time from an event being accepted to being counted in the rollups: per run of the
    live pass, the wait of its oldest batch; percentiles over the runs of the last `hours`.
    With kind "exact", to being recomputed exactly (persons, and the timeline that funnels
    and sessions read): per run of the exact pass by minute, the wait of its oldest mark."""
    since = timezone.now() - dt.timedelta(hours=hours)
    lags = list(
        RollupRun.objects.filter(kind=kind, granularity="minute", finished_at__gte=since)
        .values_list("max_lag_ms", flat=True)
    )  # fmt: skip
    if not lags:
        return Lag(0, 0.0, 0.0, 0)
    return Lag(len(lags), percentile(lags, 0.5), percentile(lags, 0.99), max(lags))


class EpochSeconds(Func):
    """Seconds since the epoch of a datetime column, as a double."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        template = "EXTRACT(EPOCH FROM %(expressions)s)::double precision"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        template = "((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
        return self.as_sql(compiler, connection, template=template, **extra)


def _double(number: float) -> Cast:
    return Cast(Value(float(number)), FloatField())


TRENDING_KINDS = {"artist": "artist_id", "show": "show_id", "song": "song_id"}
TRENDING_WEIGHTS = {"$pageview": 1.0, "vote_cast": 3.0}


def trending(
    *, kind: str, now: dt.datetime, hours: int = 48, half_life_hours: float = 6.0,
    limit: int = 10,
) -> list[dict]:  # fmt: skip
    """Artists, shows or songs by a time-decayed score over the last `hours`: each page view
    counts 1 and each vote 3, halved for every `half_life_hours` of age (age taken at the
    middle of its minute or hour). Minute rollups give the last hour, so it moves live."""
    dimension = TRENDING_KINDS[kind]
    since = now - dt.timedelta(hours=hours)
    cut = bucket_start(now, "hour") - dt.timedelta(hours=1)
    # Scored by the database, so only the top rows leave it: age in hours at the middle of
    # each bucket, from seconds since the epoch. Every number is a double: a literal would be
    # NUMERIC on PostgreSQL, several times slower to add up and raise to a power.
    middle = Case(
        *(
            When(granularity=g, then=_double(STEP[g].total_seconds() / 2))
            for g in ("minute", "hour")
        ),
        output_field=FloatField(),
    )
    age = (_double(micros(now) / 1e6) - EpochSeconds("bucket") - middle) / _double(3600)
    weight = Case(
        *(When(event=event, then=_double(w)) for event, w in TRENDING_WEIGHTS.items()),
        output_field=FloatField(),
    )
    decay = Power(_double(0.5), Greatest(age, _double(0)) / _double(half_life_hours))
    ranked = (
        EventRollup.objects.filter(
            dimension=dimension, event__in=TRENDING_WEIGHTS, bucket__gte=since,
            value__regex=r"^[0-9]+$",  # properties are the sender's to fill; ids are numbers
        )
        .filter(Q(granularity="minute", bucket__gte=cut) | Q(granularity="hour", bucket__lt=cut))
        .values("value")
        .annotate(
            score=Sum(F("count") * weight * decay, output_field=FloatField()),
            views=Sum("count", filter=Q(event="$pageview")),
            votes=Sum("count", filter=Q(event="vote_cast")),
        )
        .order_by("-score", "value")
        .values_list("value", "score", "views", "votes")[:limit]
    )  # fmt: skip
    return [
        {"id": int(value), "score": round(score, 4), "views": views or 0, "votes": votes or 0}
        for value, score, views, votes in ranked
    ]


VOTING_INTERVALS = ("minute", "hour", "day")


def voting_patterns(
    *, show_id: int, start: dt.datetime, end: dt.datetime, interval: str = "minute"
) -> dict:
    """For one show: its votes in each UTC minute, hour or day from the one holding start to
    the one holding end (zero where none, at most 1000 of them), read from the rollups of
    that granularity; its songs with the best score (net of up and down votes); and how many
    distinct fans voted there at all. Minute rollups are kept for a few weeks, hours for
    about three years, days for good."""
    from mysetlist.setlists.selectors import show_voter_count, vote_tally_top

    if interval not in VOTING_INTERVALS:
        raise ApplicationError(
            f"Use an interval of {', '.join(VOTING_INTERVALS)}.",
            {"fields": {"interval": ["Unknown interval."]}},
        )
    buckets = trend_buckets(start, end, interval)
    counts = dict(
        EventRollup.objects.filter(
            granularity=interval, event="vote_cast", dimension="show_id", value=str(show_id),
            bucket__gte=buckets[0], bucket__lte=buckets[-1],
        ).values_list("bucket", "count")
    )  # fmt: skip
    return {
        "interval": interval,
        "votes": [(bucket, counts.get(bucket, 0)) for bucket in buckets],
        "top_songs": vote_tally_top(show_id=show_id),
        "unique_voters": show_voter_count(show_id=show_id),
    }
