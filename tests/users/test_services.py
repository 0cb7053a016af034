import pytest
from django.core.exceptions import ValidationError

from mysetlist.core.exceptions import ApplicationError
from mysetlist.users.models import User
from mysetlist.users.services import user_create
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_user_create_validates_first():
    UserFactory(username="taken")

    with pytest.raises(ValidationError):
        user_create(username="taken", email="new@example.com", password="x" * 12)


def test_user_create_turns_a_lost_race_into_an_application_error(monkeypatch):
    UserFactory(username="racer", email="racer@example.com")
    # The other request committed after our validation ran: skip validation to get there.
    monkeypatch.setattr(User, "full_clean", lambda self, **kwargs: None)

    with pytest.raises(ApplicationError, match="just taken"):
        user_create(username="racer", email="racer2@example.com", password="x" * 12)
    assert User.objects.filter(username="racer").count() == 1
