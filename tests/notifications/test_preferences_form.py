"""The preferences page's time zone and its grid of categories by channels."""

import re
import zoneinfo

import pytest
from django.urls import reverse

from notifications.models import Delivery, NotificationPreference
from notifications.services import notify
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "notifications:preferences"
BASE = {"digest": "off", "digest_hour": "9"}


@pytest.fixture
def fan(client):
    fan = UserFactory(username="fan")
    client.force_login(fan)
    return fan


def test_the_grid_has_a_row_per_category_and_a_column_per_channel(client, fan):
    page = client.get(reverse(URL)).content.decode()

    columns = re.findall(r'<th scope="col">([^<]+)</th>', page)
    rows = re.findall(r'<th scope="row">([^<]+)</th>', page)
    assert columns == ["Notification", "Email", "Web push", "In-app", "SMS"]
    assert len(rows) == 7 and rows[0] == "New show by an artist you follow"
    assert "(staff)" not in page
    assert page.count('type="checkbox" name="enabled"') == 28
    assert page.count(" checked>") == 28  # everything on at first
    # Each checkbox is named by its row and column for a screen reader.
    assert 'id="id_enabled_voting_opened_sms"' in page
    assert '<span class="visually-hidden">Voting opened: SMS</span>' in page


def test_the_grid_saves_what_the_flat_list_saved(client, fan):
    off = {"show_announced:email", "voting_opened:push", "digest:sms"}
    page = client.get(reverse(URL))
    everything = page.context["form"]["enabled"].initial

    client.post(reverse(URL), {"enabled": [p for p in everything if p not in off], **BASE})

    assert set(NotificationPreference.objects.get(user=fan).disabled) == off
    page = client.get(reverse(URL)).content.decode()
    assert page.count(" checked>") == 25
    assert 'value="voting_opened:push" id="id_enabled_voting_opened_push">' in page


def test_a_fan_sets_their_time_zone(client, fan):
    page = client.get(reverse(URL)).content.decode()
    assert 'name="timezone" value="UTC"' in page
    assert '<option value="Europe/Berlin">' in page  # suggested as they type

    response = client.post(
        reverse(URL), {"timezone": "America/New_York", "quiet_start": "22:00",
                       "quiet_end": "07:00", **BASE}, follow=True,
    )  # fmt: skip

    assert "saved" in response.content.decode()
    fan.refresh_from_db()
    assert fan.timezone == zoneinfo.ZoneInfo("America/New_York")
    assert 'name="timezone" value="America/New_York"' in response.content.decode()


def test_an_unknown_time_zone_is_refused_clearly_and_nothing_is_saved(client, fan):
    response = client.post(
        reverse(URL), {"timezone": "Mars/Olympus_Mons", "quiet_start": "22:00",
                       "quiet_end": "07:00", **BASE},
    )  # fmt: skip

    assert response.status_code == 200
    body = response.content.decode()
    assert "Nothing was saved" in body
    assert "“Mars/Olympus_Mons” is not a time zone name" in body
    assert 'aria-invalid="true"' in body
    fan.refresh_from_db()
    assert str(fan.timezone) == "UTC"
    assert not NotificationPreference.objects.filter(user=fan, quiet_start__isnull=False).exists()


def test_an_empty_time_zone_keeps_the_one_set(client):
    fan = UserFactory(timezone=zoneinfo.ZoneInfo("Asia/Tokyo"))
    client.force_login(fan)

    client.post(reverse(URL), {"timezone": "", **BASE})

    fan.refresh_from_db()
    assert str(fan.timezone) == "Asia/Tokyo"


def test_the_inbox_shows_times_in_the_readers_zone(client):
    fan = UserFactory(timezone=zoneinfo.ZoneInfo("Asia/Tokyo"))
    client.force_login(fan)
    notify(category="voting_opened", user_ids=[fan.pk], key="k", context={"show": "S", "url": "/"})
    Delivery.objects.filter(channel="in_app").update(status="delivered")

    page = client.get(reverse("notifications:inbox")).content.decode()

    assert 'data-time-zone="Asia/Tokyo"' in page
    shown = r'<time datetime="[^"]+\+09:00">\d{1,2} \w{3} \d{4}, \d\d:\d\d</time>'
    assert re.search(shown, page)
