"""Error answers: JSON under /api/, whoever makes them; HTML pages elsewhere."""

import pytest

pytestmark = pytest.mark.django_db

NOT_FOUND = {"message": "Not found.", "extra": {}}


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


@pytest.mark.parametrize(
    "path", ["/api/no-such-thing/", "/api/no-such-thing", "/api", "/api/schema/x", "/api/votes/1/"]
)
def test_unknown_api_url_is_json_404(client, debug, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND


def test_unknown_api_url_is_json_404_for_any_method(client, debug):
    response = client.delete("/api/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_method_refused_by_a_view_outside_drf_is_json_405(client, debug):
    response = client.post("/api/docs/")

    assert response.status_code == 405
    assert response.json() == {"message": 'Method "POST" not allowed.', "extra": {}}
    assert response["Allow"]


def test_method_refused_by_an_api_view_keeps_drfs_answer(client, debug):
    response = client.put("/api/health")

    assert response.status_code == 405
    assert response.json() == {"message": 'Method "PUT" not allowed.', "extra": {}}
    assert "GET" in response["Allow"]


def test_unknown_page_is_html_404(client, debug):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]


def test_a_path_that_only_starts_like_the_api_is_a_page(client, debug):
    response = client.get("/apis-and-more/")

    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]
