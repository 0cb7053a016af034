class ReadOnlyAdminMixin:
    """Shown in admin, written only by services (tallies, rollups), which keep them exact."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
