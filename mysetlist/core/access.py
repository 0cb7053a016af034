"""Who may open a page: the one rule for the staff pages."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


def staff_required(view):
    """Let active staff through. A visitor who is not signed in goes to the site's log-in
    page and comes back; anyone else signed in gets the plain "not allowed" page (403), not
    a log-in form they cannot get past."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped
