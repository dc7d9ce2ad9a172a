from django.contrib import admin

from core.web.admin import ReadOnlyAdmin

from .models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "original_name",
        "round_name",
        "region",
        "created_by",
        "status",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status"]
    search_fields = ["original_name", "round_name", "created_by__username"]
    list_select_related = ["region", "created_by"]
    readonly_fields = [
        "file",
        "original_name",
        "round_name",
        "region",
        "created_by",
        "status",
        "done",
        "total",
        "message",
        "result",
        "created_at",
        "checked_at",
        "confirmed_at",
        "finished_at",
    ]
