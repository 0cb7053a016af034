"""Templates in admin: each save is a new version, a broken template is refused, and the
change page previews it with sample data."""

import pytest
from django.urls import reverse

from notifications.content.rendering import template_for
from notifications.models import NotificationTemplate
from tests.setlists.factories import UserFactory

pytestmark = pytest.mark.django_db

FORM = {
    "category": "show_announced",
    "locale": "en",
    "is_active": "on",
    "subject": "{{ artist }} is coming",
    "text": "{{ artist }} plays {{ show }}.",
    "html": "<p>{{ artist }} plays <b>{{ show }}</b>.</p>",
    "push_title": "{{ artist }}",
    "push_body": "{{ show }}",
    "in_app_text": "{{ artist }}: new show",
}


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_saving_a_template_makes_a_new_version_and_keeps_the_old(staff):
    add = reverse("admin:notifications_notificationtemplate_add")
    assert staff.post(add, FORM).status_code == 302
    first = NotificationTemplate.objects.get()

    change = reverse("admin:notifications_notificationtemplate_change", args=[first.pk])
    assert staff.post(change, FORM | {"subject": "New: {{ artist }}"}).status_code == 302

    versions = list(
        NotificationTemplate.objects.order_by("version").values_list("version", "subject")
    )
    assert versions == [(1, "{{ artist }} is coming"), (2, "New: {{ artist }}")]
    assert template_for("show_announced").version == 2


def test_a_template_that_does_not_compile_is_refused(staff):
    response = staff.post(
        reverse("admin:notifications_notificationtemplate_add"),
        FORM | {"text": "{% if artist %}never closed"},
    )
    assert response.status_code == 200
    assert "This template does not compile" in response.text
    assert not NotificationTemplate.objects.exists()


def test_the_change_page_previews_with_sample_data(staff):
    staff.post(reverse("admin:notifications_notificationtemplate_add"), FORM)
    template = NotificationTemplate.objects.get()

    page = staff.get(reverse("admin:notifications_notificationtemplate_change", args=[template.pk]))

    assert "The Example Band is coming" in page.text
    assert "The Example Band: new show" in page.text
    assert "Rendered in" in page.text


def test_a_variant_template_never_replaces_the_default_words(staff):
    add = reverse("admin:notifications_notificationtemplate_add")
    assert staff.post(add, FORM).status_code == 302
    assert staff.post(add, FORM | {"variant": "short", "subject": "Short"}).status_code == 302
    variant = NotificationTemplate.objects.get(variant="short")
    assert variant.version == 1  # versions count per variant
    assert template_for("show_announced").subject == "{{ artist }} is coming"
    assert template_for("show_announced", variant="short").subject == "Short"
    assert template_for("show_announced", variant="other").subject == "{{ artist }} is coming"
