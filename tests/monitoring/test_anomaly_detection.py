"""Alert rules in anomaly mode on votes per show: weeks of ordinary, seasonal voting with
noise, then a burst. The burst fires the rule and is recorded as a finding; an ordinary day
does neither."""

import datetime as dt
import math
import random

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Case, DateTimeField, Value, When
from django.urls import reverse
from rest_framework.test import APIClient

from monitoring.anomalies.services import rule_score, series_evaluate
from monitoring.models import Alert, AlertEvent, AnomalyFinding
from monitoring.services import _line, alerts_evaluate, rule_create
from mysetlist.setlists.models import Vote
from tests.setlists.factories import ShowFactory, SongFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 4, 21, 0, tzinfo=dt.UTC)  # a Friday evening
WEEKS = 4


def rate(at: dt.datetime) -> float:
    """Votes an hour: a daily swell peaking in the evening, busier at the weekend."""
    evening = math.exp(-(((at.hour - 20) % 24) ** 2) / 18)
    weekend = 1.4 if at.weekday() >= 4 else 1.0
    return (2 + 10 * evening) * weekend


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method (the means here are small)."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class Voting:
    """An open show taking votes hour by hour for four weeks before NOW."""

    def __init__(self, seed: int = 11):
        self.rng = random.Random(seed)
        self.show = ShowFactory(voting_open=True)
        self.songs = [SongFactory(artist=self.show.artist) for _ in range(60)]
        self.fans = [UserFactory() for _ in range(80)]
        self.pairs = ((f, s) for f in self.fans for s in self.songs)
        start = NOW - dt.timedelta(weeks=WEEKS)
        times = []
        hour = start
        while hour < NOW:
            for _ in range(poisson(self.rng, rate(hour))):
                times.append(hour + dt.timedelta(seconds=self.rng.uniform(0, 3600)))
            hour += dt.timedelta(hours=1)
        self.cast(times)

    def cast(self, times: list[dt.datetime]) -> list[Vote]:
        votes = []
        for _ in times:
            fan, song = next(self.pairs)
            votes.append(Vote(user=fan, show=self.show, song=song, value=1))
        made = Vote.objects.bulk_create(votes)
        for chunk in range(0, len(made), 500):
            part = list(zip(made[chunk : chunk + 500], times[chunk : chunk + 500], strict=True))
            Vote.objects.filter(pk__in=[v.pk for v, _ in part]).update(
                created_at=Case(
                    *(When(pk=v.pk, then=Value(t)) for v, t in part), output_field=DateTimeField()
                )
            )
        return made


@pytest.fixture
def voting():
    return Voting()


@pytest.fixture
def rule(voting):
    return rule_create(
        name="Vote burst at a show", metric="votes_per_show", detection="anomaly",
        sensitivity=3.5, operator="gt", threshold=0, window_seconds=3600,
    )  # fmt: skip


def test_an_ordinary_day_raises_nothing(voting, rule):
    for hours_back in range(24, 0, -1):  # the last day's hours, the evening peak included
        now = NOW - dt.timedelta(hours=hours_back)
        alerts_evaluate(now=now)
        rule.refresh_from_db()
        assert rule.last_value is not None and rule.last_value < 3.5, now

    assert not Alert.objects.exists()
    assert not AnomalyFinding.objects.exists()


def test_an_injected_burst_fires_the_rule_and_is_recorded(voting, rule):
    burst = voting.cast([NOW - dt.timedelta(minutes=m % 50 + 1) for m in range(80)])
    try:
        report = alerts_evaluate(now=NOW)

        assert report.transitions == 1
        alert = Alert.objects.get(rule=rule)
        assert alert.state == Alert.State.FIRING and alert.value > 3.5
        finding = AnomalyFinding.objects.get(rule=rule)
        assert finding.subject == f"show:{voting.show.pk}"
        judged = series_evaluate(
            key="votes_per_show", end=NOW, window=dt.timedelta(hours=1), sensitivity=3.5
        )[0]
        assert finding.observed == judged.value >= 80
        assert finding.baseline == judged.verdict.expected
        assert finding.baseline < 40 and finding.score == pytest.approx(alert.value)
        assert len(finding.history) == 8 and finding.history[4:] == [None] * 4  # no show yet
        assert finding.window_end == NOW and finding.window_start == NOW - dt.timedelta(hours=1)
        line = _line(AlertEvent.objects.get(alert=alert, kind="firing"))
        assert "Votes at a show over 60 min against the same time of past weeks" in line

        # the next minute refreshes the same finding; the alert keeps firing
        alerts_evaluate(now=NOW + dt.timedelta(minutes=1))
        finding.refresh_from_db()
        assert AnomalyFinding.objects.count() == 1 and finding.evaluations == 2
        assert Alert.objects.get(rule=rule).state == Alert.State.FIRING
    finally:
        Vote.objects.filter(pk__in=[v.pk for v in burst]).delete()


def test_pending_period_holds_as_for_a_threshold_rule(voting, rule):
    rule.for_seconds = 120
    rule.save()
    burst = voting.cast([NOW - dt.timedelta(minutes=m % 40 + 1) for m in range(80)])
    try:
        alerts_evaluate(now=NOW)
        assert Alert.objects.get(rule=rule).state == Alert.State.PENDING
        alerts_evaluate(now=NOW + dt.timedelta(minutes=2))
        assert Alert.objects.get(rule=rule).state == Alert.State.FIRING
    finally:
        Vote.objects.filter(pk__in=[v.pk for v in burst]).delete()


def test_excluded_votes_leave_the_baseline_and_the_value(voting, rule):
    burst = voting.cast([NOW - dt.timedelta(minutes=m % 50 + 1) for m in range(80)])
    try:
        assert rule_score(rule=rule, now=NOW) > 3.5
        Vote.objects.filter(pk__in=[v.pk for v in burst]).update(excluded=True, excluded_at=NOW)
        assert rule_score(rule=rule, now=NOW) < 3.5
    finally:
        Vote.objects.filter(pk__in=[v.pk for v in burst]).delete()


def test_a_show_without_weeks_of_history_has_no_say(voting, rule):
    newcomer = ShowFactory(voting_open=True)
    song = SongFactory(artist=newcomer.artist)
    Vote.objects.create(user=UserFactory(), show=newcomer, song=song, value=1)

    judged = {
        j.subject: j
        for j in series_evaluate(
            key="votes_per_show",
            end=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
            window=dt.timedelta(hours=1),
            sensitivity=3.5,
        )  # fmt: skip
    }

    assert judged[f"show:{newcomer.pk}"].verdict.score is None


def test_anomaly_rules_name_a_seasonal_series_and_compare_no_change():
    with pytest.raises(ValidationError) as error:
        rule_create(
            name="x", metric="http_latency_p99_ms", detection="anomaly", operator="gt",
            threshold=0,
        )  # fmt: skip
    assert "votes_per_show" in str(error.value.message_dict["metric"])
    with pytest.raises(ValidationError) as error:
        rule_create(
            name="y", metric="http_error_rate", detection="anomaly", change=True, operator="gt",
            threshold=0,
        )  # fmt: skip
    assert "change" in error.value.message_dict
    with pytest.raises(ValidationError):
        rule_create(
            name="z", metric="votes_per_show", detection="anomaly", sensitivity=0.5,
            operator="gt", threshold=0,
        )  # fmt: skip


def test_staff_make_an_anomaly_rule_through_the_api_and_see_findings_in_admin(
    voting, client, staff
):
    api = APIClient()
    api.force_authenticate(staff)
    body = {
        "name": "Votes unusual", "metric": "votes_per_show", "operator": "gt", "threshold": 0,
        "detection": "anomaly", "window_seconds": 3600,
    }  # fmt: skip
    created = api.post(reverse("alerting-api:rule-list"), body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["detection"] == "anomaly" and created.json()["sensitivity"] == 3.5
    bad = api.post(
        reverse("alerting-api:rule-list"),
        body | {"name": "Other", "metric": "http_latency_p99_ms"},
        format="json",
    )
    assert bad.status_code == 400 and "metric" in bad.json()["extra"]["fields"]

    burst = voting.cast([NOW - dt.timedelta(minutes=m % 50 + 1) for m in range(80)])
    try:
        alerts_evaluate(now=NOW)
        staff.is_superuser = True
        staff.save()
        client.force_login(staff)
        page = client.get(reverse("admin:monitoring_anomalyfinding_changelist"))
        assert page.status_code == 200 and f"show:{voting.show.pk}" in page.content.decode()
    finally:
        Vote.objects.filter(pk__in=[v.pk for v in burst]).delete()
