import pytest
from django.urls import reverse

from monitoring.dashboards.models import Dashboard, Widget
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def form(widget: dict) -> dict:
    data = {
        "slug": "mine", "title": "Mine", "description": "", "position": "0", "page_url": "",
        "widgets-TOTAL_FORMS": "1", "widgets-INITIAL_FORMS": "0",
        "widgets-MIN_NUM_FORMS": "0", "widgets-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    base = {"title": "W", "kind": "metric", "source": "alerts", "params": "{}", "range": "24h",
            "interval": "auto", "width": "2", "position": "0", "options": "{}"}  # fmt: skip
    data |= {f"widgets-0-{name}": value for name, value in (base | widget).items()}
    return data


def test_staff_add_a_dashboard_with_a_widget_in_admin(admin_client):
    response = admin_client.post(
        reverse("admin:monitoring_dashboard_add"),
        form({"kind": "gauge", "source": "figure", "params": '{"metric": "http_error_rate"}',
              "range": "15m", "options": '{"max": 0.05}'}),
    )  # fmt: skip

    assert response.status_code == 302
    widget = Widget.objects.get(dashboard__slug="mine")
    assert (widget.kind, widget.params, widget.options) == (
        "gauge",
        {"metric": "http_error_rate"},
        {"max": 0.05},
    )


@pytest.mark.parametrize(
    ("widget", "message"),
    [
        ({"source": "nothing"}, "There is no query"),
        ({"kind": "heatmap"}, "A heatmap cannot show open alerts"),
        (
            {"source": "events", "kind": "line", "params": '{"event": "never_sent"}'},
            "No event named",
        ),
        (
            {
                "source": "events",
                "kind": "line",
                "params": '{"event": "x"}',
                "range": "365d",
                "interval": "minute",
            },
            "at most 1,000 fit a chart",
        ),
        ({"source": "figure", "params": '{"metric": "nope"}'}, "There is no figure"),
    ],
)
def test_admin_refuses_a_widget_it_cannot_draw_and_saves_nothing(admin_client, widget, message):
    response = admin_client.post(reverse("admin:monitoring_dashboard_add"), form(widget))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Dashboard.objects.filter(slug="mine").exists()


def test_the_admin_lists_the_queries_with_their_parameters(admin_client):
    page = admin_client.get(reverse("admin:monitoring_dashboard_add")).content.decode()

    assert "<code>events</code>" in page and "event (required)" in page


@pytest.mark.django_db
def test_the_vote_funnel_migration_moves_the_shipped_widget_and_leaves_an_edited_one():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("monitoring.migrations.0006_first_time_vote_funnel")
    board = Dashboard.objects.create(slug="engagement-old", title="Old")
    # Installed by a migration, but a transactional test before this one may have flushed it.
    engagement, _ = Dashboard.objects.get_or_create(slug="engagement", defaults={"title": "E"})
    shipped = Widget.objects.create(
        dashboard=engagement, title="Page view to vote",
        kind="bar", source="funnel", params=migration.SHIPPED, range="30d", position=99,
    )  # fmt: skip
    edited = Widget.objects.create(
        dashboard=engagement, title="Page view to vote",
        kind="bar", source="funnel", params={"steps": ["$pageview", "signed_up"]}, range="30d",
        position=98,
    )  # fmt: skip
    elsewhere = Widget.objects.create(
        dashboard=board, title="Page view to vote", kind="bar", source="funnel",
        params=migration.SHIPPED, range="30d", position=1,
    )  # fmt: skip

    migration.forward(apps, None)

    shipped.refresh_from_db(), edited.refresh_from_db(), elsewhere.refresh_from_db()
    assert (shipped.title, shipped.params) == ("First page view to first vote", migration.NOW)
    assert edited.params == {"steps": ["$pageview", "signed_up"]}
    assert elsewhere.params == migration.SHIPPED
    migration.backward(apps, None)
    shipped.refresh_from_db()
    assert (shipped.title, shipped.params) == ("Page view to vote", migration.SHIPPED)
