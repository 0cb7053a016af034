from django.contrib.auth.models import AbstractUser
from django.db import models
from timezone_field import TimeZoneField


class User(AbstractUser):
    email = models.EmailField("email address", unique=True)
    timezone = TimeZoneField(default="UTC")

    class Meta:
        ordering = ["username"]

    def __str__(self):
        return self.username
