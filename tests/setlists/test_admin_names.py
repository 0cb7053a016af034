"""What the admin calls things: plurals spelt as English spells them."""

import re

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_no_admin_plural_adds_s_to_a_consonant_y():
    wrong = [
        str(model._meta.verbose_name_plural)
        for model in admin.site._registry
        if re.search(r"[^aeiou]ys$", str(model._meta.verbose_name_plural))
    ]

    assert wrong == []


def test_admin_index_says_vote_tallies(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    page = client.get(reverse("admin:index")).content.decode()

    assert "Vote tallies" in page
    assert "tallys" not in page
