"""The variables each category's templates take: what a sender must put in a notification's
context, and all a template may read.

A sender's context is checked against its category when the notification is sent (a
missing or unknown variable, a value of the wrong type, a link that goes elsewhere); a
template is checked when staff save it, so `{{ user.username }}` or a misspelt name is an
error at once instead of an empty space in every message.
"""

from dataclasses import dataclass, field

from django.template import engines
from django.template.base import FilterExpression, Node, TokenType, Variable
from django.template.defaulttags import FilterNode, ForNode, RegroupNode, WithNode
from django.template.loader_tags import BlockNode
from django.template.smartif import TokenBase
from django.templatetags.i18n import BlockTranslateNode

from mysetlist.core.exceptions import ApplicationError
from notifications.content.links import link_problem
from notifications.models import Category


@dataclass(frozen=True)
class Var:
    name: str
    kind: type  # str, int or list (of str)
    help: str
    required: bool = False


ARTIST = Var("artist", str, "the artist's name")
SHOW = Var("show", str, "the show: artist, date and venue")
VENUE = Var("venue", str, "where the show is: the venue and its city")
DATE = Var("date", str, "the show's date, as written (December 1, 2026)")
SHOW_ID = Var("show_id", int, "the show's id, for conversions")
URL = Var("url", str, "where the notification links: a path on this site or a linked host")


ALERT_VARIABLES = (
    Var("summary", str, "one line: how many alerts, the worst severity, the group"),
    Var("alerts", list, "one text per alert: rule, severity, value against threshold, since"),
    Var("severity", str, "the worst severity among the alerts: info, warning, critical..."),
    Var("url", str, "the staff page of these alerts, where they are acknowledged"),
)


def _required(*variables: Var) -> tuple[Var, ...]:
    return tuple(Var(v.name, v.kind, v.help, required=True) for v in variables)


_SHOW_VARIABLES = (ARTIST, SHOW, VENUE, DATE, SHOW_ID, URL)


def _show(*required: Var) -> tuple[Var, ...]:
    names = {v.name for v in required}
    return _required(*required) + tuple(v for v in _SHOW_VARIABLES if v.name not in names)


# What a sender gives, by category.
VARIABLES: dict[str, tuple[Var, ...]] = {
    Category.SHOW_ANNOUNCED: _show(ARTIST, VENUE, DATE, URL),
    Category.VOTING_OPENED: _show(SHOW, URL),
    Category.VOTING_CLOSING: _show(SHOW, URL),
    Category.VOTING_CLOSED: _show(SHOW, URL),
    Category.PREDICTION_PUBLISHED: _show(SHOW, URL),
    Category.SETLIST_POSTED: _show(ARTIST, SHOW, URL),
    Category.DIGEST: _required(Var("items", list, "the digest's lines, a list of texts"))
    + (Var("recommended", list, "upcoming shows recommended to the recipient, as texts"),),
    Category.ALERT_FIRING: _required(*ALERT_VARIABLES),
    Category.ALERT_RESOLVED: _required(*ALERT_VARIABLES),
    Category.REPORT_READY: _required(
        Var("summary", str, "one line: the report's kind and period"),
        Var("lines", list, "the report's headline figures, one text each"),
        Var("url", str, "the report's staff page, with its downloads"),
    ),
}
# What the site adds to every context when it sends: never a sender's to give.
SITE_VARIABLES = (
    Var("user", str, "the recipient's username"),
    Var("preferences_url", str, "the recipient's notification settings page"),
    Var("unsubscribe_url", str, "the recipient's one-click unsubscribe link"),
)


def variables_of(category: str) -> tuple[Var, ...]:
    """Return every variable a template of `category` may read."""
    return VARIABLES[category] + SITE_VARIABLES


def _value_problem(variable: Var, value) -> str | None:
    if variable.kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif variable.kind is list:
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
    else:
        ok = isinstance(value, str)
    if not ok:
        kind = {int: "a whole number", list: "a list of texts"}.get(variable.kind, "a text")
        return f"Must be {kind}."
    if variable.kind is str and variable.required and not value.strip():
        return "Must not be empty."
    if variable.name == "url":
        return link_problem(value)
    return None


def context_problems(*, category: str, context) -> dict[str, list[str]]:
    """Return what is wrong with a sender's context for `category`, by variable."""
    if not isinstance(context, dict):
        return {"context": ["Must be an object of variables."]}
    declared = {v.name: v for v in VARIABLES[category]}
    site = {v.name for v in SITE_VARIABLES}
    problems: dict[str, list[str]] = {}
    for variable in declared.values():
        if variable.name not in context and variable.required:
            problems[variable.name] = [f"Required: {variable.help}."]
    for name, value in context.items():
        if name in site:
            problems[name] = ["Given by the site when it sends, not by the sender."]
        elif name not in declared:
            problems[name] = [
                f"Not a variable of {category}; it takes {', '.join(sorted(declared))}."
            ]
        elif message := _value_problem(declared[name], value):
            problems[name] = [message]
    return problems


def context_check(*, category: str, context) -> None:
    """Raise ApplicationError, naming each variable, if `context` is not what `category`'s
    templates take."""
    if problems := context_problems(category=category, context=context):
        raise ApplicationError(
            f"The context does not fit {category}: {', '.join(sorted(problems))}.",
            extra={"fields": {"context": problems}},
        )


# Reading a template's variables

# Where tags that bind a name "as" they are written keep it: {% now %}, {% firstof %},
# {% url %}, {% widthratio %}, {% translate %} and {% blocktranslate %} (asvar), {% cycle %}
# (variable_name), {% regroup %} (var_name), i18n's and tz's {% get_… as x %} (variable),
# {% static %} (varname) and simple tags (target_var). The name is bound after the tag.
BINDING_ATTRIBUTES = ("asvar", "variable_name", "var_name", "variable", "varname", "target_var")
# Tags that push a context of their own for their body: what it binds ends with it.
SCOPED = (ForNode, WithNode, BlockNode)


@dataclass
class _Reading:
    found: set[str] = field(default_factory=set)  # the variables read, as written
    # those written where only a whole variable renders (a blocktranslate body), with a
    # look-up or filter that renders nothing
    broken: set[str] = field(default_factory=set)

    def read(self, written: str, scope: set[str]) -> None:
        if written.split(".", 1)[0] not in scope:
            self.found.add(written)

    def read_whole(self, written: str, scope: set[str]) -> None:
        # blocktranslate looks its placeholders up as context keys, dots and bars included
        if not written.isidentifier():
            self.found.add(written)
            self.broken.add(written)
        elif written not in scope:
            self.found.add(written)


def _expressions(value):
    """Yield the filter expressions in a template node's attribute (a tag's arguments)."""
    if isinstance(value, FilterExpression):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _expressions(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _expressions(item)
    elif isinstance(value, TokenBase):  # an {% if %} condition
        for part in ("value", "first", "second"):
            yield from _expressions(getattr(value, part, None))


def _written(expression: FilterExpression, *, subject: bool = True):
    """Yield the variables a filter expression reads, as written: its subject (unless
    `subject` is false) and its filters' variable arguments."""
    variables = [expression.var] if subject else []
    variables += [
        argument for _, arguments in expression.filters
        for is_variable, argument in arguments if is_variable
    ]  # fmt: skip
    for variable in variables:
        if isinstance(variable, Variable) and variable.lookups:
            yield ".".join(variable.lookups)


def _arguments(node: Node, scope: set[str], reading: _Reading) -> None:
    for name, value in vars(node).items():
        if name in ("token", "origin") or name.startswith("nodelist"):
            continue
        if isinstance(node, RegroupNode) and name == "expression":
            continue  # {% regroup items by x as g %}: x is looked up in each item
        for expression in _expressions(value):
            # {% filter upper %} filters its body, which Django names "var" in the expression
            subject = not (isinstance(node, FilterNode) and expression is node.filter_expr)
            for written in _written(expression, subject=subject):
                reading.read(written, scope)


def _read(nodelist, scope: set[str], reading: _Reading) -> None:
    """Note in `reading` the variables the nodes read that are not in `scope`, the names
    enclosing and earlier tags bound; add to `scope` the names the nodes bind for those after
    them, as Django's context would hold them."""
    for node in nodelist:
        if not isinstance(node, Node):
            continue
        _arguments(node, scope, reading)  # a tag's arguments are read before it binds
        if isinstance(node, BlockTranslateNode):
            inner = scope | set(node.extra_context)  # {% blocktranslate with x=… %}
            if node.countervar:  # {% blocktranslate count n=… %}
                inner.add(node.countervar)
            for token in [*node.singular, *(node.plural or [])]:
                if token.token_type == TokenType.VAR:
                    reading.read_whole(token.contents.strip(), inner)
        for attribute in node.child_nodelists:
            inner = set(scope)
            if isinstance(node, ForNode) and attribute == "nodelist_loop":
                inner |= set(node.loopvars) | {"forloop"}
            elif isinstance(node, WithNode):
                inner |= set(node.extra_context)
            _read(getattr(node, attribute, None) or [], inner, reading)
            if not isinstance(node, SCOPED):  # {% if %}: a name bound within stays bound
                scope |= inner
        for attribute in BINDING_ATTRIBUTES:
            if isinstance(bound := getattr(node, attribute, None), str):
                scope.add(bound)


def _reading(source: str) -> _Reading:
    reading = _Reading()
    template = engines["django"].from_string(source).template
    _read(template.nodelist, set(), reading)
    return reading


def template_variables(source: str) -> set[str]:
    """Return the context variables a template source reads, as written (`show`,
    `user.username`); names its own tags bind ({% for item in items %}, {% with %},
    {% blocktranslate with %} and `count`, `as` names after their tag) are left out."""
    return _reading(source).found


def template_unknown_variables(*, category: str, source: str) -> list[str]:
    """Return the variables a template source of `category` reads that no context of it
    has: an undeclared name, a look-up into a text or number (`user.username`), or a
    look-up or filter inside {% blocktranslate %}, which reads whole variables only."""
    declared = {v.name: v for v in variables_of(category)}
    reading = _reading(source)
    unknown = []
    for written in sorted(reading.found):
        name, _, rest = written.partition(".")
        variable = declared.get(name)
        if variable is None or written in reading.broken:
            unknown.append(written)
        elif rest and not (variable.kind is list and rest.split(".")[0].isdigit()):
            unknown.append(written)
    return unknown
