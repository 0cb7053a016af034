"""Notifications sent on request of staff or an API consumer, beside the domain triggers."""

from django.contrib.auth import get_user_model
from django.db import transaction

from mysetlist.core.exceptions import ApplicationError
from mysetlist.setlists import selectors as setlists_selectors
from notifications.content.variables import context_check
from notifications.services import notify

MAX_USER_IDS = 10_000


def notification_send_schedule(
    *,
    category: str,
    key: str,
    context: dict,
    user_ids: list[int] | None = None,
    artist_id: int | None = None,
) -> None:
    """Check a send request and hand it to a worker once the caller's transaction commits.
    The audience is the listed users or an artist's followers; `key` makes a repeat
    of the same request tell nobody twice."""
    from notifications.tasks import notification_send

    if (user_ids is None) == (artist_id is None):
        raise ApplicationError(
            "Name either user_ids or artist_id.",
            extra={"fields": {"non_field_errors": ["Either user_ids or artist_id."]}},
        )
    if user_ids is not None and len(user_ids) > MAX_USER_IDS:
        raise ApplicationError(
            f"At most {MAX_USER_IDS} user ids; use artist_id for a larger audience.",
            extra={"fields": {"user_ids": [f"At most {MAX_USER_IDS}."]}},
        )
    if user_ids is not None:
        # Refused here: the worker's insert would fail on the first unknown user.
        found = get_user_model().objects.filter(pk__in=user_ids).values_list("pk", flat=True)
        unknown = sorted(set(user_ids) - set(found))
        if unknown:
            listed = ", ".join(map(str, unknown[:10])) + (", ..." if len(unknown) > 10 else "")
            raise ApplicationError(
                "No such users.", extra={"fields": {"user_ids": [f"No user has id {listed}."]}}
            )
    if artist_id is not None:
        setlists_selectors.artist_get(artist_id=artist_id)  # 404 for an unknown artist
    context_check(category=category, context=context)
    transaction.on_commit(
        lambda: notification_send.delay(category, key, context, user_ids, artist_id), robust=False
    )


def notification_send(
    *,
    category: str,
    key: str,
    context: dict,
    user_ids: list[int] | None = None,
    artist_id: int | None = None,
) -> int:
    """Tell the audience; return how many notifications were new."""
    if artist_id is not None:
        user_ids = setlists_selectors.follower_ids(artist_id=artist_id)
    return notify(category=category, user_ids=user_ids or [], key=f"api:{key}", context=context)
