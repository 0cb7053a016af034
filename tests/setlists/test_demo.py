import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Count, Q

from mysetlist.setlists.demo import demo_seed
from mysetlist.setlists.models import Show, Vote, VoteTally
from notifications.models import Trigger

pytestmark = pytest.mark.django_db


def test_demo_seed_makes_a_living_site():
    result = demo_seed(seed=3, fans=6, past_shows_per_artist=12)

    assert result.artists == 4 and result.votes > 0
    assert Show.objects.filter(status=Show.Status.VOTING_OPEN).count() == 8
    assert Show.objects.filter(status=Show.Status.COMPLETED, setlist_entries__isnull=False).exists()
    expected = {
        (row["show"], row["song"]): (row["up"], row["down"])
        for row in Vote.objects.values("show", "song").annotate(
            up=Count("id", filter=Q(value=1)), down=Count("id", filter=Q(value=-1))
        )
    }
    tallies = {(t.show_id, t.song_id): (t.upvotes, t.downvotes) for t in VoteTally.objects.all()}
    assert tallies == expected


def test_seed_demo_command_runs_once(capsys):
    call_command("seed_demo", "--seed", "5")
    shows = Show.objects.count()
    call_command("seed_demo")

    assert "Demo data is already there" in capsys.readouterr().out
    assert Show.objects.count() == shows


def test_demo_user_prints_working_credentials(capsys):
    call_command("demo_user")
    call_command("demo_user")  # a second run resets the password

    username, password = re.findall(
        r"Demo staff user: (\S+) / password: (\S+)", capsys.readouterr().out
    )[-1]
    user = authenticate(username=username, password=password)
    assert user is not None and user.is_staff


def test_demo_seed_tells_followers_of_its_upcoming_shows():
    demo_seed(seed=3, fans=6, past_shows_per_artist=2)

    upcoming = Show.objects.exclude(status=Show.Status.COMPLETED)
    announced = set(
        Trigger.objects.filter(category="show_announced").values_list("show", flat=True)
    )
    opened = set(Trigger.objects.filter(category="voting_opened").values_list("show", flat=True))
    assert announced == set(upcoming.values_list("pk", flat=True))
    assert opened == set(upcoming.filter(status="voting_open").values_list("pk", flat=True))
    assert not Trigger.objects.filter(show__status=Show.Status.COMPLETED).exists()
