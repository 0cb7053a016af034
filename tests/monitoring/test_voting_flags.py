"""Vote flags: the scan of open shows (monitoring.voting), its three kinds of unusual voting,
and staff's review of a flag in admin."""

import datetime as dt
import random

import pytest
from django.db.models import Case, DateTimeField, Value, When
from django.urls import reverse
from django.utils import timezone

from monitoring.models import VoteFlag
from monitoring.tasks import voting_scan as voting_scan_task
from monitoring.voting import detect
from monitoring.voting.services import (
    scan_settings,
    vote_flag_dismiss,
    vote_flag_exclude,
    voting_scan,
)
from mysetlist.core.exceptions import ConflictError
from mysetlist.schedules import SCHEDULES
from mysetlist.setlists.models import Vote, VoteTally
from mysetlist.setlists.services import address_hash, show_tallies_recount
from tests.setlists.factories import ShowFactory, SongFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 6, 20, 30, tzinfo=dt.UTC)


class Ballot:
    """An open show and a week of ordinary voting: 30 fans of a month's standing, each from
    an address of their own, voting for 3 to 12 of its 40 songs at random hours; a new
    account now and then."""

    def __init__(self, seed: int = 7):
        self.rng = random.Random(seed)
        self.show = ShowFactory(voting_open=True)
        self.songs = [SongFactory(artist=self.show.artist) for _ in range(40)]
        self.voted: dict[int, set[int]] = {}
        for i in range(30):
            joined = NOW - dt.timedelta(days=30)
            fan = UserFactory(date_joined=joined)
            at = NOW - dt.timedelta(hours=self.rng.uniform(3, 7 * 24))
            self.votes(fan, self.rng.randint(3, 12), at=at, address=f"198.51.100.{i}")
        for i in range(3):  # a few newcomers in the week, one at a time
            at = NOW - dt.timedelta(hours=10 + 30 * i)
            fan = UserFactory(date_joined=at - dt.timedelta(hours=2))
            self.votes(fan, 4, at=at, address=f"203.0.113.{i}")

    def _songs_new_to(self, user, count):
        voted = self.voted.setdefault(user.pk, set())
        chosen = self.rng.sample([s for s in self.songs if s.pk not in voted], count)
        voted.update(s.pk for s in chosen)
        return chosen

    def votes(self, user, count, *, at, address, spread=dt.timedelta(minutes=20)) -> list[Vote]:
        made = Vote.objects.bulk_create(
            Vote(
                user=user, show=self.show, song=song, value=1 if self.rng.random() < 0.8 else -1,
                address_hash=address_hash(address),
            )
            for song in self._songs_new_to(user, count)
        )  # fmt: skip
        times = {vote.pk: at + spread * i / max(count, 1) for i, vote in enumerate(made)}
        Vote.objects.filter(pk__in=times).update(
            created_at=Case(
                *(When(pk=pk, then=Value(t)) for pk, t in times.items()),
                output_field=DateTimeField(),
            )
        )
        show_tallies_recount(show_id=self.show.pk)
        return made


@pytest.fixture
def ballot():
    return Ballot()


def flags(show):
    return {(f.kind, f.subject_key): f for f in VoteFlag.objects.filter(show=show)}


def test_voting_scan_flags_nothing_at_a_show_voting_normally(ballot):
    report = voting_scan(now=NOW)

    assert report.shows == 1 and report.created == 0
    assert not VoteFlag.objects.exists()


def test_voting_scan_flags_one_account_voting_far_above_normal(ballot):
    greedy = UserFactory(date_joined=NOW - dt.timedelta(days=90))
    theirs = ballot.votes(greedy, 36, at=NOW - dt.timedelta(hours=5), address="192.0.2.1")

    voting_scan(now=NOW)

    flag = flags(ballot.show)[("account", f"user:{greedy.pk}")]
    assert sorted(flag.vote_ids) == sorted(v.pk for v in theirs)
    assert flag.status == VoteFlag.Status.OPEN and flag.score > 3.5
    evidence = flag.evidence
    assert evidence["votes"] == 36 and evidence["voters"] == 34
    assert 3 <= evidence["median"] <= 12
    assert evidence["rate_limit_per_minute"] == scan_settings().per_minute_limit > 0
    assert evidence["busiest_minute"] >= 1
    assert set(evidence["example_vote_ids"]) <= set(flag.vote_ids)
    assert [k for k, _ in flags(ballot.show)] == ["account"]  # nothing else flagged


def test_voting_scan_flags_one_address_many_accounts_voting_far_above_normal(ballot):
    accounts = [UserFactory(date_joined=NOW - dt.timedelta(days=60)) for _ in range(4)]
    theirs = []
    for i, account in enumerate(accounts):
        at = NOW - dt.timedelta(hours=8, minutes=10 * i)
        theirs += ballot.votes(account, 9, at=at, address="192.0.2.77")

    voting_scan(now=NOW)

    found = flags(ballot.show)
    flag = found[("address", f"address:{address_hash('192.0.2.77')}")]
    assert sorted(flag.vote_ids) == sorted(v.pk for v in theirs)
    assert flag.evidence["votes"] == 36 and flag.evidence["accounts"] == 4
    assert flag.evidence["votes_by_account"] == {str(a.pk): 9 for a in accounts}
    assert not [k for k in found if k[0] == "account"]  # each account votes as others do


def test_voting_scan_flags_a_burst_of_new_accounts(ballot):
    hour = NOW.replace(minute=0)
    burst = []
    for i in range(12):
        newcomer = UserFactory(date_joined=hour - dt.timedelta(minutes=30))
        at = hour + dt.timedelta(minutes=2 * i)
        burst += ballot.votes(newcomer, 3, at=at, address=f"100.64.0.{i}")

    voting_scan(now=NOW)

    found = flags(ballot.show)
    flag = found[("new_accounts", f"hour:{hour:%Y-%m-%dT%H:00Z}")]
    assert sorted(flag.vote_ids) == sorted(v.pk for v in burst)
    evidence = flag.evidence
    assert evidence["new_accounts"] == 12 and evidence["votes"] == 36
    assert evidence["median"] == 0 and evidence["hours_compared"] > 24
    assert evidence["window"][0] == hour.isoformat()
    assert list(found) == [("new_accounts", flag.subject_key)]


def test_voting_scan_is_idempotent_and_leaves_reviewed_flags_alone(ballot, staff):
    greedy = UserFactory()
    ballot.votes(greedy, 30, at=NOW - dt.timedelta(hours=4), address="192.0.2.1")
    voting_scan(now=NOW)
    flag = VoteFlag.objects.get()

    ballot.votes(greedy, 5, at=NOW - dt.timedelta(hours=1), address="192.0.2.1")
    report = voting_scan(now=NOW + dt.timedelta(minutes=5))

    assert report.created == 0 and report.updated == 1
    flag.refresh_from_db()
    assert VoteFlag.objects.count() == 1 and flag.evidence["votes"] == 35
    assert flag.first_seen_at == NOW and flag.last_seen_at == NOW + dt.timedelta(minutes=5)

    vote_flag_dismiss(flag=flag, by=staff)
    ballot.votes(greedy, 3, at=NOW - dt.timedelta(minutes=30), address="192.0.2.1")
    report = voting_scan(now=NOW + dt.timedelta(minutes=10))

    flag.refresh_from_db()
    assert report.updated == 0 and flag.status == VoteFlag.Status.DISMISSED
    assert flag.evidence["votes"] == 35


def test_vote_flag_exclude_sets_the_votes_aside_and_recounts(ballot, staff):
    greedy = UserFactory()
    theirs = ballot.votes(greedy, 30, at=NOW - dt.timedelta(hours=4), address="192.0.2.1")
    voting_scan(now=NOW)
    flag = VoteFlag.objects.get()
    before = {
        t.song_id: t.upvotes - t.downvotes for t in VoteTally.objects.filter(show=ballot.show)
    }

    vote_flag_exclude(flag=flag, by=staff)

    flag.refresh_from_db()
    assert flag.status == VoteFlag.Status.EXCLUDED and flag.reviewed_by == staff
    assert flag.excluded_votes == 30 and flag.reviewed_at is not None
    after = {t.song_id: t.upvotes - t.downvotes for t in VoteTally.objects.filter(show=ballot.show)}
    for vote in theirs:
        before[vote.song_id] -= vote.value
    assert after == before
    assert Vote.objects.filter(excluded=True).count() == 30
    with pytest.raises(ConflictError, match="reviewed already"):
        vote_flag_dismiss(flag=flag, by=staff)
    # a rescan does not flag the excluded votes again
    assert voting_scan(now=NOW + dt.timedelta(minutes=5)).created == 0


def test_voting_scan_task_and_schedule(ballot):
    UserFactory()
    assert voting_scan_task.apply().get() == {"shows": 1, "created": 0, "updated": 0}
    schedule = next(s for s in SCHEDULES if s.task == "monitoring.voting_scan")
    assert schedule.crontab == {"minute": "*/5"} and schedule.expires == 450


# Pure detection


class Cast:
    def __init__(self, vote_id, user_id, address, at, joined):
        self.vote_id, self.user_id, self.address_hash = vote_id, user_id, address
        self.created_at, self.account_created_at = at, joined


def test_detect_accounts_flags_voting_at_the_rate_limit_even_with_few_voters():
    old = NOW - dt.timedelta(days=99)
    votes = [Cast(i, 1, "a", NOW + dt.timedelta(seconds=i), old) for i in range(10)]
    votes += [Cast(100, 2, "b", NOW, old)]

    found = detect.accounts(votes, detect.Settings(per_minute_limit=10))

    assert [(s.subject_key, s.evidence["busiest_minute"]) for s in found] == [("user:1", 10)]
    assert found[0].evidence["reasons"] == ["voted as fast as the rate limit allows"]
    assert detect.accounts(votes, detect.Settings(per_minute_limit=None)) == []


def test_detect_new_account_bursts_need_enough_newcomers():
    old = NOW - dt.timedelta(days=99)
    votes = [Cast(i, i, "", NOW - dt.timedelta(hours=i), old) for i in range(1, 48)]
    votes += [Cast(100 + i, 100 + i, "", NOW, NOW - dt.timedelta(hours=1)) for i in range(4)]

    assert detect.new_account_bursts(votes, detect.Settings(), now=NOW) == []
    assert detect.new_account_bursts(votes, detect.Settings(burst_min_accounts=4), now=NOW)


# Admin


def _changelist():
    return reverse("admin:monitoring_voteflag_changelist")


@pytest.fixture
def flagged(ballot):
    greedy = UserFactory()
    ballot.votes(greedy, 30, at=NOW - dt.timedelta(hours=4), address="192.0.2.1")
    voting_scan(now=NOW)
    return VoteFlag.objects.get()


@pytest.fixture
def admin_client_staff(client):
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    client.user = admin
    return client


def test_admin_lists_flags_and_shows_the_evidence_readably(admin_client_staff, flagged):
    listing = admin_client_staff.get(_changelist(), {"status__exact": "open", "kind": "account"})
    assert listing.status_code == 200
    assert flagged.subject_key in listing.content.decode()

    page = admin_client_staff.get(reverse("admin:monitoring_voteflag_change", args=[flagged.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Robust z-score" in text and "Usual (median)" in text
    assert "far more votes than the show&#x27;s other voters" in text

    votes = admin_client_staff.get(
        reverse("admin:setlists_vote_changelist"),
        {"id__in": ",".join(map(str, flagged.vote_ids))},
    )
    assert votes.status_code == 200 and votes.context["cl"].result_count == 30


def test_admin_action_excludes_the_flagged_votes(admin_client_staff, flagged):
    response = admin_client_staff.post(
        _changelist(), {"action": "exclude_votes", "_selected_action": [flagged.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "votes excluded" in response.content.decode()
    flagged.refresh_from_db()
    assert flagged.status == VoteFlag.Status.EXCLUDED
    assert flagged.reviewed_by == admin_client_staff.user
    assert Vote.objects.filter(excluded=True).count() == 30


def test_admin_action_dismisses(admin_client_staff, flagged):
    admin_client_staff.post(_changelist(), {"action": "dismiss", "_selected_action": [flagged.pk]})

    flagged.refresh_from_db()
    assert flagged.status == VoteFlag.Status.DISMISSED
    assert not Vote.objects.filter(excluded=True).exists()


def test_admin_actions_are_for_staff_only(client, flagged):
    client.force_login(UserFactory(username="fan"))
    response = client.post(
        _changelist(), {"action": "exclude_votes", "_selected_action": [flagged.pk]}
    )

    assert response.status_code == 302 and "/login/" in response["Location"]
    flagged.refresh_from_db()
    assert flagged.status == VoteFlag.Status.OPEN
    assert not Vote.objects.filter(excluded=True).exists()


def test_admin_actions_need_the_change_permission(client, flagged):
    client.force_login(UserFactory(username="viewer", is_staff=True))
    response = client.post(
        _changelist(), {"action": "exclude_votes", "_selected_action": [flagged.pk]}
    )

    assert response.status_code == 403
    flagged.refresh_from_db()
    assert flagged.status == VoteFlag.Status.OPEN


def test_timezone_now_is_used_without_arguments():
    assert voting_scan(now=timezone.now()).shows == 0
