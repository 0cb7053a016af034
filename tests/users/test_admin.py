import secrets
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

RIGHT = "correct horse battery"


@pytest.fixture
def staff():
    return UserFactory(username=f"staff-{secrets.token_hex(4)}", is_staff=True, is_superuser=True)


def address() -> dict:
    """A fresh client address: windows outlive the test in a shared cache."""
    return {"REMOTE_ADDR": f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.9"}


def attempt(client, username, password, **extra):
    return client.post(
        reverse("admin:login"), {"username": username, "password": password}, **extra
    )


def test_admin_login_refuses_even_the_right_password_after_the_failures_until_the_window_passes(
    client, clock, staff
):
    me = address()

    wrong = [attempt(client, staff.username, "wrong", **me).status_code for _ in range(4)]
    refused = attempt(client, staff.username, RIGHT, **me)
    signed_in_when_refused = "_auth_user_id" in client.session
    clock[0] += 61
    allowed = attempt(client, staff.username, RIGHT, **me)

    assert wrong == [200, 200, 200, 429]
    assert refused.status_code == 429
    assert "Too many attempts" in refused.text
    assert not signed_in_when_refused
    assert allowed.status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_guesses_from_other_addresses_do_not_lock_the_admin_out(client, clock, staff):
    codes = [attempt(client, staff.username, "wrong", **address()).status_code for _ in range(6)]

    mine = attempt(client, staff.username, RIGHT, **address())

    assert codes == [200] * 6
    assert mine.status_code == 302


def test_admin_login_failures_count_per_address_for_any_username(client, clock, staff):
    me = address()
    nobody = f"nobody-{secrets.token_hex(4)}"  # windows outlive the test in a shared cache
    codes = [attempt(client, f"{nobody}{n}", "wrong", **me).status_code for n in range(3)]

    refused = attempt(client, staff.username, RIGHT, **me)
    elsewhere = attempt(client, staff.username, RIGHT, **address())

    assert codes == [200, 200, 200]
    assert refused.status_code == 429
    assert elsewhere.status_code == 302


def test_admin_logins_that_succeed_count_too(client, clock, staff):
    me = address()

    codes = [attempt(client, staff.username, RIGHT, **me).status_code for _ in range(4)]

    assert codes == [302, 302, 302, 429]  # as on the site's log-in page


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_reach_the_password_check_no_more_often_than_the_limit(settings, clock):
    """Sixteen clients guess at once: exactly LOGIN_RATE guesses get an answer, the rest 429
    (counting the failures after checking each let 18 of 48 through at 10/m). The clock
    stands still: a run across a minute's edge would otherwise open a second window."""
    settings.LOGIN_RATE = "10/m"
    staff = UserFactory(username=f"staff-{secrets.token_hex(4)}", is_staff=True)
    me = address()
    start = threading.Barrier(16)

    def guess(_):
        start.wait()
        try:
            return [attempt(Client(), staff.username, "wrong", **me).status_code for _ in range(3)]
        finally:
            connection.close()  # the thread's own, or the test database outlives the test

    with ThreadPoolExecutor(16) as pool:
        codes = Counter(code for codes in pool.map(guess, range(16)) for code in codes)

    assert codes == {200: 10, 429: 38}


def test_a_fan_signed_in_on_the_site_is_limited_at_the_admin_too(client, clock):
    fan = UserFactory(username=f"fan-{secrets.token_hex(4)}")
    client.force_login(fan)
    me = address()

    codes = [attempt(client, fan.username, RIGHT, **me).status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]  # not staff: each is a failed admin log-in
