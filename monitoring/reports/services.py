"""Writing reports: generating one for a kind and period (once: a second run finds it), and
telling the staff who subscribe to its kind, through notifications, once it is stored."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from monitoring.exports.document import to_dict
from monitoring.reports import builders, periods
from monitoring.reports.models import Report, ReportKind, ReportSubscription
from mysetlist.core.exceptions import ApplicationError
from notifications import services as notifications_services

logger = logging.getLogger(__name__)


def _kind_check(kind: str) -> None:
    if kind not in ReportKind.values:
        raise ApplicationError(
            f"Unknown report kind {kind!r}; the kinds are {', '.join(ReportKind.values)}.",
            {"fields": {"kind": ["Unknown kind."]}},
        )


def report_period(*, kind: str, day: dt.date | None = None, now=None) -> tuple:
    """Return the period (UTC start and end) of `kind` holding `day`, or else the latest one
    over at `now`; ApplicationError for a kind there is none of, or a period not over."""
    _kind_check(kind)
    now = now or timezone.now()
    today = now.astimezone(dt.UTC).date()
    if day is None:
        return periods.moments(periods.period_last_complete(kind, today))
    start, end = periods.moments(periods.period_of(kind, day))
    if end > now:
        raise ApplicationError(
            f"The {ReportKind(kind).label.lower()} of {start:%Y-%m-%d} is not over yet: "
            f"it ends {end:%Y-%m-%d %H:%M} UTC.",
            {"fields": {"period_start": ["Not over yet."]}},
        )
    return start, end


def report_generate(
    *, kind: str, day: dt.date | None = None, now: dt.datetime | None = None
) -> tuple[Report, bool]:
    """Generate the report of `kind` for the period holding `day` (the latest period over,
    without one) and tell its subscribers once it commits. Return the report and whether it
    is new: a period already reported is returned as stored, and nobody is told again."""
    start, end = report_period(kind=kind, day=day, now=now)
    found = Report.objects.filter(kind=kind, period_start=start).first()
    if found is not None:
        return found, False
    document = builders.BUILDERS[kind](start, end)
    report = Report(
        kind=kind,
        period_start=start,
        period_end=end,
        generated_at=document.generated_at,
        title=document.title,
        summary=list(document.summary),
        document=to_dict(document),
    )
    report.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            report.save()
            transaction.on_commit(lambda: report_send(report_id=report.pk))
    except IntegrityError:  # another run stored it first
        return Report.objects.get(kind=kind, period_start=start), False
    return report, True


def report_subscribers(*, kind: str) -> list[int]:
    """The active staff who subscribe to `kind`."""
    return list(
        ReportSubscription.objects.filter(
            kind=kind, user__is_staff=True, user__is_active=True
        ).values_list("user_id", flat=True)
    )


@transaction.atomic
def report_send(*, report_id: int) -> int:
    """Tell the staff who subscribe to the report's kind that it is ready (email, in-app and
    push, as each one's preferences say), once: return how many were told."""
    report = Report.objects.select_for_update().filter(pk=report_id).first()
    if report is None or report.sent_at is not None:
        return 0
    made = notifications_services.notify(
        category="report_ready",
        user_ids=report_subscribers(kind=report.kind),
        key=f"report_ready:{report.pk}",
        context={
            "summary": f"{report.title} is ready",
            "lines": [str(line) for line in report.summary],
            "url": reverse("reports:detail", args=[report.pk]),
        },
    )
    report.sent_at = timezone.now()
    report.save(update_fields=["sent_at"])
    return made


@transaction.atomic
def report_subscribe(*, user, kind: str) -> ReportSubscription:
    """Subscribe a staff member to every new report of `kind`."""
    _kind_check(kind)
    if not user.is_staff:
        raise ValidationError({"user": "Only staff subscribe to reports."})
    subscription, _ = ReportSubscription.objects.get_or_create(user=user, kind=kind)
    return subscription


@transaction.atomic
def report_unsubscribe(*, user, kind: str) -> None:
    ReportSubscription.objects.filter(user=user, kind=kind).delete()
