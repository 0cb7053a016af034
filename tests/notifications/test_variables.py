"""The variables each category's templates take: a sender's context is checked against
them, and so is a template staff save; the show-announced words read well."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from mysetlist.core.exceptions import ApplicationError
from mysetlist.setlists.services import show_create
from notifications.content.rendering import DEFAULTS, render
from notifications.content.variables import (
    VARIABLES,
    context_problems,
    template_unknown_variables,
    template_variables,
)
from notifications.models import Notification, NotificationTemplate
from notifications.services import notify
from tests.notifications.test_admin import FORM
from tests.setlists.factories import (
    ArtistFactory,
    FollowFactory,
    UserFactory,
    VenueFactory,
)

pytestmark = pytest.mark.django_db

ANNOUNCED = {"artist": "A", "venue": "B, C", "date": "May 1", "url": "/shows/1/"}


def test_an_empty_context_is_refused_naming_each_required_variable():
    assert set(context_problems(category="show_announced", context={})) == {
        "artist", "venue", "date", "url",
    }  # fmt: skip
    assert set(context_problems(category="digest", context={})) == {"items"}

    with pytest.raises(ApplicationError) as error:
        notify(category="show_announced", user_ids=[1], key="k", context={})
    assert "artist" in error.value.extra["fields"]["context"]


@pytest.mark.parametrize(
    ("context", "bad"),
    [
        (ANNOUNCED | {"tickets": "x"}, "tickets"),  # not a variable of the category
        (ANNOUNCED | {"user": "someone"}, "user"),  # the site's to give
        (ANNOUNCED | {"unsubscribe_url": "/x"}, "unsubscribe_url"),
        (ANNOUNCED | {"artist": ["A"]}, "artist"),
        (ANNOUNCED | {"artist": "  "}, "artist"),
        (ANNOUNCED | {"show_id": "1"}, "show_id"),
        (ANNOUNCED | {"show_id": True}, "show_id"),
    ],
)
def test_a_context_with_a_wrong_variable_is_refused_naming_it(context, bad):
    assert list(context_problems(category="show_announced", context=context)) == [bad]


def test_every_category_has_declared_variables_its_default_template_reads():
    for category, parts in DEFAULTS.items():
        assert category in VARIABLES
        for source in parts.values():
            assert template_unknown_variables(category=category, source=source) == []


def test_the_send_api_refuses_an_empty_context_with_a_json_400():
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))

    response = client.post(
        reverse("notifications-api:send"),
        {"category": "show_announced", "key": "k", "context": {}, "user_ids": [UserFactory().pk]},
        format="json",
    )

    assert response.status_code == 400
    fields = response.json()["extra"]["fields"]["context"]
    assert set(fields) == {"artist", "venue", "date", "url"}
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("{{ artist }} {{ user.username }}", {"artist", "user.username"}),
        ("{% for item in items %}{{ item|upper }}{{ forloop.counter }}{% endfor %}", {"items"}),
        ("{% if venue %}{{ a|default:b }}{% else %}{{ items.0 }}{% endif %}",
         {"venue", "a", "b", "items.0"}),
        ("{% with x=artist %}{{ x }}{% endwith %}{{ x }}", {"artist", "x"}),
        # blocktranslate bodies, their with and count bindings, and the old blocktrans
        ("{% load i18n %}{% blocktranslate %}{{ tickets }}{% endblocktranslate %}", {"tickets"}),
        ("{% load i18n %}{% blocktrans %}{{ artist }} at {{ venue }}{% endblocktrans %}",
         {"artist", "venue"}),
        ("{% load i18n %}{% blocktranslate with x=artist|upper y=venue %}{{ x }} {{ y }} {{ show }}"
         "{% endblocktranslate %}{{ x }}", {"artist", "venue", "show", "x"}),
        ("{% load i18n %}{% blocktranslate count n=items|length %}{{ n }} item, {{ a }}"
         "{% plural %}{{ n }} items, {{ b }}{% endblocktranslate %}", {"items", "a", "b"}),
        ("{% load i18n %}{% blocktranslate asvar text %}{{ artist }}{% endblocktranslate %}"
         "{{ text }}", {"artist"}),
        ("{% load i18n %}{% translate 'Hi' as hi %}{% get_current_language as lang %}"
         "{{ hi }}{{ lang }}", set()),
        # a filter's subject is its body, not a variable; its arguments are read
        ("{% filter upper %}{{ artist }}{% endfilter %}", {"artist"}),
        ("{% filter default:venue|lower %}{{ artist }}{% endfilter %}", {"artist", "venue"}),
        # names a tag binds with "as" are bound after it, not before
        ('{{ year }}{% now "Y" as year %}{{ year }}', {"year"}),
        ("{% regroup items by x as groups %}{% for g in groups %}{{ g.grouper }}"
         "{% for i in g.list %}{{ i }}{% endfor %}{% endfor %}", {"items"}),
        ("{% cycle artist venue as c silent %}{{ c }}", {"artist", "venue"}),
        ("{% firstof artist show as name %}{{ name }}", {"artist", "show"}),
        ("{% url 'notifications:preferences' as where %}{{ where }}", set()),
        ("{% widthratio a b 100 as w %}{{ w }}", {"a", "b"}),
        ("{% if artist %}{% now 'Y' as year %}{% endif %}{{ year }}", {"artist"}),
        # a for loop's and a with's own context ends with it
        ("{% for i in items %}{% now 'Y' as year %}{% empty %}{{ i }}{% endfor %}{{ year }}",
         {"items", "i", "year"}),
        ("{% with x=artist %}{% now 'Y' as year %}{% endwith %}{{ year }}", {"artist", "year"}),
    ],
)  # fmt: skip
def test_template_variables_reads_what_a_template_reads(source, names):
    assert template_variables(source) == names


def test_template_unknown_variables_names_undeclared_ones_and_lookups_into_text():
    source = "{{ artist }} {{ user.username }} {{ tickets }} {{ venue.city }} {{ user }}"
    assert template_unknown_variables(category="show_announced", source=source) == [
        "tickets", "user.username", "venue.city",
    ]  # fmt: skip
    assert template_unknown_variables(category="digest", source="{{ items.0 }}") == []
    assert template_unknown_variables(category="digest", source="{{ artist }}") == ["artist"]


@pytest.mark.parametrize(
    ("source", "unknown"),
    [
        ("{% load i18n %}{% blocktranslate %}{{ tickets }}{% endblocktranslate %}", ["tickets"]),
        ("{% load i18n %}{% blocktranslate with x=tickets %}{{ x }}{% endblocktranslate %}",
         ["tickets"]),
        ("{% load i18n %}{% blocktranslate with x=artist %}{{ x }} {{ venue }}"
         "{% endblocktranslate %}", []),
        ("{% load i18n %}{% blocktranslate count n=artist|length %}{{ n }} {{ artist }}"
         "{% plural %}{{ n }} {{ tickets }}{% endblocktranslate %}", ["tickets"]),
        # blocktranslate reads whole variables only: a look-up or filter there renders empty
        ("{% load i18n %}{% blocktranslate %}{{ items.0 }}{% endblocktranslate %}", ["items.0"]),
        ("{% load i18n %}{% blocktranslate %}{{ artist|upper }}{% endblocktranslate %}",
         ["artist|upper"]),
        ("{% filter upper %}{{ artist }}{% endfilter %}", []),
        ('{% now "Y" as year %}{{ artist }} {{ year }}', []),
        ("{% regroup items by x as groups %}{% for g in groups %}{{ g.grouper }}{% endfor %}",
         []),
    ],
)  # fmt: skip
def test_template_unknown_variables_reads_tags_as_django_renders_them(source, unknown):
    category = "digest" if "items" in source else "show_announced"
    assert template_unknown_variables(category=category, source=source) == unknown


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_refuses_a_template_with_an_unknown_variable_naming_it(staff):
    response = staff.post(
        reverse("admin:notifications_notificationtemplate_add"),
        FORM | {"text": "Hello {{ user.username }}, {{ artist }} plays {{ tickets }}."},
    )

    assert response.status_code == 200
    assert "Unknown variables tickets, user.username" in response.text
    assert not NotificationTemplate.objects.exists()


def test_admin_lists_the_variables_each_category_takes(staff):
    add = staff.get(reverse("admin:notifications_notificationtemplate_add")).text
    assert "Variables it takes" in add
    for category in VARIABLES:
        assert f"<b>{category}</b>" in add
    staff.post(reverse("admin:notifications_notificationtemplate_add"), FORM)

    change = staff.get(
        reverse(
            "admin:notifications_notificationtemplate_change",
            args=[NotificationTemplate.objects.get().pk],
        )
    ).text
    assert "<b>show_announced</b>" in change and "<b>digest</b>" not in change
    assert "venue (where the show is: the venue and its city, required)" in change


# The show-announced words


def test_the_show_announced_email_names_the_artist_once_then_venue_city_and_date(
    django_capture_on_commit_callbacks,
):
    artist = ArtistFactory(name="The Velvet Orchards")
    fan = FollowFactory(artist=artist).user

    with django_capture_on_commit_callbacks(execute=True):
        show_create(
            artist=artist,
            venue=VenueFactory(name="Example Hall", city="Chicago"),
            date=dt.date(2030, 12, 1),
        )

    [email] = mail.outbox
    assert email.to == [fan.email]
    assert email.subject == (
        "The Velvet Orchards announced a show: Example Hall, Chicago on December 1, 2030"
    )
    assert email.body.startswith(
        "The Velvet Orchards will play Example Hall, Chicago on December 1, 2030. "
        "Vote for the songs you want to hear: "
    )
    assert email.body.count("The Velvet Orchards") == 1
    words = render("show_announced", Notification.objects.get().context, None)
    assert words.in_app_text == (
        "The Velvet Orchards will play Example Hall, Chicago on December 1, 2030."
    )


def test_a_show_without_a_venue_is_announced_without_one(django_capture_on_commit_callbacks):
    artist = ArtistFactory(name="The Velvet Orchards")
    FollowFactory(artist=artist)

    with django_capture_on_commit_callbacks(execute=True):
        show_create(artist=artist, venue=None, date=dt.date(2030, 12, 1))

    [email] = mail.outbox
    assert email.body.startswith(
        "The Velvet Orchards will play a venue to be announced on December 1, 2030."
    )
