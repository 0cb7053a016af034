"""Staff pages: a fan signed in gets the plain "not allowed" page, a visitor the log-in page,
staff the page itself. Every staff page of the site is listed here."""

from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

# (method, URL name, arguments): every page behind mysetlist.core.access.staff_required.
STAFF_PAGES = [
    ("get", "monitoring:alerts-acknowledge", ["no-such-token"]),
    ("post", "monitoring:alerts-acknowledge", ["no-such-token"]),
    ("get", "monitoring:dashboard-list", []),
    ("get", "monitoring:dashboard-detail", ["executive"]),
    ("get", "monitoring:caches", []),
    ("post", "monitoring:caches", []),
    ("get", "reports:list", []),
    ("post", "reports:subscriptions", []),
    ("get", "reports:detail", [1]),
    ("get", "reports:export", [1, "csv"]),
    ("get", "experiments:experiment-results", ["no-such-test"]),
    ("post", "experiments:experiment-results-refresh", ["no-such-test"]),
    ("get", "predictions:staff", []),
    ("get", "notifications:dashboard", []),
]
IDS = [f"{method} {name}" for method, name, _ in STAFF_PAGES]


def _client(**user_fields) -> Client:
    client = Client()
    client.force_login(UserFactory(**user_fields))
    return client


@pytest.mark.parametrize(("method", "name", "args"), STAFF_PAGES, ids=IDS)
def test_staff_page_tells_a_fan_they_are_not_allowed(method, name, args):
    fan = _client(username="fan")

    response = getattr(fan, method)(reverse(name, args=args))

    assert response.status_code == 403
    page = response.content.decode()
    assert "<h1>Not allowed</h1>" in page
    assert "You are signed in as fan" in page
    assert f'href="{reverse("setlists:artist-list")}"' in page
    assert 'class="site-header"' in page  # the site's own layout, not the admin's
    assert "admin/login" not in page


@pytest.mark.parametrize(("method", "name", "args"), STAFF_PAGES, ids=IDS)
def test_staff_page_sends_a_visitor_to_the_sites_log_in(method, name, args):
    url = reverse(name, args=args)

    response = getattr(Client(), method)(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('users:login')}?next={quote(url)}"


@pytest.mark.parametrize(("method", "name", "args"), STAFF_PAGES, ids=IDS)
def test_staff_page_lets_staff_in(method, name, args):
    staff = _client(username="oncall", is_staff=True)

    response = getattr(staff, method)(reverse(name, args=args))

    # The made-up ids and tokens are not found; what matters is that staff got past the door.
    assert response.status_code in (200, 302, 404)
    if response.status_code == 302:
        assert not response["Location"].startswith(reverse("users:login"))
    assert b"Not allowed" not in response.content
