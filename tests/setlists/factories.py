import datetime

import factory
from django.utils import timezone

from mysetlist.setlists.models import Artist, Follow, SetlistEntry, Show, Song, Tour, Venue
from mysetlist.users.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"fan{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery")


class ArtistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Artist

    name = factory.Sequence(lambda n: f"Artist {n}")
    slug = factory.Sequence(lambda n: f"artist-{n}")


class VenueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Venue

    name = factory.Sequence(lambda n: f"Venue {n}")
    city = "Chicago"
    country = "USA"
    timezone = "America/Chicago"


class TourFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tour

    artist = factory.SubFactory(ArtistFactory)
    name = factory.Sequence(lambda n: f"Tour {n}")


class ShowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Show

    class Params:
        voting_open = factory.Trait(status=Show.Status.VOTING_OPEN)

    artist = factory.SubFactory(ArtistFactory)
    venue = factory.SubFactory(VenueFactory)
    date = factory.LazyFunction(lambda: timezone.now().date() + datetime.timedelta(days=10))
    status = Show.Status.ANNOUNCED


class SongFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Song

    artist = factory.SubFactory(ArtistFactory)
    title = factory.Sequence(lambda n: f"Song {n}")


class SetlistEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SetlistEntry

    show = factory.SubFactory(ShowFactory)
    song = factory.SubFactory(SongFactory, artist=factory.SelfAttribute("..show.artist"))
    position = factory.Sequence(lambda n: n + 1)


class FollowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Follow

    user = factory.SubFactory(UserFactory)
    artist = factory.SubFactory(ArtistFactory)
