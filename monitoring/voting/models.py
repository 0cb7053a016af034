"""Vote flags: unusual voting found at a show (monitoring.voting.detect), for staff to
review. Imported into monitoring.models, where Django finds the app's models."""

from django.conf import settings
from django.db import models


class VoteFlag(models.Model):
    """One suspect (an account, an address, an hour of new accounts) at one show, with the
    evidence and the votes it is about. A rescan updates an open flag; a reviewed one stays
    as staff left it."""

    class Kind(models.TextChoices):
        ACCOUNT = "account", "One account voting far above normal"
        ADDRESS = "address", "One address voting far above normal"
        NEW_ACCOUNTS = "new_accounts", "A burst of new accounts"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        EXCLUDED = "excluded", "Votes excluded"
        DISMISSED = "dismissed", "Dismissed"

    show = models.ForeignKey("setlists.Show", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    subject_key = models.CharField(
        max_length=100, help_text="user:<id>, address:<hash>, hour:<UTC>"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    score = models.FloatField(null=True, blank=True, help_text="robust z-score against the show")
    evidence = models.JSONField(default=dict)
    vote_ids = models.JSONField(default=list, help_text="the votes the flag is about")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    excluded_votes = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["show", "kind", "subject_key"], name="vote_flag_one_per_subject"
            )
        ]
        indexes = [models.Index(fields=["status", "-last_seen_at"], name="vote_flag_status_idx")]

    def __str__(self):
        return f"show {self.show_id}: {self.kind} {self.subject_key}"
