"""A notification experiment through the real fan-out: each recipient's template variant by
the same assignment as get_variant, recorded on the delivery, with one exposure a phase."""

import pytest
from django.core import mail

from analytics.models import Event
from experiments import services
from experiments.assignment import Splitter
from experiments.models import Experiment, Exposure
from mysetlist.core.exceptions import ApplicationError, ConflictError
from notifications.content.rendering import template_for
from notifications.content.templates import template_save_version
from notifications.models import (
    Delivery,
    Notification,
    NotificationPreference,
    NotificationTemplate,
)
from notifications.selectors import inbox_texts
from notifications.services import notify
from notifications.tasks import deliveries_dispatch
from tests.experiments.factories import experiment
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

CATEGORY = "show_announced"
CONTEXT = {
    "artist": "The Band", "venue": "The Hall, Chicago", "date": "December 1, 2026",
    "url": "/shows/1/",
}  # fmt: skip


def notification_experiment(key="announce-copy", weights=(0.5, 0.5), **fields):
    return experiment(
        key=key,
        weights=weights,
        surface="notification",
        notification_category=fields.pop("notification_category", CATEGORY),
        **fields,
    )


def announce(users, key="show_announced:1"):
    return notify(category=CATEGORY, user_ids=[u.pk for u in users], key=key, context=CONTEXT)


def variant_words(variant, subject, in_app):
    return template_save_version(
        template=NotificationTemplate(
            category=CATEGORY,
            variant=variant,
            subject=subject,
            text="{{ artist }} plays {{ venue }}.",
            html="<p>{{ artist }} plays {{ venue }}.</p>",
            push_title="{{ artist }}",
            push_body="{{ venue }}",
            in_app_text=in_app,
        )
    )


def delivered(users):
    """(experiment, variant) of each user's deliveries: one pair per user, or an error."""
    pairs = {}
    for user_id, exp, variant in Delivery.objects.values_list(
        "notification__user_id", "experiment", "variant"
    ):
        assert pairs.setdefault(user_id, (exp, variant)) == (exp, variant)
    return [pairs.get(u.pk) for u in users]


def test_fan_out_gives_each_recipient_the_variant_get_variant_gives_them():
    running = notification_experiment()
    fans = UserFactory.create_batch(60)

    assert announce(fans) == 60

    phase = running.phases.get()
    split = Splitter.of(phase.seed, [0.5, 0.5], 1.0)
    expected = [("announce-copy", ["control", "b"][split.variant(f"user:{f.pk}")]) for f in fans]
    assert delivered(fans) == expected
    assert {pair[1] for pair in expected} == {"control", "b"}  # both arms are used
    # The same assignment a page asking get_variant would see, and the exposure it reads.
    for fan, (_, variant) in zip(fans[:10], expected, strict=False):
        assert services.get_variant(key="announce-copy", user=fan).variant == variant
    assert Exposure.objects.filter(phase=phase).count() == 60
    events = Event.objects.filter(event=services.EXPOSURE_EVENT)
    assert events.count() == 60
    assert {e.properties["surface"] for e in events} == {"notification"}


def test_a_second_notification_keeps_the_variant_and_counts_no_new_exposure():
    notification_experiment()
    fans = UserFactory.create_batch(20)
    announce(fans, key="show_announced:1")
    first = delivered(fans)
    Delivery.objects.all().delete()

    announce(fans, key="show_announced:2")

    assert delivered(fans) == first
    assert Exposure.objects.count() == 20
    assert Event.objects.filter(event=services.EXPOSURE_EVENT).count() == 20


def test_a_fan_first_exposed_on_the_site_keeps_that_variant_in_their_notifications():
    running = notification_experiment()
    fans = UserFactory.create_batch(30)
    phase = running.phases.get()
    # Each fan saw the other arm on the site before (as a browser, since linked to them).
    split = Splitter.of(phase.seed, [0.5, 0.5], 1.0)
    for fan in fans:
        Exposure.objects.create(
            phase=phase,
            subject=f"browser-{fan.pk}",
            user=fan,
            variant=1 - split.variant(f"user:{fan.pk}"),
            exposed_at=running.start_at,
        )

    announce(fans)

    assert delivered(fans) == [
        ("announce-copy", ["control", "b"][1 - split.variant(f"user:{f.pk}")]) for f in fans
    ]
    assert Exposure.objects.count() == 30  # no second exposure
    assert not Event.objects.filter(event=services.EXPOSURE_EVENT).exists()


def test_the_sender_uses_each_variants_words_and_the_default_where_it_has_none(
    django_capture_on_commit_callbacks,
):
    notification_experiment(weights=(0.34, 0.33, 0.33))  # control, b, c
    variant_words("b", "B: {{ artist }} plays {{ venue }}", "B in app: {{ artist }}")
    fans = UserFactory.create_batch(40)

    with django_capture_on_commit_callbacks(execute=True):
        announce(fans)

    variants = {u.pk: v for u, (_, v) in zip(fans, delivered(fans), strict=True)}
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    for fan in fans:
        if variants[fan.pk] == "b":
            assert subjects[fan.email] == "B: The Band plays The Hall, Chicago"
        else:  # control and c have no words of their own
            assert subjects[fan.email].startswith("The Band announced a show")
    assert {"b", "c", "control"} <= set(variants.values())
    # The inbox shows each notification in its delivery's variant too.
    texts = inbox_texts(notifications=Notification.objects.all())
    for notification in Notification.objects.all():
        is_b = variants[notification.user_id] == "b"
        assert texts[notification.pk].startswith("B in app: The Band") == is_b
    # The delivery records which template version it rendered.
    b_version = template_for(CATEGORY, variant="b").version
    assert Delivery.objects.filter(variant="b", channel="email").exclude(
        template_version=b_version
    ).count() == 0  # fmt: skip


def test_no_experiment_or_a_killed_one_gives_the_default_words_and_no_exposure():
    fans = UserFactory.create_batch(5)
    announce(fans, key="show_announced:1")
    assert delivered(fans) == [("", "")] * 5

    running = notification_experiment()
    services.experiment_kill(experiment=running)
    announce(fans, key="show_announced:2")
    assert delivered(fans) == [("", "")] * 5
    assert not Exposure.objects.exists()


def test_a_concluded_experiments_winner_goes_to_everyone_uncounted():
    running = notification_experiment()
    services.experiment_conclude(experiment=running, winner="b")
    fans = UserFactory.create_batch(5)

    announce(fans)

    assert delivered(fans) == [("", "b")] * 5
    assert not Exposure.objects.exists()


def test_forced_variants_coverage_and_targeting_decide_who_is_counted():
    fans = UserFactory.create_batch(200)
    staff = UserFactory(is_staff=True)
    tester = UserFactory(is_staff=True)
    running = notification_experiment(coverage=0.5, staff="fans")
    services.variant_force(experiment=running, user=tester, variant_key="b")

    announce([*fans, staff, tester])

    pairs = dict(zip([*fans, staff, tester], delivered([*fans, staff, tester]), strict=True))
    assert pairs[tester] == ("", "b")  # forced: the variant, not counted
    assert pairs[staff] == ("", "")  # not targeted
    counted = [f for f in fans if pairs[f][0] == "announce-copy"]
    assert 60 < len(counted) < 140  # half the fans, give or take
    assert all(pairs[f] == ("", "") for f in fans if f not in counted)
    exposed = set(Exposure.objects.values_list("user_id", flat=True))
    assert exposed == {f.pk for f in counted}


def test_a_recipient_who_gets_nothing_is_not_exposed():
    notification_experiment()
    fan, quiet = UserFactory.create_batch(2)
    NotificationPreference.objects.create(
        user=quiet, disabled=[f"{CATEGORY}:{c}" for c in ("email", "push", "in_app", "sms")]
    )

    announce([fan, quiet])

    assert set(Exposure.objects.values_list("user_id", flat=True)) == {fan.pk}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"notification_category": ""}, "needs a notification category"),
        ({"countries": ["US"]}, "cannot target countries or platforms"),
        ({"platforms": ["ios"]}, "cannot target countries or platforms"),
    ],
)
def test_a_notification_experiment_that_cannot_run_does_not_start(fields, message):
    draft = notification_experiment(start=False, **fields)

    with pytest.raises(ApplicationError, match=message):
        services.experiment_start(experiment=draft)

    draft.refresh_from_db()
    assert draft.status == "draft" and not draft.phases.exists()


def test_an_unknown_category_is_refused_when_the_experiment_is_set_up():
    with pytest.raises(ApplicationError, match="'no_such' is not a notification category"):
        notification_experiment(start=False, notification_category="no_such")
    assert not Experiment.objects.exists()
    draft = notification_experiment(start=False)

    with pytest.raises(ApplicationError, match="'no_such' is not a notification category"):
        services.experiment_update(experiment=draft, notification_category="no_such")

    draft.refresh_from_db()
    assert draft.notification_category == CATEGORY


def test_a_running_notification_experiment_cannot_be_changed_into_one_that_could_not_start():
    running = notification_experiment(key="first")
    other = notification_experiment(key="second", notification_category="setlist_posted")

    with pytest.raises(ApplicationError, match="cannot target countries"):
        services.experiment_update(experiment=running, countries=["US"])
    with pytest.raises(ConflictError, match="'first' already runs on 'show_announced'"):
        services.experiment_update(experiment=other, notification_category=CATEGORY)

    other.refresh_from_db()
    assert other.notification_category == "setlist_posted"
    assert Experiment.objects.get(key="first").countries == []


def test_queued_deliveries_of_a_killed_experiment_go_out_in_the_default_words(
    django_capture_on_commit_callbacks,
):
    running = notification_experiment(weights=(0.0, 1.0))  # everyone gets b
    variant_words("b", "B: {{ artist }} plays {{ venue }}", "B in app: {{ artist }}")
    fans = UserFactory.create_batch(3)
    announce(fans)  # queued: nothing is sent until the workers run
    services.experiment_kill(experiment=running)

    with django_capture_on_commit_callbacks(execute=True):
        deliveries_dispatch.delay()

    assert len(mail.outbox) == 3
    assert not any(m.subject.startswith("B:") for m in mail.outbox)
    assert delivered(fans) == [("announce-copy", "b")] * 3  # the assignment stays on record


def test_one_notification_experiment_runs_on_a_category_at_a_time():
    notification_experiment(key="first")
    second = notification_experiment(key="second", start=False)

    with pytest.raises(ConflictError, match="'first' already runs on 'show_announced'"):
        services.experiment_start(experiment=second)

    assert notification_experiment(key="other", notification_category="setlist_posted")
