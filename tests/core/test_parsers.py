import logging

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from mysetlist.core.json_depth import MAX_DEPTH, nesting_exceeds

pytestmark = pytest.mark.django_db

NESTED = "[" * 1000 + "]" * 1000  # 2 KB that recursed json.load past Python's limit

ENDPOINTS = [
    ("post", "auth-token"),
    ("post", "setlists-api:vote-cast"),
    ("post", "setlists-api:follow-create"),
    ("put", "notifications-api:preferences"),
    ("post", "notifications-api:send"),
    ("post", "notifications-api:subscribe"),
]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def signed_in(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api_client


@pytest.mark.parametrize(("method", "name"), ENDPOINTS)
@pytest.mark.parametrize("who", ["anonymous", "signed_in"])
def test_deeply_nested_json_is_a_400_and_logs_no_error(request, caplog, method, name, who):
    client = request.getfixturevalue("api_client" if who == "anonymous" else who)

    with caplog.at_level(logging.WARNING):
        response = getattr(client, method)(reverse(name), NESTED, content_type="application/json")

    assert response.status_code in (400, 401, 403)  # refused before reading, or unreadable
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"message", "extra"}
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    if response.status_code == 400:
        assert f"nested deeper than {MAX_DEPTH} levels" in response.json()["message"]


def test_nested_json_is_refused_before_authentication_on_the_token_endpoint(api_client):
    response = api_client.post(reverse("auth-token"), NESTED, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "message": f"JSON parse error - nested deeper than {MAX_DEPTH} levels.",
        "extra": {},
    }


def test_json_deeper_than_orjson_allows_is_a_400(user_client):
    response = user_client.post(
        reverse("setlists-api:vote-cast"), nested(5000), content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["message"].startswith("JSON parse error")


def test_json_nested_up_to_the_limit_is_parsed(signed_in):
    body = '{"channels": ' + nested(MAX_DEPTH - 1) + "}"

    response = signed_in.put(
        reverse("notifications-api:preferences"), body, content_type="application/json"
    )

    assert response.status_code == 400  # read, then refused by the serializer, field by field
    assert "channels" in response.json()["extra"]["fields"]


def test_malformed_and_non_finite_json_are_400s(user_client):
    for body in ('{"show": 1,', '{"show": NaN}', '{"show": 1e400}', b'{"show": "\xff"}'):
        response = user_client.post(
            reverse("setlists-api:vote-cast"), body, content_type="application/json"
        )

        assert response.status_code == 400, body
        assert response.json()["message"].startswith("JSON parse error"), body


def test_json_in_another_declared_charset_is_read(api_client, user):
    user.set_password("pässwörd-long-enough")
    user.save(update_fields=["password"])
    body = f'{{"username": "{user.username}", "password": "pässwörd-long-enough"}}'

    response = api_client.post(
        reverse("auth-token"),
        body.encode("latin-1"),
        content_type="application/json; charset=latin-1",
    )

    assert response.status_code == 200
    assert response.json()["token"]


@pytest.mark.parametrize(
    ("data", "raw", "exceeds"),
    [
        ([[[]]], "[[[]]]", False),
        ([[[[]]]], "[[[[]]]]", True),
        ({"a": [{"b": []}]}, '{"a": [{"b": []}]}', True),
        ({"a": [1, 2], "b": {"c": 3}}, '{"a": [1, 2], "b": {"c": 3}}', False),
        ("[[[[[[[[", '"[[[[[[[["', False),  # brackets in a string are no nesting
        ([["[[[[[["]], '[["[[[[[["]]', False),
    ],
)
def test_nesting_exceeds_counts_lists_and_objects(data, raw, exceeds):
    assert nesting_exceeds(data, raw, 3) is exceeds
    assert nesting_exceeds(data, raw.encode(), 3) is exceeds
