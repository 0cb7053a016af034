"""The API answers as its OpenAPI schema says. schemathesis reads /api/schema/ and sends
every operation generated requests, valid and invalid, each as an anonymous client, a fan
and staff, through the WSGI application production serves (the capture path in front of
Django included); a server error, or a status code, content type, body or documented header
the schema does not allow, fails the run."""

import pytest
import schemathesis
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from analytics.selectors import ingest_key_forget
from analytics.services import ingest_key_create
from experiments import services as experiments_services
from mysetlist.wsgi import application
from notifications.models import Notification
from tests.setlists.factories import FollowFactory, SetlistEntryFactory, ShowFactory, UserFactory

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Examples per operation and generation mode, beside the coverage phase's own cases: the
# whole run takes about two and a half minutes of one core. Nothing is left out: every
# operation the schema holds is run (websockets and pages are not in it). The test settings
# raise throttles far above this run's pace, and each throttled operation documents its 429.
MAX_EXAMPLES = 10
CONFIG = schemathesis.Config.from_dict(
    {
        # Credentials come from the roles below, never made up.
        "generation": {"deterministic": True, "with-security-parameters": False},
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Return each role's Authorization header per security scheme, and ids that exist.

    The capture path closes its database connection after each request, as Django's handler
    does, so requests commit for real: the data lives through the module's tests, and the
    database is flushed once after them, as a transactional test's is after each.
    """
    with django_db_blocker.unblock():
        assert connection.settings_dict["NAME"] == connection.creation._get_test_db_name()
        yield _world()
        ingest_key_forget()
        call_command("flush", interactive=False, verbosity=0)


def _world() -> dict:
    fan, staff = UserFactory(), UserFactory(is_staff=True)
    entry = SetlistEntryFactory(show=ShowFactory(voting_open=True))
    FollowFactory(user=fan, artist=entry.show.artist)
    notification = Notification.objects.create(
        user=fan, category="show_announced", key="conformance"
    )
    ingest = f"Bearer {ingest_key_create(name='conformance')[1]}"
    hero = experiments_services.experiment_create(
        key="conformance",
        name="Conformance",
        surface="content",
        placement="home-hero",
        variants=[
            experiments_services.VariantSpec(key="control", weight=0.5),
            experiments_services.VariantSpec(key="b", weight=0.5),
        ],
    )
    experiments_services.experiment_start(experiment=hero)
    return {
        "roles": {
            "anonymous": {},
            "fan": {
                "tokenAuth": f"Token {Token.objects.create(user=fan).key}",
                "ingestKey": ingest,
            },
            "staff": {
                "tokenAuth": f"Token {Token.objects.create(user=staff).key}",
                "ingestKey": ingest,
            },
        },
        "ids": {
            "artist_id": entry.show.artist_id,
            "show_id": entry.show_id,
            "song_id": entry.song_id,
            "notification_id": notification.id,
            "key": hero.key,
            "placement": hero.placement,
        },
    }


def _authorization(case, role: dict) -> dict:
    for requirement in case.operation.definition.raw.get("security", []):
        for scheme in requirement:
            if scheme in role:
                return {"Authorization": role[scheme]}
    return {}


def _variants(case, ids: dict):
    """Yield the case and, when it is valid and names ids, the same case naming ids that
    exist: random ids find nothing, and a 404 tells nothing of the answer's schema."""
    yield case
    known = {name: ids[name] for name in case.path_parameters or {} if name in ids}
    if known and case.meta.generation.mode is GenerationMode.POSITIVE:
        found = case.derive()
        found.path_parameters = {**case.path_parameters, **known}
        yield found


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_schema(case, world):
    for variant in _variants(case, world["ids"]):
        for name, role in world["roles"].items():
            try:
                variant.call_and_validate(headers=_authorization(variant, role), checks=CHECKS)
            except Exception as error:
                error.add_note(f"Sent as {name}.")
                raise


# Marked, it also has pytest-django make the test database when this module runs alone.
@pytest.mark.django_db
def test_the_run_tells_its_roles_apart(world):
    def answer(role: str, url: str) -> int:
        token = world["roles"][role].get("tokenAuth")
        headers = {"HTTP_AUTHORIZATION": token} if token else {}
        return APIClient().get(reverse(url), **headers).status_code

    assert answer("anonymous", "setlists-api:vote-list") == 401
    assert answer("fan", "setlists-api:vote-list") == 200
    assert answer("fan", "core-api:status") == 403
    assert answer("staff", "core-api:status") == 200
