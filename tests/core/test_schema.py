import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def openapi():
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture
def paths(openapi):
    return openapi["paths"]


def codes(operation: dict) -> set[str]:
    return set(operation["responses"])


def test_every_operation_documents_the_errors_drf_answers_before_its_view(paths):
    assert codes(paths["/api/votes/cast/"]["post"]) >= {"200", "400", "401", "403", "429"}
    # Anyone may read, but a bad token is refused and throttles count anonymous clients.
    assert codes(paths["/api/artists/"]["get"]) == {"200", "400", "401", "429"}
    assert codes(paths["/api/status"]["get"]) == {"200", "401", "403", "429"}
    # No authentication, so no 401 or 403.
    assert codes(paths["/api/health"]["get"]) == {"200", "429", "503"}
    # Wrong credentials are a 400; a session's write without its CSRF token a 403.
    assert codes(paths["/api/auth/token/"]["post"]) == {"200", "400", "401", "403", "429"}


def test_every_client_error_has_the_one_error_body(paths):
    for path in paths.values():
        for operation in path.values():
            for code, response in operation["responses"].items():
                if code.startswith("4") and "content" in response:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, code


def test_paginated_lists_are_documented_as_pages(paths):
    operation = paths["/api/artists/"]["get"]
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]

    assert page == {"$ref": "#/components/schemas/PaginatedArtistOutputList"}
    assert {"limit", "offset"} <= {parameter["name"] for parameter in operation["parameters"]}


def test_metric_lists_are_documented_as_arrays(paths):
    for path in ("/api/analytics/trending/", "/api/analytics/paths/", "/api/analytics/web-vitals/"):
        body = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert body["type"] == "array", path


def test_the_ingest_body_is_one_event_or_a_batch(paths):
    operation = paths["/api/analytics/events"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]

    assert body == {"$ref": "#/components/schemas/IngestBodyRequest"}
    assert {"413", "503"} <= set(operation["responses"])


def test_the_ingest_body_components_are_one_of_event_and_batch(openapi):
    components = openapi["components"]["schemas"]

    assert components["IngestBodyRequest"] == {
        "oneOf": [
            {"$ref": "#/components/schemas/IngestEventRequest"},
            {"$ref": "#/components/schemas/IngestBatchRequest"},
        ]
    }
    assert components["IngestEventRequest"]["required"] == ["distinct_id", "event"]
    assert components["IngestBatchRequest"]["properties"]["batch"]["maxItems"] == 1000
