import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from analytics import services as analytics_services
from analytics.models import Event
from experiments import services
from experiments.assignment import Splitter
from experiments.models import Experiment, Exposure, Metric, Phase, StatusChange
from experiments.targeting import Attributes
from mysetlist.core import tiered_cache
from mysetlist.core.exceptions import ApplicationError, ConflictError, NotFoundError
from tests.analytics.passes import exact_pass_all
from tests.experiments.factories import experiment
from tests.setlists.factories import ArtistFactory, FollowFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = Experiment.Status
V = services.VariantSpec


def test_experiment_create_refuses_weights_not_summing_to_one():
    with pytest.raises(ApplicationError) as caught:
        services.experiment_create(
            key="x", name="X", variants=[V(key="control", weight=0.5), V(key="b", weight=0.4)]
        )
    assert "sum to 0.9" in caught.value.extra["fields"]["weights"]
    assert not Experiment.objects.exists()


@pytest.mark.parametrize(
    "variants",
    [[V(key="control", weight=1.0)], [V(key="a", weight=0.5), V(key="a", weight=0.5)]],
)
def test_experiment_create_refuses_one_variant_or_repeated_keys(variants):
    with pytest.raises(ApplicationError) as caught:
        services.experiment_create(key="x", name="X", variants=variants)
    assert "variants" in caught.value.extra["fields"]
    assert not Experiment.objects.exists()


def test_experiment_start_opens_phase_one_seeded_with_the_key(staff):
    created = experiment(start=False)
    assert created.status == Status.DRAFT
    started = services.experiment_start(experiment=created, by=staff, note="go")
    assert started.status == Status.RUNNING and started.start_at is not None
    phase = Phase.objects.get(experiment=started)
    assert (phase.number, phase.seed, phase.coverage) == (1, "cta-copy", 1.0)
    assert phase.variants == [{"key": "control", "weight": 0.5}, {"key": "b", "weight": 0.5}]
    moves = StatusChange.objects.filter(experiment=started).values_list("to_status", flat=True)
    assert list(moves) == [Status.DRAFT, Status.RUNNING]
    assert StatusChange.objects.filter(changed_by=staff, note="go").exists()


def test_stop_and_resume_keep_the_phase_so_nobody_moves():
    running = experiment()
    stopped = services.experiment_stop(experiment=running)
    assert stopped.status == Status.STOPPED
    assert Phase.objects.get().ended_at is not None
    resumed = services.experiment_start(experiment=stopped)
    assert resumed.status == Status.RUNNING
    phase = Phase.objects.get()
    assert phase.number == 1 and phase.ended_at is None


def test_coverage_changed_while_stopped_applies_on_resume():
    stopped = services.experiment_stop(experiment=experiment(coverage=0.5))
    services.experiment_update(experiment=stopped, coverage=0.8)
    raised = services.experiment_start(experiment=stopped)
    assert list(Phase.objects.values_list("number", "coverage")) == [(1, 0.8)]  # only adds fans

    services.experiment_stop(experiment=raised)
    services.experiment_update(experiment=raised, coverage=0.2)
    services.experiment_start(experiment=raised)
    phases = list(Phase.objects.order_by("number").values_list("number", "coverage"))
    assert phases == [(1, 0.8), (2, 0.2)]  # fans would leave: randomised again


def test_a_running_content_experiment_cannot_move_onto_a_taken_placement():
    experiment(key="hero-a", surface="content", placement="home-hero")
    other = experiment(key="hero-b", surface="content", placement="footer")

    with pytest.raises(ConflictError, match="'hero-a' already runs on 'home-hero'"):
        services.experiment_update(experiment=other, placement="home-hero")

    other.refresh_from_db()
    assert other.placement == "footer"


def test_an_end_before_the_start_is_refused():
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    now = timezone.now()
    with pytest.raises(ValidationError, match="end must come after the start"):
        experiment(start=False, start_at=now, end_at=now)


def test_a_concluded_experiment_cannot_start_or_change():
    concluded = services.experiment_conclude(experiment=experiment(), winner="b")
    with pytest.raises(ConflictError):
        services.experiment_start(experiment=concluded)
    with pytest.raises(ConflictError):
        services.experiment_update(experiment=concluded, name="Renamed")
    concluded.refresh_from_db()
    assert (concluded.status, concluded.name, concluded.winner) == (
        Status.CONCLUDED, "Cta Copy", "b"
    )  # fmt: skip


def test_conclude_refuses_an_unknown_winner():
    running = experiment()
    with pytest.raises(ApplicationError) as caught:
        services.experiment_conclude(experiment=running, winner="zzz")
    assert caught.value.extra["fields"] == {"winner": "unknown variant"}
    running.refresh_from_db()
    assert running.status == Status.RUNNING


def test_changing_the_split_of_a_running_experiment_needs_a_new_phase():
    running = experiment()
    new = [V(key="control", weight=0.2), V(key="b", weight=0.8)]
    with pytest.raises(ConflictError) as caught:
        services.experiment_update(experiment=running, variants=new)
    assert "new_phase" in caught.value.extra["fields"]
    with pytest.raises(ConflictError):
        services.experiment_update(experiment=running, coverage=0.5)
    with pytest.raises(ApplicationError) as caught:
        services.experiment_update(experiment=running, variants=new, new_phase=True)
    assert "reason" in caught.value.extra["fields"]
    # Nothing changed.
    assert services.split_of(running) == [
        {"key": "control", "weight": 0.5}, {"key": "b", "weight": 0.5}
    ]  # fmt: skip
    assert Phase.objects.count() == 1

    services.experiment_update(
        experiment=running, variants=new, new_phase=True, reason="b looks safe: more traffic"
    )
    first, second = Phase.objects.order_by("number")
    assert first.ended_at is not None and second.ended_at is None
    assert second.number == 2 and second.seed.startswith("cta-copy:") and second.seed != first.seed
    assert second.variants == [{"key": "control", "weight": 0.2}, {"key": "b", "weight": 0.8}]
    assert second.reason == "b looks safe: more traffic"


def test_raising_coverage_keeps_the_phase():
    running = experiment(coverage=0.3)
    services.experiment_update(experiment=running, coverage=0.9)
    phase = Phase.objects.get()
    assert phase.coverage == 0.9 and phase.number == 1


def test_a_draft_changes_freely():
    draft = experiment(start=False)
    services.experiment_update(
        experiment=draft, variants=[V(key="control", weight=0.4), V(key="x", weight=0.6)]
    )
    assert services.split_of(draft) == [
        {"key": "control", "weight": 0.4}, {"key": "x", "weight": 0.6}
    ]  # fmt: skip
    assert not Phase.objects.exists()


def test_only_one_content_experiment_runs_at_a_placement():
    experiment(key="hero-a", surface=Experiment.Surface.CONTENT, placement="home-hero")
    other = experiment(
        key="hero-b", surface=Experiment.Surface.CONTENT, placement="home-hero", start=False
    )
    with pytest.raises(ConflictError):
        services.experiment_start(experiment=other)
    other.refresh_from_db()
    assert other.status == Status.DRAFT
    no_place = experiment(key="hero-c", surface=Experiment.Surface.CONTENT, start=False)
    with pytest.raises(ApplicationError):
        services.experiment_start(experiment=no_place)


def test_metric_save_refuses_an_event_never_stored():
    with pytest.raises(ApplicationError) as caught:
        services.metric_save(metric=Metric(key="votes", name="Votes", kind="mean", event="nope"))
    assert "nope" in caught.value.extra["fields"]["event"]
    assert not Metric.objects.exists()


def test_metric_save_takes_an_event_the_platform_stored():
    user = UserFactory()
    analytics_services.track(event="vote_cast", user=user)
    exact_pass_all()
    metric = services.metric_save(
        metric=Metric(key="voted", name="Voted", kind="conversion", event="vote_cast")
    )
    assert metric.pk is not None


def test_metric_needs_the_fields_of_its_kind():
    with pytest.raises(ValidationError) as caught:
        services.metric_save(metric=Metric(key="r", name="R", kind="ratio", event="a"))
    assert "denominator_event" in caught.value.message_dict


# ---- get_variant -----------------------------------------------------------------------


def test_get_variant_of_an_unknown_experiment_is_not_found():
    with pytest.raises(NotFoundError):
        services.get_variant(key="nope", user=UserFactory())


def test_get_variant_follows_the_hash_and_records_one_exposure():
    running = experiment(weights=(0.5, 0.3, 0.2))
    user = UserFactory()
    first = services.get_variant(key=running.key, user=user)
    again = services.get_variant(key=running.key, user=user)
    expected = Splitter.of("cta-copy", [0.5, 0.3, 0.2]).variant(f"user:{user.pk}")
    assert first == again
    assert first.in_experiment and first.reason == "assigned" and first.position == expected
    assert first.variant == ["control", "b", "c"][expected]
    assert first.payload == {"text": first.variant}
    exposure = Exposure.objects.get()
    assert (exposure.subject, exposure.user) == (f"user:{user.pk}", user)
    assert exposure.variant == expected
    events = list(Event.objects.filter(event=services.EXPOSURE_EVENT))
    assert len(events) == 1
    assert events[0].properties == {"experiment": "cta-copy", "phase": 1, "variant": first.variant}
    assert events[0].user_id == user.pk


def test_exposure_is_recorded_once_even_when_the_process_forgets():
    running = experiment()
    user = UserFactory()
    services.get_variant(key=running.key, user=user)
    services._seen.items.clear()  # another process, or a restart
    services.get_variant(key=running.key, user=user)
    assert Exposure.objects.count() == 1
    assert Event.objects.filter(event=services.EXPOSURE_EVENT).count() == 1


def test_get_variant_without_expose_records_nothing():
    running = experiment()
    found = services.get_variant(key=running.key, user=UserFactory(), expose=False)
    assert found.in_experiment
    assert not Exposure.objects.exists()


def test_each_phase_has_its_own_exposures():
    running = experiment()
    users = UserFactory.create_batch(30)
    for user in users:
        services.get_variant(key=running.key, user=user)
    services.experiment_update(
        experiment=running,
        variants=[V(key="control", weight=0.5), V(key="b", weight=0.5)],
        new_phase=True,
        reason="re-randomise after a bug",
    )
    second = Phase.objects.get(number=2)
    splitter = Splitter.of(second.seed, [0.5, 0.5])
    for user in users:
        found = services.get_variant(key=running.key, user=user)
        assert found.phase == 2
        assert found.position == splitter.variant(f"user:{user.pk}")
    assert Exposure.objects.filter(phase__number=1).count() == 30
    assert Exposure.objects.filter(phase=second).count() == 30


def test_kill_switch_sends_everyone_to_control_and_lifting_restores():
    running = experiment(weights=(0.0, 1.0))
    user = UserFactory()
    assert services.get_variant(key=running.key, user=user).variant == "b"
    services.experiment_kill(experiment=running)
    killed = services.get_variant(key=running.key, user=user)
    assert (killed.variant, killed.in_experiment, killed.reason) == ("control", False, "killed")
    services.experiment_kill(experiment=running, on=False)
    assert services.get_variant(key=running.key, user=user).variant == "b"
    assert StatusChange.objects.filter(note__startswith="kill switch on").exists()


def test_the_kill_switch_overrides_a_concluded_winner():
    concluded = services.experiment_conclude(experiment=experiment(), winner="b")
    user = UserFactory()
    assert services.get_variant(key=concluded.key, user=user).variant == "b"
    services.experiment_kill(experiment=concluded)
    assert services.get_variant(key=concluded.key, user=user).variant == "control"


def test_stopped_and_draft_experiments_show_the_control():
    draft = experiment(key="draft", weights=(0.0, 1.0), start=False)
    user = UserFactory()
    assert services.get_variant(key=draft.key, user=user).reason == "not running"
    running = experiment(key="running", weights=(0.0, 1.0))
    services.experiment_stop(experiment=running)
    stopped = services.get_variant(key=running.key, user=user)
    assert (stopped.variant, stopped.in_experiment) == ("control", False)
    assert not Exposure.objects.exists()


def test_a_concluded_experiment_shows_its_winner_to_everyone():
    running = experiment(weights=(1.0, 0.0))
    services.experiment_conclude(experiment=running, winner="b", conclusion="b wins")
    for user in UserFactory.create_batch(5):
        found = services.get_variant(key=running.key, user=user)
        assert (found.variant, found.in_experiment, found.reason) == ("b", False, "concluded")


def test_forced_variant_overrides_the_hash_and_is_no_exposure(staff):
    running = experiment(weights=(1.0, 0.0))
    services.variant_force(experiment=running, user=staff, variant_key="b", by=staff)
    found = services.get_variant(key=running.key, user=staff)
    assert (found.variant, found.reason, found.in_experiment) == ("b", "forced", False)
    assert not Exposure.objects.exists()
    services.variant_force(experiment=running, user=staff, variant_key=None)
    assert services.get_variant(key=running.key, user=staff).variant == "control"


def test_forcing_an_unknown_variant_is_not_found(staff):
    with pytest.raises(NotFoundError):
        services.variant_force(experiment=experiment(), user=staff, variant_key="zzz")


def test_coverage_leaves_some_fans_out_with_no_exposure():
    running = experiment(coverage=0.1)
    users = UserFactory.create_batch(60)
    found = [services.get_variant(key=running.key, user=u) for u in users]
    out = [f for f in found if not f.in_experiment]
    assert out and all(f.reason == "outside coverage" and f.variant == "control" for f in out)
    assert Exposure.objects.count() == len(found) - len(out)


def test_the_anonymous_variant_follows_the_fan_after_log_in():
    running = experiment()
    splitter = Splitter.of("cta-copy", [0.5, 0.5])
    # An anonymous id whose variant differs from the account's, so the test can fail.
    user = UserFactory()
    account = splitter.variant(f"user:{user.pk}")
    anonymous = next(f"anon-{i}" for i in range(1000) if splitter.variant(f"anon-{i}") != account)
    before = services.get_variant(key=running.key, distinct_id=anonymous)
    after = services.get_variant(key=running.key, user=user, distinct_id=anonymous)
    assert before.position != account
    assert after.position == before.position
    assert Exposure.objects.count() == 1
    assert Exposure.objects.get().user == user  # claimed: other devices follow it too
    services._seen.items.clear()
    elsewhere = services.get_variant(key=running.key, user=user, distinct_id="other-device")
    assert elsewhere.position == before.position
    assert Event.objects.filter(event=services.EXPOSURE_EVENT).count() == 1


@pytest.mark.parametrize("known_to_the_process", [True, False])
def test_a_user_is_never_counted_in_two_arms_by_a_browser_seen_after_sign_out(
    known_to_the_process,
):
    running = experiment()
    splitter = Splitter.of("cta-copy", [0.5, 0.5])
    user = UserFactory()
    account = splitter.variant(f"user:{user.pk}")
    browser = next(f"anon-{i}" for i in range(1000) if splitter.variant(f"anon-{i}") != account)
    signed_in = services.get_variant(key=running.key, user=user)
    services.get_variant(key=running.key, distinct_id=browser)  # signed out on this browser
    if not known_to_the_process:
        services._seen.items.clear()  # another worker answers the next request

    again = services.get_variant(key=running.key, user=user, distinct_id=browser)

    assert again.position == signed_in.position == account
    assert list(Exposure.objects.filter(user=user).values_list("subject", flat=True)) == [
        f"user:{user.pk}"
    ]  # the browser's exposure stays its own, not a second one of the user


def test_no_id_at_all_gets_the_control_uncounted():
    running = experiment(weights=(0.0, 1.0))
    found = services.get_variant(key=running.key)
    assert (found.variant, found.in_experiment, found.reason) == ("control", False, "no id")


def test_targeting_keeps_out_who_it_names():
    artist = ArtistFactory()
    running = experiment(weights=(0.0, 1.0), follows_artist=artist, countries=["US"])
    fan, follower = UserFactory(), UserFactory()
    FollowFactory(user=follower, artist=artist)
    rf = RequestFactory()

    def ask(user, country):
        request = rf.get("/", HTTP_CF_IPCOUNTRY=country)
        request.user = user
        return services.request_variant(request, key=running.key)

    assert ask(follower, "US").variant == "b"
    assert ask(follower, "FR").reason == "not targeted"
    assert ask(fan, "US").reason == "not targeted"
    assert ask(AnonymousUser(), "US").reason in {"not targeted", "no id"}
    assert Exposure.objects.count() == 1


def test_staff_only_experiment():
    running = experiment(weights=(0.0, 1.0), staff=Experiment.Staff.STAFF)
    fan, member = UserFactory(), UserFactory(is_staff=True)
    assert (
        services.get_variant(
            key=running.key, user=fan, attributes=Attributes(is_staff=False)
        ).reason
        == "not targeted"
    )
    assert (
        services.get_variant(key=running.key, user=member, attributes=Attributes(is_staff=True))
        .variant
        == "b"
    )  # fmt: skip


def test_another_process_sees_a_change_after_its_refresh(
    settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # as if committed
        running = experiment(weights=(0.0, 1.0))
    user = UserFactory()
    assert services.get_variant(key=running.key, user=user).variant == "b"
    # Another process kills it: this one learns of it through the namespace's version.
    settings.TIERED_CACHE_CHECK_SECONDS = 0
    Experiment.objects.filter(pk=running.pk).update(killed_at=running.created_at)
    assert services.get_variant(key=running.key, user=user).variant == "b"  # not told yet
    cache.set(tiered_cache._version_key(services.EXPERIMENTS_NAMESPACE), uuid.uuid4().hex)
    assert services.get_variant(key=running.key, user=user).reason == "killed"


def test_the_exposure_keeps_the_fans_segment():
    running = experiment()
    request = RequestFactory().get(
        "/", HTTP_CF_IPCOUNTRY="br", HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14)"
    )
    request.user = UserFactory()
    services.request_variant(request, key=running.key)
    exposure = Exposure.objects.get()
    assert (exposure.platform, exposure.country, exposure.is_new) == ("android", "BR", True)
