import csv
import io
import json

import openpyxl
import pytest
from django.urls import reverse
from pypdf import PdfReader

from monitoring.dashboards.defaults import dashboards_install
from monitoring.dashboards.models import Dashboard, Widget
from monitoring.dashboards.results import drawing_table
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    dashboards_install(Dashboard, Widget)
    client.force_login(UserFactory(is_staff=True))
    return client


def body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def export(client, slug: str, format: str, **more):
    url = reverse("monitoring-api:dashboard-export", args=[slug])
    return client.get(url, {"format": format, **more})


def test_a_dashboard_exports_as_csv_with_a_section_per_widget(staff_client):
    response = export(staff_client, "operations", "csv")

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    text = body(response).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows
    for widget in Widget.objects.filter(dashboard__slug="operations"):
        assert widget.title in text


def test_a_dashboard_exports_as_json_xlsx_and_pdf_that_their_readers_open(staff_client):
    as_json = json.loads(body(export(staff_client, "notifications", "json")))
    titles = {w.title for w in Widget.objects.filter(dashboard__slug="notifications")}
    assert titles <= {section["title"] for section in as_json["sections"]}

    book = openpyxl.load_workbook(io.BytesIO(body(export(staff_client, "executive", "xlsx"))))
    assert len(book.sheetnames) >= 1

    pdf = PdfReader(io.BytesIO(body(export(staff_client, "predictions", "pdf"))))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "Predictions dashboard" in text and "Accuracy by artist" in text


def test_the_dashboard_api_gives_the_widgets_as_json(staff_client):
    url = reverse("monitoring-api:dashboard-detail", args=["operations"])

    response = staff_client.get(url, {"range": "24h"})

    assert response.status_code == 200
    widgets = response.json()["widgets"]
    assert len(widgets) == Widget.objects.filter(dashboard__slug="operations").count()
    assert {w.get("range") for w in widgets if "error" not in w} == {"Last 24 hours"}


@pytest.mark.parametrize(
    ("slug", "params", "status", "field"),
    [
        ("operations", {"format": "docx"}, 400, "format"),
        ("operations", {"format": "csv", "range": "forever"}, 400, "range"),
        ("nowhere", {"format": "csv"}, 404, None),
    ],
)
def test_bad_exports_are_clear_json_errors(staff_client, slug, params, status, field):
    url = reverse("monitoring-api:dashboard-export", args=[slug])

    response = staff_client.get(url, params)

    assert response.status_code == status
    payload = response.json()
    assert payload["message"]
    if field:
        assert field in payload["extra"]["fields"]


def test_fans_cannot_export_dashboards(client):
    dashboards_install(Dashboard, Widget)
    client.force_login(UserFactory())

    assert export(client, "executive", "csv").status_code == 403


def test_the_page_links_each_format(staff_client):
    page = staff_client.get(reverse("monitoring:dashboard-detail", args=["executive"]))

    for format in ("csv", "json", "xlsx", "pdf"):
        assert f"export?format={format}" in page.content.decode()


@pytest.mark.parametrize(
    ("drawing", "columns", "rows"),
    [
        ({"kind": "metric", "value": 3, "text": "3"}, ["value", "shown as"], [[3, "3"]]),
        ({"kind": "pie", "figure": {"data": [{"type": "pie", "labels": ["a"], "values": [2]}]}},
         ["label", "value"], [["a", 2]]),
        ({"kind": "line", "figure": {"data": [{"type": "scatter", "name": "n", "x": [1, 2],
                                                "y": [5, None]}]}},
         ["", "n"], [[1, 5], [2, None]]),
        ({"kind": "heatmap", "figure": {"data": [{"type": "heatmap", "x": ["w0"], "y": ["c"],
                                                   "z": [[0.5]]}]}},
         ["", "w0"], [["c", 0.5]]),
        ({"kind": "table", "error": "No event"}, ["error"], [["No event"]]),
    ],
)  # fmt: skip
def test_drawing_table(drawing, columns, rows):
    assert drawing_table(drawing) == (columns, rows)
