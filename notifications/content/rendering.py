"""The words of a notification: the newest active template of its category and locale from
the database, else the built-in default; rendered by Django's template engine.

A template's source is compiled once per process and kept (by its text, so an edited
template is compiled afresh), and only the parts a channel shows are rendered. A part made
only of text and variables depends on nothing but those variables' values (and the active
language and timezone), so its output is kept by them: a fan-out tells thousands of users
the same show, and only the parts naming the user or their own links render for each.
"""

import html
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache

from django.template import engines
from django.template.base import TextNode, Variable, VariableNode
from django.utils import timezone, translation
from django.utils.safestring import SafeData, SafeString, mark_safe

from notifications.models import NotificationTemplate

DEFAULTS = {
    "show_announced": {
        "subject": "{{ artist }} announced a show: {{ venue }} on {{ date }}",
        "text": "{{ artist }} will play {{ venue }} on {{ date }}. "
        "Vote for the songs you want to hear: {{ url }}",
        "push_title": "New show: {{ artist }}",
        "push_body": "{{ venue }} on {{ date }}. Vote for your songs.",
        "in_app_text": "{{ artist }} will play {{ venue }} on {{ date }}.",
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
        "text": "{% for item in items %}- {{ item }}\n{% endfor %}"
        "{% if recommended %}\nYou might like:\n"
        "{% for show in recommended %}- {{ show }}\n{% endfor %}{% endif %}",
        "push_title": "Your digest",
        "push_body": "{{ items|length }} update{{ items|pluralize }}",
        "in_app_text": "Your digest: {{ items|length }} update{{ items|pluralize }}.",
    },
    "alert_firing": {
        "subject": "[{{ severity|upper }}] {{ summary }}",
        "text": "{{ summary }}\n\n{% for alert in alerts %}- {{ alert }}\n{% endfor %}"
        "\nSee or acknowledge: {{ url }}",
        "push_title": "[{{ severity|upper }}] alert firing",
        "push_body": "{{ summary }}",
        "in_app_text": "Firing: {{ summary }}",
    },
    "alert_resolved": {
        "subject": "[RESOLVED] {{ summary }}",
        "text": "{{ summary }}\n\n{% for alert in alerts %}- {{ alert }}\n{% endfor %}"
        "\nSee them: {{ url }}",
        "push_title": "Alert resolved",
        "push_body": "{{ summary }}",
        "in_app_text": "Resolved: {{ summary }}",
    },
    "report_ready": {
        "subject": "{{ summary }}",
        "text": "{{ summary }}\n\n{% for line in lines %}- {{ line }}\n{% endfor %}"
        "\nThe report, its charts and downloads: {{ url }}",
        "push_title": "Report ready",
        "push_body": "{{ summary }}",
        "in_app_text": "{{ summary }}",
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


def template_for(
    category: str, locale: str = "en", variant: str = ""
) -> NotificationTemplate | None:
    """Return the newest active template of the category, locale and experiment variant;
    the default words (no variant) where the variant has none of its own."""
    found = (
        NotificationTemplate.objects.filter(
            category=category, is_active=True, locale=locale, variant=variant
        )
        .order_by("-version")
        .first()
    )
    if found is None and variant:
        return template_for(category, locale)
    return found


# Filters whose output is not a function of their input alone.
_IMPURE_FILTERS = {"random", "timesince", "timeuntil"}
# Filters that read neither the active language nor the timezone.
_LOCALE_FREE_FILTERS = {
    "capfirst", "escape", "force_escape", "linebreaks", "linebreaksbr", "lower", "pluralize",
    "safe", "striptags", "title", "upper", "urlencode",
}  # fmt: skip
# Values whose type and value say all a template can read of them; numbers are shown as
# the active language writes them.
_PLAIN = {str, SafeString, bool, type(None), int, float}
_NUMBERS = {int, float}
_TEXT = {str, SafeString}
_MISSING = object()


def _reads(nodelist) -> tuple[tuple[str, ...], frozenset[str], bool] | None:
    """What a template of text and variables reads: the context variables, those of them
    only ever shown as they are (`{{ name }}`, no filter, no attribute), and whether the
    active language or timezone matters. None if it has anything else (tags, impure
    filters): then its output is not kept."""
    names, filtered, bare, localized = set(), set(), set(), False
    for node in nodelist:
        if isinstance(node, TextNode):
            continue
        if not isinstance(node, VariableNode):
            return None
        expression = node.filter_expression
        variables = [expression.var]
        for function, arguments in expression.filters:
            name = getattr(function, "__name__", "")
            if name in _IMPURE_FILTERS:
                return None
            localized = localized or name not in _LOCALE_FREE_FILTERS
            variables += [argument for is_variable, argument in arguments if is_variable]
        for variable in variables:
            if not isinstance(variable, Variable):  # a constant, resolved when compiled
                localized = localized or type(variable) not in (str, SafeString)
            else:
                localized = localized or variable.translate or type(variable.literal) in _NUMBERS
                if variable.lookups:
                    names.add(variable.lookups[0])
                    plain = variable is expression.var and not expression.filters
                    if plain and len(variable.lookups) == 1 and not variable.translate:
                        bare.add(variable.lookups[0])
                    else:
                        filtered.add(variable.lookups[0])
    return tuple(sorted(names)), frozenset(bare - filtered), localized


_SLOT = f"\x00{uuid.uuid4().hex}:{{}}\x00"  # stands in for a bare variable's text


def _escape(value: str) -> str:
    """conditional_escape() for a string, without its lazy-string wrapper."""
    return value if isinstance(value, SafeData) else html.escape(value)


class _Part:
    """A compiled template and its outputs by the values it reads, when it reads only
    those. A string shown bare (a user's own link) needs no rendering either when it is
    new: the output for the other values is kept with a stand-in for it, replaced by the
    value escaped as the template would."""

    KEEP = 1024  # outputs kept a part; forgotten all at once past that

    def __init__(self, engine, source: str):
        self.template = engine.from_string(source)
        self.escape = _escape if engine.engine.autoescape else str
        self.reads = _reads(self.template.template.nodelist)
        self.outputs: dict[tuple, str] = {}

    def render(self, context: dict, scope) -> str:
        """Render, or use the output kept for the same values; `scope()` gives the active
        language and timezone, asked only when the output may depend on them."""
        if self.reads is None:
            return self.template.render(context)
        values = self._values(context)
        if values is None:
            return self.template.render(context)  # a list, a model: rendered each time
        key = values + self._scope(values, scope)
        if (output := self.outputs.get(key)) is not None:
            return output
        output, fills = self.blank(context, scope, values)
        return self._keep(key, self.fill(output, fills)) if fills else output

    def blank(self, context: dict, scope, values=None) -> tuple[str, list[tuple[str, str]]]:
        """The output with stand-ins for the strings shown bare, and those strings; or the
        whole output and none when it cannot be kept."""
        if self.reads is None or (values := values or self._values(context)) is None:
            return self.template.render(context), []
        names, bare, _ = self.reads
        fills = [
            (name, value)
            for name, (kind, value) in zip(names, values, strict=True)
            if name in bare and kind in _TEXT
        ]
        filled = {name for name, _ in fills}
        shape = tuple(
            _SLOT if name in filled else kept for name, kept in zip(names, values, strict=True)
        ) + self._scope(values, scope)
        if (output := self.outputs.get(shape)) is None:
            stand_ins = {name: _SLOT.format(name) for name in filled}
            output = self._keep(shape, self.template.render(context | stand_ins))
        return output, fills

    def fill(self, output: str, fills: list[tuple[str, str]]) -> str:
        """Put the strings in place of their stand-ins, escaped as the template would."""
        for name, value in fills:
            output = output.replace(_SLOT.format(name), self.escape(value))
        return mark_safe(output) if fills else output  # as safe as the engine's own

    def _values(self, context: dict) -> tuple | None:
        values = []
        for name in self.reads[0]:
            value = context.get(name, _MISSING)
            kind = type(value)
            if value is not _MISSING and kind not in _PLAIN:
                return None
            values.append((kind, value))
        return tuple(values)

    def _scope(self, values: tuple, scope) -> tuple:
        localized = self.reads[2] or any(kind in _NUMBERS for kind, _ in values)
        return (scope(),) if localized else ()

    def _keep(self, key: tuple, output: str) -> str:
        if len(self.outputs) >= self.KEEP:
            self.outputs.clear()
        self.outputs[key] = output
        return output


@lru_cache(maxsize=512)
def _compile(engine, source: str) -> _Part:
    return _Part(engine, source)


def _compiled(source: str) -> _Part:
    # Keyed by the engine too: a settings change (in tests) makes a new one.
    return _compile(engines["django"], source)


def render(
    category: str,
    context: dict,
    template: NotificationTemplate | None,
    parts: tuple[str, ...] = PARTS,
) -> Rendered:
    """Render the `parts` a channel shows (every part unless told); the others are empty."""
    started = time.perf_counter()
    sources = {f: getattr(template, f) for f in PARTS} if template else DEFAULTS[category]
    # The built-in html wraps the rendered text, so it needs the text rendered first.
    wrapped = not template and "html" in parts
    wanted = [name for name in sources if name in parts or (wrapped and name == "text")]
    asked = []

    def scope() -> tuple:
        if not asked:
            asked.append((translation.get_language(), timezone.get_current_timezone_name()))
        return asked[0]

    out = dict.fromkeys(PARTS, "") | {
        name: _compiled(sources[name]).render(context, scope)
        for name in wanted
        if not (wrapped and name == "text")
    }
    if wrapped:
        # The text goes into the html with its stand-ins (a per-delivery link, say), so
        # the wrapped html is kept too; linebreaksbr would turn a newline in one.
        text = _compiled(sources["text"])
        blank, fills = text.blank(context, scope)
        if any("\n" in value or "\r" in value for _, value in fills):
            blank, fills = text.render(context, scope), []
        wrapper = _compiled(HTML_WRAPPER)
        html, own = wrapper.blank(context | {"body": blank}, scope)
        out["html"], out["text"] = wrapper.fill(html, fills + own), text.fill(blank, fills)
    if "text" not in parts:
        out["text"] = ""
    elif not template:
        out["text"] += _compiled(TEXT_FOOTER).render(context, scope)
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
