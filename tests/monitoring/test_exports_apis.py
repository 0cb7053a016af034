"""Metric exports through the staff API: each format read back, figures read bucket by
bucket, analytics event counts, bad input as 400 JSON with nothing saved, and export jobs
whose progress moves and whose file downloads."""

import csv
import datetime as dt
import io
import json

import openpyxl
import pypdf
import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.rollups.passes import rollups_live, rollups_rebuild
from analytics.services import AccountEvent, track_many
from monitoring import catalog
from monitoring.exports import services, writers
from monitoring.exports.models import ExportJob
from mysetlist.core.buckets import bucket_start
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db
METRIC = reverse("exports-api:metric")
JOBS = reverse("exports-api:job-create")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def staff_client(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def hours():
    """The last three whole hours."""
    end = bucket_start(timezone.now(), "hour")
    return end - dt.timedelta(hours=3), end


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_figure_exports_as_csv_streamed_one_read_per_bucket(staff_client, injected, hours):
    injected.now = 2.5
    start, end = hours
    params = {"metric": "test_error_rate", "start": start.isoformat(), "end": end.isoformat()}
    response = staff_client.get(METRIC, params | {"interval": "hour", "format": "csv"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'attachment; filename="error-rate-by-hour-' in response["Content-Disposition"]
    assert injected.reads == []  # nothing read until the body is sent
    table = list(csv.reader(io.StringIO(body(response).decode())))
    assert table[0] == ["bucket_start_utc", "Error rate (%)"]
    assert [row[1] for row in table[1:]] == ["2.5", "2.5", "2.5"]
    assert injected.reads == [
        (start + dt.timedelta(hours=i), start + dt.timedelta(hours=i + 1)) for i in range(3)
    ]


def test_a_figure_exports_as_json_xlsx_and_pdf(staff_client, injected, hours):
    injected.now = 4.0
    start, end = hours
    params = {"metric": "test_error_rate", "start": start.isoformat(), "end": end.isoformat()}

    data = json.loads(body(staff_client.get(METRIC, params | {"format": "json"})))
    assert data["sections"][0]["rows"][0] == [start.isoformat(), 4.0]
    assert len(data["sections"][0]["rows"]) == 3

    response = staff_client.get(METRIC, params | {"format": "xlsx"})
    book = openpyxl.load_workbook(io.BytesIO(body(response)), read_only=True)
    rows = list(book["test_error_rate"].iter_rows(values_only=True))
    assert rows[1] == (start.replace(tzinfo=None), 4)

    response = staff_client.get(METRIC, params | {"format": "pdf"})
    assert response["Content-Type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(body(response)))
    assert "Error rate by hour" in reader.pages[0].extract_text()


def test_an_event_exports_its_counts_per_interval(staff_client, hours):
    start, end = hours
    fan = UserFactory()
    counts = [3, 0, 5]
    events = [
        AccountEvent("vote_cast", fan.pk, start + dt.timedelta(hours=h, minutes=m), {})
        for h, n in enumerate(counts)
        for m in range(n)
    ]
    track_many(events=events)
    rollups_live()
    rollups_rebuild(start=start, end=end)
    params = {"metric": "event:vote_cast", "start": start.isoformat(), "end": end.isoformat()}
    data = json.loads(body(staff_client.get(METRIC, params | {"format": "json"})))
    assert [row[1] for row in data["sections"][0]["rows"]] == counts


def _bad_cases():
    now = timezone.now()
    hour = bucket_start(now, "hour")
    iso = dt.datetime.isoformat
    yield "unknown metric", {"metric": "nope"}, "There is no figure 'nope'"
    yield "end before start", {"end": iso(hour - dt.timedelta(hours=5))}, "end must come after"
    yield "unknown format", {"format": "docx"}, "Unknown format 'docx'"
    yield "far ahead", {"end": iso(dt.datetime(9999, 12, 31, tzinfo=dt.UTC))}, "2 days from now"
    yield "a week of a figure", {"interval": "week"}, "A figure goes by minute, hour, day"
    yield (
        "older than the store keeps",
        {"start": iso(hour - dt.timedelta(days=3))},
        "is kept for 26 hours",
    )
    yield (
        "too many rows",
        {"metric": "votes_per_minute", "interval": "minute",
         "start": iso(now - dt.timedelta(days=34, hours=23))},
        "an export holds at most 50,000",
    )  # fmt: skip
    yield (
        "a PDF too long",
        {"metric": "votes_per_minute", "interval": "minute", "format": "pdf",
         "start": iso(hour - dt.timedelta(days=2))},
        "export it as CSV",
    )  # fmt: skip


@pytest.mark.parametrize("how", ["download", "job"])
@pytest.mark.parametrize(("case", "change", "message"), list(_bad_cases()))
def test_bad_input_is_a_400_naming_it_and_saves_nothing(
    staff_client, injected, how, case, change, message
):
    hour = bucket_start(timezone.now(), "hour")
    params = {
        "metric": "test_error_rate", "start": (hour - dt.timedelta(hours=2)).isoformat(),
        "end": hour.isoformat(), "interval": "hour", "format": "csv",
    } | change  # fmt: skip
    if how == "download":
        response = staff_client.get(METRIC, params)
    else:
        response = staff_client.post(JOBS, params | {"kind": "metric"}, format="json")
    assert response.status_code == 400, case
    answer = response.json()
    assert message in answer["message"] and "fields" in answer["extra"]
    assert not ExportJob.objects.exists()
    assert injected.reads == []


def test_exports_are_for_staff_only(injected, hours):
    start, end = hours
    fan = APIClient()
    fan.force_authenticate(UserFactory())
    params = {"metric": "test_error_rate", "start": start.isoformat(), "end": end.isoformat()}
    assert fan.get(METRIC, params).status_code == 403
    assert fan.post(JOBS, params, format="json").status_code == 403
    assert APIClient().get(METRIC, params).status_code == 401
    assert not ExportJob.objects.exists() and injected.reads == []


def test_a_job_moves_on_and_its_file_downloads_for_its_owner_only(
    staff_client, staff, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(writers, "PROGRESS_EVERY", 100)
    monkeypatch.setattr(services, "PROGRESS_SECONDS", 0)
    seen = []

    def read(start, end):
        # What the status endpoint would say while the export runs.
        seen.append(ExportJob.objects.values_list("status", "progress", "rows_done").get())
        return 1.0

    figure = catalog.Figure(key="test_export_progress", name="Progress", unit="count", read=read)
    monkeypatch.setitem(catalog._FIGURES, figure.key, figure)
    end = bucket_start(timezone.now(), "minute")
    start = end - dt.timedelta(minutes=1000)
    params = {
        "kind": "metric", "metric": "test_export_progress", "start": start.isoformat(),
        "end": end.isoformat(), "interval": "minute", "format": "csv",
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = staff_client.post(JOBS, params, format="json")
    assert response.status_code == 202
    job_id = response.json()["id"]
    detail = reverse("exports-api:job-detail", args=[job_id])
    download = reverse("exports-api:job-download", args=[job_id])
    state = staff_client.get(detail).json()
    assert (state["status"], state["progress"], state["download_url"]) == ("queued", 0, None)
    assert staff_client.get(download).status_code == 409

    for callback in queued:  # the worker runs it (Celery is eager in tests)
        callback()

    assert seen[0] == ("running", 0, 0)
    progress = [p for _, p, _ in seen]
    assert progress == sorted(progress) and 0 < progress[-1] < 100  # it moved, in order
    assert seen[-1][2] >= 900
    state = staff_client.get(detail).json()
    assert state["status"] == "done" and state["progress"] == 100 and state["rows_done"] == 1000
    assert state["download_url"] == download

    response = staff_client.get(download)
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(body(response).decode())))
    assert len(table) == 1001 and table[1] == [start.isoformat(), "1.0"]

    other = APIClient()
    other.force_authenticate(UserFactory(is_staff=True))
    assert other.get(detail).status_code == 404
    assert other.get(download).status_code == 404


def test_a_job_that_cannot_be_written_ends_failed_with_the_reason(staff, injected):
    end = bucket_start(timezone.now(), "hour")
    job = ExportJob.objects.create(
        requested_by=staff,
        kind="metric",
        format="csv",
        spec={
            "metric": "test_error_rate",
            "interval": "hour",
            "start": (end - dt.timedelta(days=5)).isoformat(),
            "end": end.isoformat(),
        },  # fmt: skip
    )
    services.export_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "is kept for 26 hours" in job.error and not job.file
    assert services.export_job_run(job_id=job.pk).status == "failed"  # run once only
