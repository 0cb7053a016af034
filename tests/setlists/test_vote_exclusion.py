"""Setting votes aside: votes_exclude, votes_include, show_tallies_recount and what every
reader of counts sees afterwards."""

import datetime
import logging

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from mysetlist.core import broadcast as broadcast_module
from mysetlist.core.exceptions import ApplicationError, NotFoundError
from mysetlist.setlists import selectors
from mysetlist.setlists.models import Vote, VoteTally
from mysetlist.setlists.services import (
    address_hash,
    show_tallies_recount,
    vote_cast,
    vote_delete,
    votes_exclude,
    votes_include,
    votes_withdraw_all,
)
from tests.setlists.factories import ShowFactory, SongFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """What the services publish to the live feed once their transaction commits."""
    events = []
    monkeypatch.setattr(
        broadcast_module,
        "live_publish",
        lambda *, topic, message: events.append((topic, message)),
    )
    return events


@pytest.fixture
def staff():
    return UserFactory(username="moderator", is_staff=True)


@pytest.fixture
def ballot(open_show):
    """Two songs; five fans vote the first up, two vote it down, three vote the second up."""
    first, second = SongFactory(artist=open_show.artist), SongFactory(artist=open_show.artist)
    fans = [UserFactory() for _ in range(7)]
    votes = {"first": [], "second": []}
    for i, fan in enumerate(fans):
        value = 1 if i < 5 else -1
        votes["first"].append(
            vote_cast(user=fan, show_id=open_show.pk, song_id=first.pk, value=value)
        )
        if i < 3:
            votes["second"].append(
                vote_cast(user=fan, show_id=open_show.pk, song_id=second.pk, value=1)
            )
    return first, second, fans, votes


def counts(show, song):
    tally = VoteTally.objects.get(show=show, song=song)
    return tally.upvotes, tally.downvotes


def test_votes_exclude_changes_the_tallies_exactly_and_broadcasts_them(
    open_show, ballot, staff, sent, django_capture_on_commit_callbacks
):
    first, second, fans, votes = ballot
    version = VoteTally.objects.get(show=open_show, song=first).version
    # two up votes and one down vote of the first song, one up vote of the second
    chosen = [votes["first"][0].pk, votes["first"][1].pk, votes["first"][5].pk]
    chosen.append(votes["second"][0].pk)

    with django_capture_on_commit_callbacks(execute=True):
        excluded = votes_exclude(show_id=open_show.pk, vote_ids=chosen, by=staff, reason="bots")

    assert excluded == 4
    assert counts(open_show, first) == (3, 1)
    assert counts(open_show, second) == (2, 0)
    assert VoteTally.objects.get(show=open_show, song=first).version == version + 1
    assert set(Vote.objects.filter(excluded=True).values_list("pk", flat=True)) == set(chosen)
    assert Vote.objects.get(pk=chosen[0]).excluded_reason == "bots"
    pushed = {m["tally"]["song_id"]: m["tally"] for _, m in sent if m["kind"] == "tally"}
    assert pushed[first.pk]["upvotes"] == 3 and pushed[first.pk]["downvotes"] == 1
    assert pushed[second.pk]["score"] == 2


def test_votes_exclude_is_logged_as_a_log_record_and_an_admin_log_entry(
    open_show, ballot, staff, caplog
):
    _, _, _, votes = ballot
    ids = [votes["first"][0].pk]

    with caplog.at_level(logging.INFO, logger="mysetlist.setlists.services"):
        votes_exclude(show_id=open_show.pk, vote_ids=ids, by=staff, reason="one address")

    entry = LogEntry.objects.get(object_id=str(open_show.pk))
    assert entry.user == staff
    assert "Excluded 1 vote(s)" in entry.change_message and str(ids[0]) in entry.change_message
    assert "one address" in entry.change_message
    assert any("Excluded 1 vote(s)" in r.getMessage() for r in caplog.records)


def test_excluded_votes_count_nowhere_counts_are_read(open_show, ballot, staff):
    first, second, fans, votes = ballot
    mine = [v.pk for v in Vote.objects.filter(user=fans[0])]  # that fan's two votes

    votes_exclude(show_id=open_show.pk, vote_ids=mine, by=staff, reason="test")

    lines = {line.song_id: line for line in selectors.show_ballot(show=open_show)}
    assert (lines[first.pk].upvotes, lines[second.pk].upvotes) == (4, 2)
    assert selectors.show_vote_scores(show_id=open_show.pk) == {first.pk: 2, second.pk: 2}
    top = {row["song_id"]: row["score"] for row in selectors.vote_tally_top(show_id=open_show.pk)}
    assert top == {first.pk: 2, second.pk: 2}
    assert selectors.show_voter_count(show_id=open_show.pk) == 6
    assert selectors.platform_counts()["votes"] == 8
    assert selectors.voted_show_counts(user_id=fans[0].pk) == []
    assert selectors.show_vote_counts_by_span(
        show_ids=[open_show.pk], spans=[(votes["first"][0].created_at, _later())]
    ) == {open_show.pk: [8]}


def _later():
    return timezone.now() + datetime.timedelta(minutes=1)


def test_votes_include_restores_the_counts(open_show, ballot, staff):
    first, _, _, votes = ballot
    ids = [v.pk for v in votes["first"]]
    votes_exclude(show_id=open_show.pk, vote_ids=ids, by=staff, reason="test")
    assert counts(open_show, first) == (0, 0)

    assert votes_include(show_id=open_show.pk, vote_ids=ids, by=staff) == 7

    assert counts(open_show, first) == (5, 2)
    assert not Vote.objects.filter(excluded=True).exists()
    assert LogEntry.objects.filter(change_message__startswith="Counted 7").exists()


def test_votes_exclude_twice_changes_nothing_more(open_show, ballot, staff):
    first, _, _, votes = ballot
    ids = [votes["first"][0].pk]
    votes_exclude(show_id=open_show.pk, vote_ids=ids, by=staff, reason="test")
    version = VoteTally.objects.get(show=open_show, song=first).version

    assert votes_exclude(show_id=open_show.pk, vote_ids=ids, by=staff, reason="test") == 0
    assert VoteTally.objects.get(show=open_show, song=first).version == version
    assert LogEntry.objects.count() == 1


def test_votes_exclude_refuses_votes_of_another_show_and_changes_nothing(open_show, ballot, staff):
    first, _, _, votes = ballot
    other = ShowFactory(voting_open=True)
    elsewhere = vote_cast(
        user=UserFactory(), show_id=other.pk, song_id=SongFactory(artist=other.artist).pk, value=1
    )

    with pytest.raises(ApplicationError, match=f"not at show {open_show.pk}") as error:
        votes_exclude(
            show_id=open_show.pk, vote_ids=[votes["first"][0].pk, elsewhere.pk], by=staff,
            reason="test",
        )  # fmt: skip

    assert error.value.extra["fields"]["vote_ids"] == [elsewhere.pk]
    assert not Vote.objects.filter(excluded=True).exists()
    assert counts(open_show, first) == (5, 2)


def test_votes_exclude_refuses_unknown_ids_no_ids_and_no_reason(open_show, ballot, staff):
    _, _, _, votes = ballot
    with pytest.raises(NotFoundError, match="No votes with the ids 999999"):
        votes_exclude(
            show_id=open_show.pk, vote_ids=[votes["first"][0].pk, 999999], by=staff, reason="x"
        )
    with pytest.raises(ApplicationError, match="at least one vote"):
        votes_exclude(show_id=open_show.pk, vote_ids=[], by=staff, reason="x")
    with pytest.raises(ApplicationError, match="Say why"):
        votes_exclude(show_id=open_show.pk, vote_ids=[votes["first"][0].pk], by=staff, reason=" ")
    with pytest.raises(NotFoundError, match="Show not found"):
        votes_exclude(show_id=999999, vote_ids=[votes["first"][0].pk], by=staff, reason="x")
    assert not Vote.objects.filter(excluded=True).exists()


def test_voting_again_on_an_excluded_vote_keeps_it_excluded(open_show, ballot, staff):
    first, _, fans, votes = ballot
    vote = votes["first"][0]  # fans[0] voted the first song up
    votes_exclude(show_id=open_show.pk, vote_ids=[vote.pk], by=staff, reason="test")

    vote_cast(user=fans[0], show_id=open_show.pk, song_id=first.pk, value=-1)

    vote.refresh_from_db()
    assert vote.excluded and vote.value == -1
    assert counts(open_show, first) == (4, 2)  # neither the old nor the new value counts
    assert show_tallies_recount(show_id=open_show.pk) == []  # and the tallies are exact


def test_an_excluded_vote_cannot_be_withdrawn_to_be_cast_again(open_show, ballot, staff):
    first, _, fans, votes = ballot
    votes_exclude(show_id=open_show.pk, vote_ids=[votes["first"][0].pk], by=staff, reason="t")

    with pytest.raises(ApplicationError, match="set aside by moderators"):
        vote_delete(user=fans[0], show_id=open_show.pk, song_id=first.pk)

    assert Vote.objects.filter(pk=votes["first"][0].pk, excluded=True).exists()


def test_votes_withdraw_all_leaves_the_tallies_exact_with_excluded_votes(open_show, ballot, staff):
    first, second, fans, votes = ballot
    votes_exclude(show_id=open_show.pk, vote_ids=[votes["first"][0].pk], by=staff, reason="t")

    votes_withdraw_all(user=fans[0])

    assert counts(open_show, first) == (4, 2)
    assert counts(open_show, second) == (2, 0)
    assert show_tallies_recount(show_id=open_show.pk) == []


def test_show_tallies_recount_repairs_drifted_tallies(open_show, ballot):
    first, _, _, _ = ballot
    VoteTally.objects.filter(show=open_show, song=first).update(upvotes=40)

    changed = show_tallies_recount(show_id=open_show.pk)

    assert [t.song_id for t in changed] == [first.pk]
    assert counts(open_show, first) == (5, 2)


def test_vote_cast_keeps_a_keyed_hash_of_the_address(open_show, song, user):
    vote = vote_cast(
        user=user, show_id=open_show.pk, song_id=song.pk, value=1, address="203.0.113.9"
    )

    assert vote.address_hash == address_hash("203.0.113.9")
    assert "203.0.113.9" not in vote.address_hash and len(vote.address_hash) == 32
    # one IPv6 host's /64 is one address; a bad address is none
    assert address_hash("2001:db8::1") == address_hash("2001:db8::ffff")
    assert address_hash("2001:db8:0:1::1") != address_hash("2001:db8::1")
    assert address_hash("not an address") == "" and address_hash(None) == ""


def test_vote_api_records_the_requests_address(user_client, open_show, song):
    body = {"show": open_show.pk, "song": song.pk, "value": 1}
    response = user_client.post(
        reverse("setlists-api:vote-cast"), body, format="json", REMOTE_ADDR="198.51.100.7"
    )

    assert response.status_code == 200, response.content
    assert Vote.objects.get().address_hash == address_hash("198.51.100.7")


def test_vote_form_records_the_requests_address_and_explains_a_refused_withdrawal(
    client, open_show, song, user, staff
):
    client.force_login(user)
    page = reverse("setlists:show-vote", args=[open_show.pk])

    response = client.post(page, {"song": song.pk, "value": "1"}, REMOTE_ADDR="192.0.2.44")

    assert response.status_code == 302
    vote = Vote.objects.get()
    assert vote.address_hash == address_hash("192.0.2.44")
    votes_exclude(show_id=open_show.pk, vote_ids=[vote.pk], by=staff, reason="test")
    shown = client.post(page, {"song": song.pk, "value": "0"}, follow=True)
    assert "set aside by moderators" in shown.content.decode()
    assert Vote.objects.filter(pk=vote.pk, excluded=True).exists()
