from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from analytics.public import page_about
from mysetlist.core.clients import client_ip
from mysetlist.core.exceptions import ApplicationError
from mysetlist.core.ids import parse_id
from predictions import selectors as predictions_selectors

from . import selectors, services
from .models import Show

SHOWS_PER_PAGE = 20


class _NoSuchPage(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _page(queryset, raw: str | None, what: str):
    """Return page `raw` (the first when missing) of `queryset`; a page that is not a
    number, or past the last one, raises _NoSuchPage with what to say."""
    paginator = Paginator(queryset, SHOWS_PER_PAGE)
    try:
        return paginator.page(raw or 1)
    except PageNotAnInteger as exc:
        raise _NoSuchPage(f"“{raw}” is not a page number of the {what}.") from exc
    except EmptyPage as exc:
        last = paginator.num_pages
        raise _NoSuchPage(
            f"There is no page {raw} of the {what}: "
            f"{'there is one page' if last == 1 else f'there are {last} pages'}."
        ) from exc


def artist_list(request):
    q = request.GET.get("q", "").strip()
    artists = selectors.artist_list(filters={"name": q})
    recommended = None
    if request.user.is_authenticated and not q:
        recommended = predictions_selectors.recommendations_for(user_id=request.user.pk)
    return render(
        request,
        "setlists/artist_list.html",
        {"artists": artists, "q": q, "recommended": recommended},
    )


def artist_detail(request, slug):
    artist = selectors.artist_get(slug=slug)
    try:
        upcoming = _page(
            selectors.show_upcoming_list(artist=artist),
            request.GET.get("upcoming_page"),
            "upcoming shows",
        )
        past = _page(
            selectors.show_list(
                filters={"artist": artist.pk, "status": [Show.Status.LOCKED, Show.Status.COMPLETED]}
            ),
            request.GET.get("past_page"),
            "past shows",
        )
    except _NoSuchPage as error:
        return render(
            request,
            "setlists/artist_page_missing.html",
            {"artist": artist, "message": error.message},
            status=404,
        )
    page_about(request, artist_id=artist.pk)
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
    ballot = selectors.show_ballot(show=show, user=request.user)
    setlist = selectors.setlist_get(show=show)
    # Pages only read predictions: beat predicts upcoming shows within a minute of a
    # change, the API on demand.
    prediction = predictions_selectors.show_prediction_view_get(show_id=show.pk)
    context = {"show": show, "setlist": setlist, "prediction": prediction}
    if selectors.show_is_played(show=show, setlist=setlist):
        predicted = None
        if prediction is not None and prediction.songs:
            predicted = [(s.song_id, s.title) for s in (*prediction.main_set, *prediction.encore)]
        context["outcome"] = selectors.show_outcome(
            setlist=setlist, ballot=ballot, predicted=predicted
        )
        return render(request, "setlists/show_played.html", context)
    text = request.GET.get("q", "")
    only = request.GET.get("only", "")
    lines = selectors.ballot_filter(lines=ballot, text=text, only=only)
    context |= {
        "ballot": lines,
        "ballot_size": len(ballot),
        "filter_text": text,
        "filter_only": only if only in selectors.BALLOT_FILTERS else "",
        "filters": selectors.BALLOT_FILTERS,
    }
    return render(request, "setlists/show_detail.html", context)


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
    # Back to the song voted on, not the top of a long ballot.
    return redirect(f"{reverse('setlists:show-detail', kwargs={'pk': pk})}#song-{song_id}")


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
