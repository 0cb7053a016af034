import secrets

from django.db import IntegrityError, transaction

from analytics.services import track
from mysetlist.core.exceptions import ApplicationError

from .models import User


@transaction.atomic
def user_create(*, username: str, email: str, password: str, is_staff: bool = False) -> User:
    user = User(username=username, email=email, is_staff=is_staff, is_superuser=is_staff)
    user.set_password(password)
    user.full_clean()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        # full_clean passed, so someone took the name or address a moment ago.
        raise ApplicationError("That username or email address was just taken.") from exc
    track(event="signed_up", user=user)
    return user


@transaction.atomic
def demo_staff_user_ensure(*, username: str) -> tuple[User, str]:
    """Create or reset a staff user with a fresh random password; return both."""
    password = secrets.token_urlsafe(9)
    user = User.objects.filter(username=username).first()
    if user is None:
        user = user_create(
            username=username, email=f"{username}@example.com", password=password, is_staff=True
        )
        return user, password
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save(update_fields=["is_staff", "is_superuser", "password"])
    return user, password
