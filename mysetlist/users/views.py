from django.conf import settings
from django.contrib import admin
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django_ratelimit.decorators import ratelimit

from mysetlist.core.exceptions import ApplicationError

from .forms import SignUpForm
from .services import user_create


def signup(request):
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_create(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("setlists:artist-list")
    return render(request, "users/signup.html", {"form": form})


def login_rate(group, request) -> str:
    return settings.LOGIN_RATE


# The admin's own log-in page, its attempts limited per address as the site's log-in is: each
# counted before the password is looked at (the cache's atomic increment), so parallel
# guesses never pass the limit; not per username, or anyone could lock an admin out.
admin_login = ratelimit(key="ip", rate=login_rate, method="POST", block=True)(admin.site.login)
