"""Delivery timing measured as a notification experiment: variants {"timing": "immediate"}
(the control) and {"timing": "open_hours"}. Fans with engagement history are told through
notify(); the treatment arm's emails wait for their open hour, the control's go at once; the
dispatch sends each when due; opens and clicks come back through the tracking paths; the
experiment's results give each arm's open and click rate."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from experiments import services as experiments
from experiments.models import Exposure, Metric, Result
from experiments.tasks import results_refresh
from mysetlist.core.exceptions import ApplicationError, ConflictError
from notifications.delivery.outbox import deliveries_claim, deliveries_send
from notifications.models import Delivery, Notification, OpenHourProfile, TrackingEvent
from notifications.services import notify
from notifications.timing.profiles import open_hours_refresh_batch
from notifications.tracking.engagement import click_token, delivery_click
from notifications.tracking.providers import tracking_events_apply
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
ZONES = [ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]
CATEGORY = "show_announced"
CONTEXT = {
    "artist": "The Band", "venue": "The Hall, Chicago", "date": "December 1, 2026",
    "url": "/shows/1/",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh_assignment_state():
    """What this process remembered of exposures in another test must not leak in (the
    tiered cache, which holds the experiments, is cleared for every test)."""
    experiments._seen.items.clear()
    yield
    experiments._seen.items.clear()


def notification_metric(outcome: str) -> Metric:
    return experiments.metric_save(
        metric=Metric(key=outcome, name=outcome.title(), kind="notification",
                      notification_outcome=outcome)
    )  # fmt: skip


def timing_experiment(timings=("immediate", "open_hours"), **fields):
    return experiments.experiment_create(
        key="send-timing",
        name="Send at the open hour",
        surface="notification",
        notification_category=CATEGORY,
        variants=[
            experiments.VariantSpec(key=timing.replace("_", "-"), weight=0.5,
                                    payload={"timing": timing})
            for timing in timings
        ],
        **fields,
    )  # fmt: skip


def habit(user, zone, hour: int, now: dt.datetime) -> None:
    """Ten past deliveries the user clicked at `hour` local time on each of the last ten
    days."""
    for day in range(1, 11):
        date = (now - dt.timedelta(days=day)).astimezone(zone).date()
        moment = dt.datetime.combine(date, dt.time(hour, 20), tzinfo=zone).astimezone(UTC)
        notification = Notification.objects.create(
            user=user, category="setlist_posted", key=f"past:{user.pk}:{day}", context=CONTEXT,
            created_at=moment - dt.timedelta(hours=2),
        )  # fmt: skip
        Delivery.objects.create(
            notification=notification, channel="email", status="delivered",
            sent_at=moment - dt.timedelta(hours=2), opened_at=moment, clicked_at=moment,
        )  # fmt: skip


def next_likely(moment: dt.datetime, zone: ZoneInfo, likely: set[int]) -> dt.datetime:
    """The start of the first local hour after `moment` in `likely` (none is the present
    hour in this test)."""
    local = moment.astimezone(zone)
    start = moment - dt.timedelta(minutes=local.minute, seconds=local.second,
                                  microseconds=local.microsecond)  # fmt: skip
    for k in range(1, 13):
        candidate = start + dt.timedelta(hours=k)
        if candidate.astimezone(zone).hour in likely:
            return candidate
    raise AssertionError("no likely hour within 12 hours")


def record_open(delivery: Delivery, n: int) -> None:
    """The email provider reports an open (its message id stands for the one a provider
    records when it accepts the email)."""
    Delivery.objects.filter(pk=delivery.pk).update(provider_message_id=f"msg-{delivery.pk}")
    event = TrackingEvent.objects.create(
        provider="resend", event_id=f"open-{n}", event_type="opened",
        message_id=f"msg-{delivery.pk}", occurred_at=timezone.now(),
    )  # fmt: skip
    assert tracking_events_apply(ids=[event.pk]) == 1


def test_timing_experiment_schedules_the_treatment_at_open_hours_and_measures_opens_and_clicks():
    opened, clicked = notification_metric("opened"), notification_metric("clicked")
    running = experiments.experiment_start(
        experiment=timing_experiment(primary_metric=opened, secondary_metrics=[clicked])
    )
    now = timezone.now()
    fans = []
    for n in range(40):
        zone = ZONES[n % 2]
        fan = UserFactory(timezone=zone)
        # A habit four hours ahead of the local time now: never the present hour.
        habit(fan, zone, (now.astimezone(zone) + dt.timedelta(hours=4)).hour, now)
        fans.append(fan)
    assert open_hours_refresh_batch(user_ids=[f.pk for f in fans], now=now) == 40
    likely = {p.user_id: set(p.likely) for p in OpenHourProfile.objects.all()}
    assert all(likely.values())  # every fan has a trusted profile

    assert notify(category=CATEGORY, user_ids=[f.pk for f in fans], key="show_announced:7",
                  context=CONTEXT) == 40  # fmt: skip

    emails = {
        d.notification.user_id: d
        for d in Delivery.objects.filter(notification__key__startswith="show_announced:7",
                                         channel="email").select_related("notification")
    }  # fmt: skip
    arms = {"immediate": [], "open-hours": []}
    for fan in fans:
        email = emails[fan.pk]
        assert email.experiment == "send-timing"
        arms[email.variant].append(fan)
        if email.variant == "immediate":
            assert email.not_before == email.created_at
        else:
            expected = next_likely(email.created_at, fan.timezone, likely[fan.pk])
            assert email.not_before == expected
            assert email.created_at < email.not_before <= email.created_at + dt.timedelta(hours=4)
    assert all(len(arm) >= 8 for arm in arms.values())  # both arms well used
    phase = running.phases.get()
    assert Exposure.objects.filter(phase=phase).count() == 40
    # In-app is the record: it goes at once in both arms.
    in_app = Delivery.objects.filter(notification__key__startswith="show_announced:7",
                                     channel="in_app")  # fmt: skip
    assert all(d.not_before == d.created_at for d in in_app)

    # The dispatch sends the control's emails (and every in-app) now, the treatment's later.
    first = deliveries_claim(now=timezone.now(), limit=1000)
    assert {emails[f.pk].pk for f in arms["immediate"]} <= set(first)
    assert not {emails[f.pk].pk for f in arms["open-hours"]} & set(first)
    deliveries_send(ids=first)
    assert len(mail.outbox) == len(arms["immediate"])
    last_due = max(emails[f.pk].not_before for f in arms["open-hours"])
    later = deliveries_claim(now=last_due, limit=1000)
    assert set(later) == {emails[f.pk].pk for f in arms["open-hours"]}
    deliveries_send(ids=later)
    assert len(mail.outbox) == 40
    assert set(Delivery.objects.filter(channel="email", notification__key__startswith=
                                       "show_announced:7").values_list("status", flat=True)) == {
        "sent"
    }  # fmt: skip

    # The treatment opens every email and clicks every other; the control opens every other
    # and clicks every fourth.
    expected = {}
    for name, arm, open_every, click_every in (
        ("open-hours", arms["open-hours"], 1, 2),
        ("immediate", arms["immediate"], 2, 4),
    ):
        for i, fan in enumerate(arm):
            if i % open_every == 0:
                record_open(emails[fan.pk], fan.pk)
            if i % click_every == 0:
                assert delivery_click(token=click_token(emails[fan.pk].pk)) == CONTEXT["url"]
        opens = len(range(0, len(arm), open_every))
        clicks = len(range(0, len(arm), click_every))
        expected[name] = (len(arm), opens, clicks)

    # The results pipeline as beat runs it: one refresh task per running experiment.
    assert results_refresh.apply(args=["send-timing"]).get() == 2

    by_metric = {r.metric.key: r for r in Result.objects.filter(phase=phase)}
    assert set(by_metric) == {"opened", "clicked"}
    assert by_metric["opened"].role == Result.Role.PRIMARY
    for metric, which in (("opened", 1), ("clicked", 2)):
        body = by_metric[metric].body
        rows = {row["key"]: row for row in body["arms"]}
        for name, counts in expected.items():
            assert (rows[name]["users"], rows[name]["converted"]) == (counts[0], counts[which])
        # Each arm's open (click) rate, as the results page reads it.
        analysis = body["analysis"]
        treated, control = expected["open-hours"], expected["immediate"]
        assert analysis["control"] == "immediate"
        assert analysis["control_rate"] == pytest.approx(control[which] / control[0])
        assert analysis["variants"]["open-hours"]["rate"] == pytest.approx(
            treated[which] / treated[0]
        )
        assert analysis["variants"]["open-hours"]["rate"] > analysis["control_rate"]


def test_a_timing_variant_must_name_a_known_timing():
    draft = timing_experiment(timings=("immediate", "whenever"))

    with pytest.raises(ApplicationError) as error:
        experiments.experiment_start(experiment=draft)

    assert "timing" in error.value.message
    assert error.value.extra["fields"]["variants"] == {"whenever": {"timing": "unknown"}}


def test_a_timing_experiment_is_the_categorys_one_notification_experiment():
    """Timing and words are tested in one experiment per category: a second is refused."""
    experiments.experiment_start(experiment=timing_experiment())
    words = experiments.experiment_create(
        key="announce-copy", name="Copy", surface="notification", notification_category=CATEGORY,
        variants=[experiments.VariantSpec(key="control", weight=0.5),
                  experiments.VariantSpec(key="b", weight=0.5)],
    )  # fmt: skip

    with pytest.raises(ConflictError):
        experiments.experiment_start(experiment=words)


def test_without_an_experiment_the_setting_decides(settings):
    now = timezone.now()
    zone = ZONES[0]
    fan = UserFactory(timezone=zone)
    habit(fan, zone, (now.astimezone(zone) + dt.timedelta(hours=4)).hour, now)
    open_hours_refresh_batch(user_ids=[fan.pk], now=now)

    settings.NOTIFICATIONS_DELIVERY_TIMING = "immediate"
    notify(category=CATEGORY, user_ids=[fan.pk], key="a", context=CONTEXT)
    settings.NOTIFICATIONS_DELIVERY_TIMING = "open_hours"
    notify(category=CATEGORY, user_ids=[fan.pk], key="b", context=CONTEXT)

    at_once, timed = (
        Delivery.objects.get(notification__key=f"{key}:{fan.pk}", channel="email")
        for key in ("a", "b")
    )
    assert at_once.not_before == at_once.created_at
    assert timed.not_before > timed.created_at
    assert (at_once.experiment, timed.experiment) == ("", "")


def fan_with_habit(now):
    zone = ZONES[1]
    fan = UserFactory(timezone=zone)
    habit(fan, zone, (now.astimezone(zone) + dt.timedelta(hours=4)).hour, now)
    open_hours_refresh_batch(user_ids=[fan.pk], now=now)
    return fan


def email_of(fan, key):
    return Delivery.objects.get(notification__key=f"{key}:{fan.pk}", channel="email")


def test_a_concluded_timing_experiments_winner_times_everyone_uncounted(settings):
    settings.NOTIFICATIONS_DELIVERY_TIMING = "immediate"
    fan = fan_with_habit(timezone.now())
    running = experiments.experiment_start(experiment=timing_experiment())
    experiments.experiment_conclude(experiment=running, winner="open-hours")

    notify(category=CATEGORY, user_ids=[fan.pk], key="after", context=CONTEXT)

    email = email_of(fan, "after")
    assert email.not_before > email.created_at  # the winner's timing, not the setting's
    assert (email.experiment, email.variant) == ("", "open-hours")


def test_a_killed_timing_experiment_leaves_the_setting_to_decide(settings):
    settings.NOTIFICATIONS_DELIVERY_TIMING = "immediate"
    fan = fan_with_habit(timezone.now())
    running = experiments.experiment_start(
        experiment=timing_experiment(timings=("open_hours", "immediate"))  # timed control
    )
    experiments.experiment_kill(experiment=running)

    notify(category=CATEGORY, user_ids=[fan.pk], key="killed", context=CONTEXT)

    email = email_of(fan, "killed")
    assert email.not_before == email.created_at
    assert email.experiment == ""
