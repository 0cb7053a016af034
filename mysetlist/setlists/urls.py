from django.urls import path

from . import views

app_name = "setlists"

urlpatterns = [
    path("", views.artist_list, name="artist-list"),
    path("artists/<slug:slug>/", views.artist_detail, name="artist-detail"),
    path("artists/<slug:slug>/follow/", views.follow_toggle, name="artist-follow"),
    path("shows/<id:pk>/", views.show_detail, name="show-detail"),
    path("shows/<id:pk>/vote/", views.vote, name="show-vote"),
]
