import secrets

import pytest
from django.urls import reverse

from mysetlist.users.models import User
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_signup_creates_user_and_logs_in(client):
    response = client.post(
        reverse("users:signup"),
        {
            "username": "newfan",
            "email": "newfan@example.com",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(username="newfan")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_signup_with_taken_email_shows_the_error(client):
    UserFactory(email="taken@example.com")

    response = client.post(
        reverse("users:signup"),
        {
            "username": "other",
            "email": "taken@example.com",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )

    assert response.status_code == 200
    assert "User with this Email address already exists." in response.text
    assert not User.objects.filter(username="other").exists()


def test_login_page_logs_in(client):
    UserFactory(username="loginfan")

    response = client.post(
        reverse("users:login"), {"username": "loginfan", "password": "correct horse battery"}
    )

    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_login_attempts_are_rate_limited(client, clock):  # three a minute, the clock still
    payload = {"username": "nobody", "password": "wrong"}
    # A fresh address each run: the rate window outlives the test in a shared cache.
    address = {"REMOTE_ADDR": f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.7"}

    codes = [client.post(reverse("users:login"), payload, **address).status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]
    assert "Too many attempts" in client.post(reverse("users:login"), payload, **address).text
