"""Admin of vote flags: read-only evidence, and two decisions (actions) that go through the
services. Imported by monitoring.admin."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from monitoring.voting import services
from monitoring.voting.models import VoteFlag
from mysetlist.core.exceptions import ApplicationError

# How each evidence key reads, in the order shown; any other key follows under its own name.
EVIDENCE_WORDS = {
    "reasons": "Why",
    "votes": "Votes",
    "voters": "Voters at the show",
    "accounts": "Accounts at this address",
    "new_accounts": "New accounts voting this hour",
    "account_age_under_hours": "New means made less than (hours) before voting",
    "median": "Usual (median)",
    "mad_scaled": "Usual spread (1.4826 × MAD)",
    "score": "Robust z-score",
    "busiest_minute": "Most votes in one minute",
    "rate_limit_per_minute": "Vote rate limit per minute",
    "window": "Window (UTC)",
    "hours_compared": "Earlier hours compared",
    "addresses": "Addresses at the show",
    "votes_by_account": "Votes by account (user id: votes)",
    "first_vote": "First vote",
    "last_vote": "Last vote",
    "user_id": "User id",
    "address_hash": "Address (keyed hash)",
    "example_vote_ids": "Example votes",
}


def _readable(value) -> str:
    if isinstance(value, list):
        return ", ".join(_readable(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_readable(v)}" for k, v in value.items())
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@admin.register(VoteFlag)
class VoteFlagAdmin(admin.ModelAdmin):
    list_display = [
        "show", "kind", "subject_key", "status", "score_shown", "votes", "last_seen_at",
        "reviewed_by",
    ]  # fmt: skip
    list_filter = ["status", "kind", "last_seen_at"]
    search_fields = ["subject_key", "show__artist__name"]
    list_select_related = ["show__artist", "show__venue", "reviewed_by"]
    fields = [
        "show", "kind", "subject_key", "status", "score", "evidence_table", "votes_link",
        "first_seen_at", "last_seen_at", "reviewed_by", "reviewed_at", "excluded_votes",
    ]  # fmt: skip
    readonly_fields = fields
    actions = ["exclude_votes", "dismiss"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="score", ordering="score")
    def score_shown(self, flag):
        return "—" if flag.score is None else f"{flag.score:.1f}"

    @admin.display(description="votes")
    def votes(self, flag):
        return len(flag.vote_ids)

    @admin.display(description="evidence")
    def evidence_table(self, flag):
        evidence = dict(flag.evidence or {})
        keys = [k for k in EVIDENCE_WORDS if k in evidence]
        keys += sorted(k for k in evidence if k not in EVIDENCE_WORDS)
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td></tr>",
            ((EVIDENCE_WORDS.get(k, k), _readable(evidence[k])) for k in keys),
        )
        return format_html("<table>{}</table>", rows)

    @admin.display(description="the flagged votes")
    def votes_link(self, flag):
        ids = ",".join(map(str, flag.vote_ids[:500]))
        url = reverse("admin:setlists_vote_changelist") + f"?id__in={ids}"
        return format_html('<a href="{}">{} vote(s)</a>', url, len(flag.vote_ids))

    def _review(self, request, queryset, service, done: str):
        for flag in queryset:
            try:
                service(flag=flag, by=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{flag}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{flag}: {done}.")

    @admin.action(description="Exclude flagged votes from counts", permissions=["change"])
    def exclude_votes(self, request, queryset):
        self._review(request, queryset, services.vote_flag_exclude, "votes excluded")

    @admin.action(description="Dismiss", permissions=["change"])
    def dismiss(self, request, queryset):
        self._review(request, queryset, services.vote_flag_dismiss, "dismissed")
