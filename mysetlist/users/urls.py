from django.contrib.auth import views as auth_views
from django.urls import path
from django_ratelimit.decorators import ratelimit

from . import views

app_name = "users"

urlpatterns = [
    path(
        "signup/",
        ratelimit(key="ip", rate=views.login_rate, method="POST", block=True)(views.signup),
        name="signup",
    ),
    path(
        "login/",
        ratelimit(key="ip", rate=views.login_rate, method="POST", block=True)(
            auth_views.LoginView.as_view()
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
