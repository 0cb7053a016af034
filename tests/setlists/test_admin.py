import datetime
import re

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from mysetlist.setlists.models import Show, VoteTally
from mysetlist.setlists.services import vote_cast
from notifications.models import Notification, Trigger
from tests.setlists.factories import (
    FollowFactory,
    SetlistEntryFactory,
    ShowFactory,
    SongFactory,
    TourFactory,
    UserFactory,
    VenueFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def one_of_everything(open_show, song):
    vote_cast(user=UserFactory(), show_id=open_show.pk, song_id=song.pk, value=1)
    SetlistEntryFactory(show=open_show, song=song, position=1)
    TourFactory(artist=open_show.artist)
    FollowFactory(artist=open_show.artist)


def test_every_admin_page_opens(staff_client, one_of_everything):
    for model in admin.site._registry:
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert staff_client.get(changelist).status_code == 200, changelist
        assert staff_client.get(changelist, {"q": "x"}).status_code == 200, changelist
        obj = model._default_manager.first()
        if obj is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            assert staff_client.get(change).status_code == 200, change


def test_show_admin_shows_setlist_and_read_only_tallies(staff_client, one_of_everything, open_show):
    response = staff_client.get(reverse("admin:setlists_show_change", args=[open_show.pk]))

    assert "setlist_entries-TOTAL_FORMS" in response.text
    assert 'name="tallies-0-upvotes"' not in response.text  # shown, not editable
    assert VoteTally.objects.get().upvotes == 1
    assert re.search(r'class="field-upvotes">\s*<p>1</p>', response.text)


def test_admin_is_staff_only(client):
    client.force_login(UserFactory())

    response = client.get(reverse("admin:setlists_show_changelist"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_show_status_changes_in_admin_go_through_the_service(staff_client, open_show):
    from mysetlist.setlists.models import Show

    announced = ShowFactory()
    url = reverse("admin:setlists_show_changelist")

    staff_client.post(
        url, {"action": "lock_voting", "_selected_action": [open_show.pk, announced.pk]}
    )
    response = staff_client.post(
        url, {"action": "open_voting", "_selected_action": [open_show.pk]}, follow=True
    )

    statuses = dict(Show.objects.values_list("pk", "status"))
    assert statuses[open_show.pk] == Show.Status.LOCKED
    assert statuses[announced.pk] == Show.Status.LOCKED
    assert "cannot go from locked to voting_open" in response.text


def test_show_status_is_not_editable_in_the_form(staff_client, open_show):
    response = staff_client.get(reverse("admin:setlists_show_change", args=[open_show.pk]))

    assert 'name="status"' not in response.text


def show_form(show_date: datetime.date, **fields) -> dict:
    return {
        "date": show_date.isoformat(),
        "source": "",
        "source_id": "",
        "setlist_entries-TOTAL_FORMS": "0",
        "setlist_entries-INITIAL_FORMS": "0",
        "tallies-TOTAL_FORMS": "0",
        "tallies-INITIAL_FORMS": "0",
        **fields,
    }


def test_a_show_added_in_admin_is_announced_to_followers(
    staff_client, django_capture_on_commit_callbacks
):
    fan = FollowFactory().user
    artist = fan.follows.get().artist
    song = SongFactory(artist=artist)
    form = show_form(
        timezone.now().date() + datetime.timedelta(days=20),
        artist=artist.pk,
        venue=VenueFactory().pk,
        **{
            "setlist_entries-TOTAL_FORMS": "1",
            "setlist_entries-0-song": song.pk,
            "setlist_entries-0-position": "1",
            "setlist_entries-0-set_marker": "main",
            "setlist_entries-0-set_number": "1",
        },
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("admin:setlists_show_add"), form)

    assert response.status_code == 302, response.context["errors"]
    show = Show.objects.get()
    assert list(show.setlist_entries.values_list("song", flat=True)) == [song.pk]
    assert Trigger.objects.get().key == f"show_announced:{show.pk}"
    assert Notification.objects.get().user == fan


def test_a_show_changed_in_admin_is_saved_by_the_service(staff_client):
    show = ShowFactory()
    later = show.date + datetime.timedelta(days=3)

    response = staff_client.post(
        reverse("admin:setlists_show_change", args=[show.pk]),
        show_form(later, artist=show.artist_id, venue=show.venue_id),
    )

    assert response.status_code == 302
    show.refresh_from_db()
    assert show.date == later
    assert not Trigger.objects.exists()
