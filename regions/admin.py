from django.contrib import admin

from .models import Region, RoleAssignment


class ScopedAdmin(admin.ModelAdmin):
    """The admin reads through the same scoping as every other page."""

    def get_queryset(self, request):
        return self.model.objects.visible_to(request.user)


class ReadOnlyMixin:
    """Records that only move through service calls (ledger logs, submissions, API tokens):
    shown, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyMixin, ScopedAdmin):
    pass


@admin.register(Region)
class RegionAdmin(ScopedAdmin):
    list_display = ["code", "name", "level", "parent", "abolished"]
    list_filter = ["level", "abolished"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]

    def has_delete_permission(self, request, obj=None):
        return False  # regions are marked abolished, never deleted


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ScopedAdmin):
    list_display = ["user", "role", "region"]
    list_filter = ["role"]
    search_fields = ["user__username", "region__name", "region__code"]
    raw_id_fields = ["user", "region"]
