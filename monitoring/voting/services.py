"""Scanning open shows for unusual voting, and what staff decide about a flag. Setting
votes aside is the setlist domain's (mysetlist.setlists.services.votes_exclude): a flag
only names the votes and records the review."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from monitoring.voting import detect
from monitoring.voting.models import VoteFlag
from mysetlist.core.exceptions import ApplicationError, ConflictError
from mysetlist.setlists import selectors as setlists_selectors
from mysetlist.setlists import services as setlists_services

logger = logging.getLogger(__name__)

_PERIODS = {
    "s": 1 / 60,
    "sec": 1 / 60,
    "m": 1,
    "min": 1,
    "h": 60,
    "hour": 60,
    "d": 1440,
    "day": 1440,
}


def _votes_per_minute_limit() -> int | None:
    """The vote throttle's rate ("120/min") per minute, or None when there is none."""
    rate = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}).get("votes")
    if not rate:
        return None
    count, _, period = str(rate).partition("/")
    minutes = _PERIODS.get(period.strip().lower())
    if not minutes or not count.strip().isdigit():
        return None
    return max(1, round(int(count) / minutes))


def scan_settings() -> detect.Settings:
    return detect.Settings(per_minute_limit=_votes_per_minute_limit())


@dataclass(frozen=True)
class ScanReport:
    shows: int
    created: int
    updated: int


def _record(*, show_id: int, suspicion: detect.Suspicion, now: dt.datetime) -> str:
    """Create or refresh the flag; return "created", "updated" or "" (reviewed: left alone)."""
    flag, created = VoteFlag.objects.select_for_update().get_or_create(
        show_id=show_id,
        kind=suspicion.kind,
        subject_key=suspicion.subject_key,
        defaults={
            "score": suspicion.score,
            "evidence": suspicion.evidence,
            "vote_ids": list(suspicion.vote_ids),
            "first_seen_at": now,
            "last_seen_at": now,
        },
    )
    if created:
        return "created"
    if flag.status != VoteFlag.Status.OPEN:
        return ""
    flag.score, flag.evidence = suspicion.score, suspicion.evidence
    flag.vote_ids, flag.last_seen_at = list(suspicion.vote_ids), now
    flag.save(update_fields=["score", "evidence", "vote_ids", "last_seen_at"])
    return "updated"


@transaction.atomic
def _show_scan(*, show_id: int, now: dt.datetime, settings_: detect.Settings) -> list[str]:
    votes = setlists_selectors.show_votes_sample(show_id=show_id)
    return [
        _record(show_id=show_id, suspicion=suspicion, now=now)
        for suspicion in detect.scan(votes, settings_, now=now)
    ]


def voting_scan(*, now: dt.datetime | None = None) -> ScanReport:
    """Look for unusual voting at every show open for votes and record what is found as
    VoteFlag rows: one per show, kind and subject, so a rescan updates instead of adding.
    Each show in its own transaction."""
    now = now or timezone.now()
    settings_ = scan_settings()
    outcomes: list[str] = []
    show_ids = setlists_selectors.show_ids_voting_open()
    for show_id in show_ids:
        outcomes += _show_scan(show_id=show_id, now=now, settings_=settings_)
    report = ScanReport(len(show_ids), outcomes.count("created"), outcomes.count("updated"))
    if report.created:
        logger.warning("vote flags: %s new at %s shows scanned", report.created, report.shows)
    return report


def _flag_for_review(flag: VoteFlag) -> VoteFlag:
    flag = VoteFlag.objects.select_for_update().get(pk=flag.pk)
    if flag.status != VoteFlag.Status.OPEN:
        raise ConflictError(
            f"This flag was reviewed already ({flag.get_status_display().lower()}).",
            {"status": flag.status},
        )
    return flag


@transaction.atomic
def vote_flag_exclude(*, flag: VoteFlag, by) -> VoteFlag:
    """Set the flag's votes aside from every count (those still there: a fan may have
    withdrawn some since) and mark the flag reviewed. ConflictError for a reviewed flag."""
    flag = _flag_for_review(flag)
    present = setlists_selectors.votes_state(vote_ids=list(flag.vote_ids))
    if not present:
        raise ApplicationError("None of this flag's votes is left to exclude.")
    flag.excluded_votes = setlists_services.votes_exclude(
        show_id=flag.show_id,
        vote_ids=list(present),
        by=by,
        reason=f"vote flag {flag.pk}: {flag.get_kind_display().lower()} ({flag.subject_key})",
    )
    flag.status, flag.reviewed_by, flag.reviewed_at = VoteFlag.Status.EXCLUDED, by, timezone.now()
    flag.save(update_fields=["status", "reviewed_by", "reviewed_at", "excluded_votes"])
    return flag


@transaction.atomic
def vote_flag_dismiss(*, flag: VoteFlag, by) -> VoteFlag:
    """Mark the flag reviewed with nothing done; rescans leave it dismissed."""
    flag = _flag_for_review(flag)
    flag.status, flag.reviewed_by, flag.reviewed_at = VoteFlag.Status.DISMISSED, by, timezone.now()
    flag.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    logger.info("vote flag %s dismissed by %s", flag.pk, by.get_username())
    return flag
