from django.contrib import admin
from django.contrib.auth import login
from django.shortcuts import redirect, render

from mysetlist.core.exceptions import ApplicationError

from .forms import SignUpForm
from .services import user_create
from .throttles import logins_limited


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


# The admin's own log-in page, its attempts limited like the site's log-in, per username too.
admin_login = logins_limited(admin.site.login, group="admin-login")
