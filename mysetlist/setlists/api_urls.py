from django.urls import path

from . import apis

app_name = "setlists-api"

urlpatterns = [
    path("artists/", apis.ArtistListApi.as_view(), name="artist-list"),
    path("artists/<id:artist_id>/", apis.ArtistDetailApi.as_view(), name="artist-detail"),
    path("shows/", apis.ShowListApi.as_view(), name="show-list"),
    path("shows/<id:show_id>/", apis.ShowDetailApi.as_view(), name="show-detail"),
    path("shows/<id:show_id>/ballot/", apis.ShowBallotApi.as_view(), name="show-ballot"),
    path("shows/<id:show_id>/setlist/", apis.ShowSetlistApi.as_view(), name="show-setlist"),
    path("songs/", apis.SongListApi.as_view(), name="song-list"),
    path("votes/", apis.VoteListApi.as_view(), name="vote-list"),
    path("votes/cast/", apis.VoteCastApi.as_view(), name="vote-cast"),
    path("votes/<id:show_id>/<id:song_id>/", apis.VoteDeleteApi.as_view(), name="vote-delete"),
    path("follows/", apis.FollowListApi.as_view(), name="follow-list"),
    path("follows/create/", apis.FollowCreateApi.as_view(), name="follow-create"),
    path("follows/<id:artist_id>/", apis.FollowDeleteApi.as_view(), name="follow-delete"),
]
