"""Hand-made exposures and events for the results tests, at the times a test gives."""

import datetime as dt
import uuid

from django.utils import timezone

from analytics.ingest.storage import EventRow, events_write
from analytics.ingest.validation import CleanEvent
from experiments.models import Exposure, Metric, Phase

T0 = timezone.now().replace(microsecond=0) - dt.timedelta(days=20)


def metric(key="votes", kind=Metric.Kind.CONVERSION, event="vote_cast", **fields):
    return Metric.objects.create(key=key, name=fields.pop("name", key.title()), kind=kind,
                                 event=event, **fields)  # fmt: skip


def expose(experiment, subject, *, variant=0, user=None, at=T0, **segment):
    phase = Phase.objects.filter(experiment=experiment).order_by("-number").first()
    return Exposure.objects.create(
        phase=phase, subject=subject, user=user, variant=variant, exposed_at=at, **segment
    )


def event(name, *, at, user=None, distinct_id=None, **properties):
    distinct_id = distinct_id or f"user:{user.pk}"
    clean = CleanEvent(uuid.uuid4().hex, name, distinct_id, at, properties, {})
    events_write(rows=[EventRow(clean, user.pk if user else None, None)], received_at=at)


def events(rows):
    """Store many anonymous events at once: (name, distinct id, time, properties)."""
    written = [
        EventRow(CleanEvent(uuid.uuid4().hex, name, did, at, props, {}), None, None)
        for name, did, at, props in rows
    ]
    events_write(rows=written, received_at=T0)
