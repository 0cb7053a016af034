from django.contrib import admin, messages

from mysetlist.core.admin import ReadOnlyAdminMixin
from mysetlist.core.exceptions import ApplicationError

from .models import Artist, Follow, SetlistEntry, Show, Song, Tour, Venue, Vote, VoteTally
from .services import SHOW_UPDATE_FIELDS, show_create, show_transition, show_update


@admin.register(Artist)
class ArtistAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ["name", "city", "country", "timezone"]
    list_filter = ["country"]
    search_fields = ["name", "city"]


@admin.register(Tour)
class TourAdmin(admin.ModelAdmin):
    list_display = ["name", "artist"]
    list_filter = ["artist"]
    search_fields = ["name", "artist__name"]
    list_select_related = ["artist"]


@admin.register(Song)
class SongAdmin(admin.ModelAdmin):
    list_display = ["title", "artist"]
    list_filter = ["artist"]
    search_fields = ["title"]
    list_select_related = ["artist"]


class SetlistEntryInline(admin.TabularInline):
    model = SetlistEntry
    extra = 0
    autocomplete_fields = ["song"]
    ordering = ["position"]


class VoteTallyInline(admin.TabularInline):
    """Vote counts are kept by the vote services alone, so admin only shows them."""

    model = VoteTally
    extra = 0
    can_delete = False
    fields = ["song", "upvotes", "downvotes", "score", "version"]
    readonly_fields = fields
    ordering = ["-upvotes"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Show)
class ShowAdmin(admin.ModelAdmin):
    list_display = ["date", "artist", "venue", "tour", "status"]
    list_filter = ["status", "artist", "date"]
    search_fields = ["artist__name", "venue__name", "venue__city", "tour__name"]
    date_hierarchy = "date"
    autocomplete_fields = ["artist", "venue", "tour"]
    list_select_related = ["artist", "venue", "tour"]
    inlines = [SetlistEntryInline, VoteTallyInline]
    # Status changes go through show_transition (forward only, broadcast live): use the actions.
    readonly_fields = ["status"]
    actions = ["open_voting", "lock_voting", "mark_completed"]

    def save_model(self, request, obj, form, change):
        """Save through the services, so a show added here is announced like any other."""
        data = {name: form.cleaned_data[name] for name in SHOW_UPDATE_FIELDS if name in form.fields}
        if change:
            changed = {name: value for name, value in data.items() if name in form.changed_data}
            show_update(show=obj, data=changed)
            return
        show = show_create(**data)
        # The inlines are saved against this form's instance: it becomes the created show.
        obj.pk, obj.created_at, obj.updated_at = show.pk, show.created_at, show.updated_at
        obj._state.adding, obj._state.db = False, show._state.db

    def _transition(self, request, queryset, status):
        moved = 0
        for show in queryset:
            try:
                show_transition(show=show, status=status)
                moved += 1
            except ApplicationError as error:
                self.message_user(request, f"{show}: {error.message}", messages.WARNING)
        self.message_user(request, f"{moved} show(s) now {Show.Status(status).label.lower()}.")

    @admin.action(description="Open voting")
    def open_voting(self, request, queryset):
        self._transition(request, queryset, Show.Status.VOTING_OPEN)

    @admin.action(description="Lock voting")
    def lock_voting(self, request, queryset):
        self._transition(request, queryset, Show.Status.LOCKED)

    @admin.action(description="Mark completed")
    def mark_completed(self, request, queryset):
        self._transition(request, queryset, Show.Status.COMPLETED)


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Votes are read-only here: changing one by hand would break the show's tallies."""

    list_display = ["user", "show", "song", "value", "excluded", "updated_at"]
    list_filter = ["value", "excluded", "show__status"]
    search_fields = ["user__username", "song__title", "show__artist__name"]
    list_select_related = ["user", "show__artist", "show__venue", "song"]
    readonly_fields = [
        "user", "show", "song", "value", "excluded", "excluded_at", "excluded_reason",
        "created_at", "updated_at",
    ]  # fmt: skip


@admin.register(VoteTally)
class VoteTallyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["show", "song", "upvotes", "downvotes", "version"]
    list_select_related = ["show__artist", "show__venue", "song"]
    search_fields = ["song__title", "show__artist__name"]


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ["user", "artist", "created_at"]
    list_filter = ["artist"]
    search_fields = ["user__username", "artist__name"]
    autocomplete_fields = ["artist"]
    raw_id_fields = ["user"]
    list_select_related = ["user", "artist"]
