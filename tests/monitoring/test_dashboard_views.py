import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from monitoring.dashboards import services
from monitoring.dashboards.defaults import DASHBOARDS, dashboards_install
from monitoring.dashboards.models import Dashboard, Widget
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def boards():
    dashboards_install(Dashboard, Widget)
    return Dashboard.objects.all()


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True))
    return client


def test_dashboards_install_is_idempotent_and_keeps_edits(boards):
    executive = Dashboard.objects.get(slug="executive")
    executive.widgets.filter(position=0).update(title="Edited")

    assert dashboards_install(Dashboard, Widget) == 0
    assert executive.widgets.get(position=0).title == "Edited"
    assert dashboards_install(Dashboard, Widget, reset=True) == len(DASHBOARDS)
    assert Dashboard.objects.get(slug="executive").widgets.first().title != "Edited"


def test_every_default_widget_is_a_valid_query(boards):
    for widget in Widget.objects.all():
        # What admin checks on save; events nobody sent yet are the only refusal.
        try:
            widget.full_clean()
        except Exception as refused:
            assert "has been recorded" in str(refused), (widget.title, refused)


@pytest.mark.parametrize("slug", [d["slug"] for d in DASHBOARDS])
def test_each_dashboard_page_shows_its_widgets(boards, staff_client, slug):
    response = staff_client.get(reverse("monitoring:dashboard-detail", args=[slug]))

    assert response.status_code == 200
    page = response.content.decode()
    board = Dashboard.objects.get(slug=slug)
    for widget in board.widgets.all():
        assert f'id="widget-{widget.pk}"' in page
    assert "plotly/plotly.min.js" in page and f"/ws/dashboards/{board.pk}/" in page
    assert len(response.context["widgets"]) == board.widgets.count()


def test_a_second_load_reads_the_cache(boards, staff_client):
    url = reverse("monitoring:dashboard-detail", args=["operations"])
    staff_client.get(url)

    with CaptureQueriesContext(connection) as second:
        response = staff_client.get(url)

    assert response.status_code == 200
    read = " ".join(q["sql"] for q in second.captured_queries)
    # The session, the user, the dashboard with its widgets and the tabs; the page view's own
    # analytics capture; no widget's query.
    assert "monitoring_alert" not in read and "django_celery" not in read
    assert len([q for q in second.captured_queries if "monitoring_" in q["sql"]]) == 3


def test_an_edited_widget_is_computed_again(boards, staff_client):
    board = Dashboard.objects.get(slug="operations")
    card = board.widgets.get(title="Alerts firing")
    url = reverse("monitoring:dashboard-detail", args=["operations"])
    staff_client.get(url)

    card.title = "Firing now"
    card.save()
    page = staff_client.get(url).content.decode()

    assert "Firing now" in page


def test_an_unknown_range_is_a_message_not_an_error(boards, staff_client):
    url = reverse("monitoring:dashboard-detail", args=["executive"])

    response = staff_client.get(url, {"range": "forever"}, follow=True)

    assert response.status_code == 200
    assert "There is no time range" in response.content.decode()


def test_a_whole_dashboard_at_another_range(boards, staff_client):
    url = reverse("monitoring:dashboard-detail", args=["operations"])

    response = staff_client.get(url, {"range": "24h"})

    assert "/ws/dashboards/" in response.content.decode()
    assert response.context["range_key"] == "24h"
    shown = {w["range"] for w in response.context["widgets"] if "range" in w}
    assert shown == {"Last 24 hours"}


def test_a_widget_whose_query_fails_shows_why(boards, staff_client):
    board = Dashboard.objects.get(slug="executive")
    Widget.objects.create(dashboard=board, title="Broken", kind="line", source="events",
                          params={"event": "never_sent"}, range="7d")  # fmt: skip

    response = staff_client.get(reverse("monitoring:dashboard-detail", args=["executive"]))

    assert response.status_code == 200
    assert "No event named &#x27;never_sent&#x27; has been recorded." in response.content.decode()


def test_an_unknown_dashboard_is_404(staff_client):
    url = reverse("monitoring:dashboard-detail", args=["nope"])

    assert staff_client.get(url).status_code == 404


@pytest.mark.parametrize("name", ["monitoring:dashboard-list", "monitoring:dashboard-detail"])
def test_fans_cannot_see_dashboards(boards, client, name):
    client.force_login(UserFactory())
    args = ["executive"] if name.endswith("detail") else []

    response = client.get(reverse(name, args=args))

    assert response.status_code == 403  # the plain "not allowed" page


def test_the_list_links_every_dashboard(boards, staff_client):
    page = staff_client.get(reverse("monitoring:dashboard-list")).content.decode()

    for board in boards:
        assert board.get_absolute_url() in page


def test_refresh_broadcasts_only_watched_pages(boards):
    cache.delete(services._watched_key())
    board = Dashboard.objects.get(slug="predictions")
    services.dashboard_watch(dashboard_id=board.pk)

    assert services.dashboards_watched() == [(board.pk, "")]
    assert services.dashboards_refresh() == 1
    cache.delete(services._watch_key(board.pk, ""))
    assert services.dashboards_watched() == []


def test_a_page_shows_the_last_drawing_and_has_a_worker_compute_a_new_one(
    boards, staff_client, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    from monitoring.models import Alert, AlertRule
    from mysetlist.core import tiered_cache

    board = Dashboard.objects.get(slug="operations")
    card = board.widgets.get(title="Alerts firing")
    url = reverse("monitoring:dashboard-detail", args=["operations"])
    staff_client.get(url)
    now = timezone.now()
    key = services._last_key(card, services._widget_window(card, now, ""))
    last = cache.get(key) | {
        "text": "42",
        "computed_at": (now - dt.timedelta(minutes=10)).isoformat(),
    }
    cache.set(key, last)
    tiered_cache.invalidate(f"dashboard-widget:{card.pk}")
    cache.delete(f"dashboards:refreshing:{board.pk}:")
    rule = AlertRule.objects.create(name="Errors", metric="http_error_rate", threshold=1)
    Alert.objects.create(rule=rule, state="firing", started_at=now, value=7)

    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = staff_client.get(url)

    shown = {w["id"]: w for w in response.context["widgets"]}
    assert shown[card.pk]["text"] == "42"  # at once, the last drawing
    assert len(queued) == 1  # and a worker computed the new one (Celery runs eagerly here)
    assert cache.get(key)["text"] == "1"
    again = staff_client.get(url)
    assert {w["id"]: w for w in again.context["widgets"]}[card.pk]["text"] == "1"
