"""Writing notifications: fan-out of a trigger to many users, and a user's own changes."""

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from experiments import services as experiments_services
from mysetlist.setlists.public import ShowStatus
from notifications.content.variables import context_check
from notifications.models import (
    Category,
    Delivery,
    Notification,
    NotificationPreference,
    PushSubscription,
    Trigger,
)
from notifications.planning.channels import Recipient, plan
from notifications.planning.policy import INTERRUPTING, POLICIES
from notifications.planning.timing import next_local_day
from notifications.preferences import preference_for
from notifications.timing import scheduling
from notifications.tracking.engagement import (
    conversions_record as conversions_record,  # the setlist services' call
)

if TYPE_CHECKING:
    from mysetlist.setlists.models import Show

User = get_user_model()

CHUNK = 2000  # users per transaction of a fan-out
DISPATCH_EVERY = 1.0  # seconds between the hand-overs to workers during a long fan-out


def _bigint_array(ids: Iterable[int]) -> str:
    """PostgreSQL's text for an array of ids, one parameter for psycopg to quote: it
    parses and quotes parameters and list items one by one, which for thousands of ids
    cost more than running the query."""
    return "{" + ",".join(str(int(i)) for i in ids) + "}"


def id_list(ids: Iterable[int]):
    """The right side of an `__in` filter on ids: on PostgreSQL one array parameter."""
    if connection.vendor != "postgresql":
        return list(ids)
    return RawSQL("SELECT unnest(%s::bigint[])", [_bigint_array(ids)])


def _sent_today(user_ids: list[int], zones: dict, now: dt.datetime) -> dict[int, int]:
    """Per user: non-urgent notifications with an interrupting delivery due within their
    current local day. Asked only for users who set a cap."""
    if not user_ids:
        return {}
    rows = (
        Delivery.objects.filter(
            notification__user_id__in=user_ids,
            notification__urgent=False,
            channel__in=INTERRUPTING,
            not_before__gte=now - dt.timedelta(days=2),
            not_before__lte=now + dt.timedelta(days=2),
        )
        .values_list("notification__user_id", "notification_id", "not_before")
        .distinct()
    )
    today_ends = {user_id: next_local_day(now, zones[user_id]) for user_id in user_ids}
    seen: dict[int, set[int]] = defaultdict(set)
    for user_id, notification_id, due in rows:
        if today_ends[user_id] - dt.timedelta(days=1) <= due < today_ends[user_id]:
            seen[user_id].add(notification_id)
    return {user_id: len(ids) for user_id, ids in seen.items()}


def recipients(user_ids: Iterable[int], now: dt.datetime) -> dict[int, Recipient]:
    """What planning needs of each user, in a few queries for the lot."""
    users = {
        pk: (email, zone)
        for pk, email, zone in User.objects.filter(
            pk__in=id_list(user_ids), is_active=True
        ).values_list("pk", "email", "timezone")
    }
    prefs = {
        p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=id_list(users))
    }
    with_push = set(
        PushSubscription.objects.filter(user_id__in=id_list(users)).values_list(
            "user_id", flat=True
        )
    )
    zones = {pk: zone for pk, (_, zone) in users.items()}
    capped = [pk for pk, p in prefs.items() if p.daily_cap is not None]
    counts = _sent_today(capped, zones, now)
    result = {}
    for pk, (email, zone) in users.items():
        p = prefs.get(pk)
        base = {
            "user_id": pk,
            "timezone": zone,
            "has_email": bool(email),
            "has_push": pk in with_push,
        }
        if p:
            base |= {
                "sms_number": p.sms_number,
                "disabled": frozenset(p.disabled),
                "unsubscribed_all": p.unsubscribed_all,
                "quiet_start": p.quiet_start,
                "quiet_end": p.quiet_end,
                "daily_cap": p.daily_cap,
                "sent_today": counts.get(pk, 0),
                "digest": p.digest,
                "digest_hour": p.digest_hour,
            }
        result[pk] = Recipient(**base)
    return result


def _unset_defaults(model, given: set[str]) -> dict[str, object]:
    """The database values of the required columns a fast insert leaves out: their defaults."""
    return {
        f.column: f.get_db_prep_save(f.get_default(), connection)
        for f in model._meta.concrete_fields
        if not f.primary_key and not f.null and f.column not in given
    }


def _notifications_insert_postgresql(
    category: str, user_ids: list[int], key: str, context: dict, urgent: bool, now
) -> list[tuple[int, int]]:
    """Insert the trigger's notification of each user in one statement; return (id, user id)
    of those with no delivery yet: the ones made now, and any an earlier run left bare."""
    table, deliveries = Notification._meta.db_table, Delivery._meta.db_table
    given = ["user_id", "category", "key", "context", "urgent", "created_at"]
    extra = _unset_defaults(Notification, set(given))
    context_value = Notification._meta.get_field("context").get_db_prep_save(context, connection)
    columns = ", ".join([*given, *extra])
    values = ", ".join(["%s"] * len(extra))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH made AS (INSERT INTO {table} ({columns})"
            f" SELECT u, %s, %s || u, %s::jsonb, %s, %s{', ' + values if extra else ''}"
            "  FROM unnest(%s::bigint[]) AS u ORDER BY u"
            "  ON CONFLICT (key) DO NOTHING RETURNING id, user_id)"
            " SELECT id, user_id FROM made UNION ALL"
            f" SELECT n.id, n.user_id FROM {table} n JOIN unnest(%s::bigint[]) AS u"
            "  ON n.key = %s || u"
            f" WHERE NOT EXISTS (SELECT 1 FROM {deliveries} d WHERE d.notification_id = n.id)",
            [
                category, f"{key}:", context_value, urgent, now, *extra.values(),
                _bigint_array(user_ids), _bigint_array(user_ids), f"{key}:",
            ],
        )  # fmt: skip
        return cursor.fetchall()


def _deliveries_insert_postgresql(rows: list[tuple], now) -> None:
    """COPY the deliveries (notification id, channel, status, not_before, experiment,
    variant) in."""
    given = ["notification_id", "channel", "status", "not_before", "experiment", "variant"]
    given.append("created_at")
    extra = _unset_defaults(Delivery, set(given))
    columns = ", ".join([*given, *extra])
    tail = (now, *extra.values())
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {Delivery._meta.db_table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row + tail)


def _notify_chunk(
    category: str,
    user_ids: list[int],
    key: str,
    context: dict,
    now,
    channels: frozenset[str] | None = None,
) -> int:
    urgent = POLICIES[category].urgent
    if connection.vendor == "postgresql":
        # One statement for the notifications and a COPY for the deliveries: building a
        # model instance and quoting each value was most of a fan-out's time.
        fresh = _notifications_insert_postgresql(category, user_ids, key, context, urgent, now)
    else:
        keys = [f"{key}:{pk}" for pk in user_ids]
        Notification.objects.bulk_create(
            [
                Notification(
                    user_id=pk,
                    category=category,
                    key=k,
                    context=context,
                    urgent=urgent,
                    created_at=now,
                )
                for pk, k in zip(user_ids, keys, strict=True)
            ],
            ignore_conflicts=True,
            batch_size=1000,
        )
        # Those of this trigger with no delivery yet: new ones. A repeated trigger finds none.
        fresh = list(
            Notification.objects.filter(key__in=keys, deliveries__isnull=True).values_list(
                "pk", "user_id"
            )
        )
    people = recipients([user_id for _, user_id in fresh], now)
    plans = {
        (pk, user_id): [
            p
            for p in plan(people[user_id], category, now)
            if channels is None or p.channel in channels
        ]
        for pk, user_id in fresh
        if user_id in people
    }
    # The template variant of each recipient who gets anything, by the category's
    # notification experiment (their exposure is recorded here, once per phase).
    choices = experiments_services.notification_variants(
        category=category, user_ids=[user_id for (_, user_id), p in plans.items() if p], now=now
    )
    unchosen = experiments_services.TemplateChoice("", "")
    # Non-urgent deliveries may wait for each recipient's likely open hour (see timing).
    timer = scheduling.delivery_timer(
        category=category,
        people={user_id: people[user_id] for (_, user_id), steps in plans.items() if steps},
        timings={user_id: choice.timing for user_id, choice in choices.items()},
        context=context,
    )
    planned = [
        (
            pk,
            p.channel,
            p.status,
            timer.when(
                user_id=user_id, channel=p.channel, status=p.status, not_before=p.not_before
            ),
            *choices.get(user_id, unchosen).row(),
        )
        for (pk, user_id), steps in plans.items()
        for p in steps
    ]
    if connection.vendor == "postgresql":
        _deliveries_insert_postgresql(planned, now)
    else:
        Delivery.objects.bulk_create(
            [
                Delivery(
                    notification_id=pk,
                    channel=channel,
                    status=status,
                    not_before=not_before,
                    experiment=experiment,
                    variant=variant,
                    created_at=now,
                )
                for pk, channel, status, not_before, experiment, variant in planned
            ],
            batch_size=1000,
        )
    return len(fresh)


def notify(
    *,
    category: str,
    user_ids: Iterable[int],
    key: str,
    context: dict,
    now=None,
    channels: Iterable[str] | None = None,
) -> int:
    """Tell each user about one trigger (`key`, say "show_announced:42"): one Notification
    per user however often the trigger fires, and its deliveries as each user's
    preferences say (only on `channels`, when the sender names some). Returns how many
    notifications were new. Workers send them.
    Raise ApplicationError if `context` is not what the category's templates take."""
    from notifications.tasks import deliveries_dispatch

    context_check(category=category, context=context)
    only = frozenset(channels) if channels is not None else None
    now = now or timezone.now()
    user_ids = sorted(set(user_ids))
    created, dispatched = 0, None
    for start in range(0, len(user_ids), CHUNK):
        with transaction.atomic():
            made = _notify_chunk(category, user_ids[start : start + CHUNK], key, context, now, only)
        created += made
        # Workers start on the first chunk while the rest is written, and hear of more
        # every DISPATCH_EVERY seconds, as beat's runs are seconds apart.
        if made and (dispatched is None or time.monotonic() - dispatched >= DISPATCH_EVERY):
            transaction.on_commit(deliveries_dispatch.delay)
            dispatched = time.monotonic()
    if created and len(user_ids) > CHUNK:
        transaction.on_commit(deliveries_dispatch.delay)
    return created


_UNSUBSCRIBE_SALT = "notifications.unsubscribe"


def unsubscribe_token(user_id: int) -> str:
    """The credential of a user's unsubscribe link: signed, so it needs no stored row."""
    return signing.Signer(salt=_UNSUBSCRIBE_SALT).sign(str(user_id)).replace(":", ".")


def unsubscribe_user(token: str):
    """The user an unsubscribe token names, or None if it is not one of ours."""
    try:
        user_id = signing.Signer(salt=_UNSUBSCRIBE_SALT).unsign(token.replace(".", ":"))
    except signing.BadSignature:
        return None
    return User.objects.filter(pk=user_id).first()


def unsubscribe(*, user) -> None:
    """Stop every email to this user, and drop the emails still waiting to go."""
    with transaction.atomic():
        preference = preference_for(user)
        preference.unsubscribed_all = True
        preference.save(update_fields=["unsubscribed_all", "updated_at"])
        Delivery.objects.filter(
            notification__user_id=user.pk,
            channel="email",
            status__in=[Delivery.Status.QUEUED, Delivery.Status.HELD],
        ).update(status=Delivery.Status.SKIPPED, response="unsubscribed")


# What the setlist services call, in the transaction of the change: a show's followers are
# told once it commits, and never of a change that rolled back.

# A show's status change and the category its followers hear about.
STATUS_CATEGORIES = {
    ShowStatus.VOTING_OPEN: Category.VOTING_OPENED,
    ShowStatus.LOCKED: Category.VOTING_CLOSED,
    ShowStatus.COMPLETED: Category.SETLIST_POSTED,
}


def trigger_record(*, category: str, show: "Show") -> Trigger | None:
    """Record that a show's followers are to hear about `category`, in the caller's
    transaction; fan out once it commits. Return the new trigger, or None if this show
    already had one of this category (each is told once)."""
    from notifications.tasks import trigger_fanout

    trigger, created = Trigger.objects.get_or_create(
        key=f"{category}:{show.pk}", defaults={"category": category, "show": show}
    )
    if not created:
        return None
    transaction.on_commit(lambda: trigger_fanout.delay(trigger.pk), robust=True)
    return trigger


def trigger_record_show_created(*, show: "Show") -> Trigger | None:
    """Record the announcement of a new upcoming show to its artist's followers; a past one
    (imported, say) is history, not news."""
    if show.status == ShowStatus.ANNOUNCED and show.date >= timezone.now().date():
        return trigger_record(category=Category.SHOW_ANNOUNCED, show=show)
    return None


def trigger_record_show_status(*, show: "Show", status: str) -> Trigger | None:
    """Record what a show's followers hear of its new status, if anything."""
    category = STATUS_CATEGORIES.get(status)
    return trigger_record(category=category, show=show) if category else None
