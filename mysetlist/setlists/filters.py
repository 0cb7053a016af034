import django_filters

from .models import Artist, Show, Song, Vote


class ArtistFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Artist
        fields = ["name"]


class ShowFilter(django_filters.FilterSet):
    artist = django_filters.NumberFilter(field_name="artist_id")
    artist_slug = django_filters.CharFilter(field_name="artist__slug")
    status = django_filters.MultipleChoiceFilter(choices=Show.Status.choices)
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    tour = django_filters.NumberFilter(field_name="tour_id")

    class Meta:
        model = Show
        fields = ["artist", "artist_slug", "status", "date_from", "date_to", "tour"]


class SongFilter(django_filters.FilterSet):
    artist = django_filters.NumberFilter(field_name="artist_id")
    title = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Song
        fields = ["artist", "title"]


class VoteFilter(django_filters.FilterSet):
    show = django_filters.NumberFilter(field_name="show_id")

    class Meta:
        model = Vote
        fields = ["show"]
