from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from analytics.public import page_about
from mysetlist.core.clients import client_ip
from mysetlist.core.exceptions import ApplicationError
from mysetlist.core.ids import parse_id
from predictions import selectors as predictions_selectors

from . import selectors, services
from .models import Show


def artist_list(request):
    artists = selectors.artist_list(filters={"name": request.GET.get("q", "")})
    recommended = None
    if request.user.is_authenticated and not request.GET.get("q"):
        recommended = predictions_selectors.recommendations_for(user_id=request.user.pk)
    return render(
        request,
        "setlists/artist_list.html",
        {"artists": artists, "q": request.GET.get("q", ""), "recommended": recommended},
    )


def artist_detail(request, slug):
    artist = selectors.artist_get(slug=slug)
    page_about(request, artist_id=artist.pk)
    upcoming = selectors.show_upcoming_list(artist=artist)
    past = selectors.show_list(
        filters={"artist": artist.pk, "status": [Show.Status.LOCKED, Show.Status.COMPLETED]}
    )[:20]
    return render(
        request,
        "setlists/artist_detail.html",
        {
            "artist": artist,
            "upcoming": upcoming,
            "past": past,
            "following": selectors.artist_followed(user=request.user, artist=artist),
        },
    )


def show_detail(request, pk):
    show = selectors.show_get(show_id=pk)
    page_about(request, artist_id=show.artist_id, show_id=show.pk)
    return render(
        request,
        "setlists/show_detail.html",
        {
            "show": show,
            "ballot": selectors.show_ballot(show=show, user=request.user),
            "setlist": selectors.setlist_get(show=show),
            # Pages only read predictions: beat predicts upcoming shows within a minute of a
            # change, the API on demand.
            "prediction": predictions_selectors.show_prediction_view_get(show_id=show.pk),
        },
    )


@require_POST
@login_required
def vote(request, pk):
    """Form fallback for the ballot's buttons when JavaScript is off."""
    song_id = parse_id(request.POST.get("song"))
    value = request.POST.get("value")
    if song_id is None or value not in ("1", "-1", "0"):
        messages.error(request, "That vote was not understood.")
        return redirect("setlists:show-detail", pk=pk)
    value = int(value)
    try:
        if value == 0:
            services.vote_delete(user=request.user, show_id=pk, song_id=song_id)
        else:
            services.vote_cast(
                user=request.user, show_id=pk, song_id=song_id, value=value,
                address=client_ip(request),
            )  # fmt: skip
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("setlists:show-detail", pk=pk)


@require_POST
@login_required
def follow_toggle(request, slug):
    artist = selectors.artist_get(slug=slug)
    if selectors.artist_followed(user=request.user, artist=artist):
        services.follow_delete(user=request.user, artist_id=artist.pk)
        messages.success(request, f"You no longer follow {artist.name}.")
    else:
        services.follow_create(user=request.user, artist_id=artist.pk)
        messages.success(request, f"You follow {artist.name}.")
    return redirect(artist.get_absolute_url())
