"""The words of a notification: the newest active template of its category and locale from
the database, else the built-in default; rendered by Django's template engine."""

import time
from dataclasses import dataclass

from django.template import engines

from .models import NotificationTemplate

DEFAULTS = {
    "show_announced": {
        "subject": "{{ artist }} announced a show: {{ show }}",
        "text": "{{ artist }} will play {{ show }}. Vote for the songs you want to hear: {{ url }}",
        "push_title": "New show: {{ artist }}",
        "push_body": "{{ show }}. Vote for your songs.",
        "in_app_text": "{{ artist }} announced {{ show }}.",
    },
    "voting_opened": {
        "subject": "Voting is open for {{ show }}",
        "text": "Voting opened for {{ show }}. Pick your songs: {{ url }}",
        "push_title": "Voting is open",
        "push_body": "{{ show }}: pick your songs.",
        "in_app_text": "Voting opened for {{ show }}.",
    },
    "voting_closing": {
        "subject": "Last call: voting for {{ show }} closes soon",
        "text": "Voting for {{ show }} closes soon. Vote now: {{ url }}",
        "push_title": "Voting closes soon",
        "push_body": "{{ show }}: last call.",
        "in_app_text": "Voting for {{ show }} closes soon.",
    },
    "voting_closed": {
        "subject": "Voting closed for {{ show }}",
        "text": "Voting for {{ show }} has closed. See the results: {{ url }}",
        "push_title": "Voting closed",
        "push_body": "{{ show }}: see the results.",
        "in_app_text": "Voting for {{ show }} closed.",
    },
    "prediction_published": {
        "subject": "The predicted setlist for {{ show }}",
        "text": "We predicted the setlist of {{ show }}: {{ url }}",
        "push_title": "Predicted setlist",
        "push_body": "{{ show }}: see what we expect.",
        "in_app_text": "The predicted setlist for {{ show }} is out.",
    },
    "setlist_posted": {
        "subject": "What {{ artist }} played at {{ show }}",
        "text": "The setlist of {{ show }} is posted: {{ url }}",
        "push_title": "Setlist posted",
        "push_body": "{{ show }}: what was played.",
        "in_app_text": "The setlist of {{ show }} is posted.",
    },
    "digest": {
        "subject": "Your MySetlist digest: {{ items|length }} update{{ items|pluralize }}",
        "text": "{% for item in items %}- {{ item }}\n{% endfor %}",
        "push_title": "Your digest",
        "push_body": "{{ items|length }} update{{ items|pluralize }}",
        "in_app_text": "Your digest: {{ items|length }} update{{ items|pluralize }}.",
    },
}
TEXT_FOOTER = "\n\nChange what we send you: {{ preferences_url }}\n"
HTML_WRAPPER = (
    "<p>{{ body|linebreaksbr }}</p>"
    '<p style="font-size:small"><a href="{{ preferences_url }}">Notification settings</a> · '
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
)


PARTS = ("subject", "text", "html", "push_title", "push_body", "in_app_text")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    push_title: str
    push_body: str
    in_app_text: str
    version: int | None  # None: the built-in default
    render_ms: float


def template_for(category: str, locale: str = "en") -> NotificationTemplate | None:
    return (
        NotificationTemplate.objects.filter(category=category, is_active=True, locale=locale)
        .order_by("-version")
        .first()
    )


def render(category: str, context: dict, template: NotificationTemplate | None) -> Rendered:
    started = time.perf_counter()
    engine = engines["django"]
    parts = {f: getattr(template, f) for f in PARTS} if template else DEFAULTS[category]
    out = {name: engine.from_string(source).render(context) for name, source in parts.items()}
    if not template:
        out["html"] = engine.from_string(HTML_WRAPPER).render(context | {"body": out["text"]})
        out["text"] += engine.from_string(TEXT_FOOTER).render(context)
    return Rendered(
        subject=" ".join(out["subject"].split())[:200],
        text=out["text"],
        html=out["html"],
        push_title=out["push_title"],
        push_body=out["push_body"],
        in_app_text=out["in_app_text"],
        version=template.version if template else None,
        render_ms=(time.perf_counter() - started) * 1000,
    )
