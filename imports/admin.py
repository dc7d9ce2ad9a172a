from django.contrib import admin

from core.web.admin import ReadOnlyAdmin

from .models import ImportJob, ValueAlias


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


@admin.register(ValueAlias)
class ValueAliasAdmin(ReadOnlyAdmin):
    """Shown here; added and deleted by the county's staff on the alias page (/imports/aliases/),
    through ``imports.aliases.add_alias`` / ``delete_alias``."""

    list_display = ["county", "column", "alias", "official", "created_by", "created_at"]
    list_filter = ["column"]
    search_fields = ["alias", "county__name", "county__code"]
    list_select_related = ["county", "created_by"]

    @admin.display(description="规范值")
    def official(self, obj):
        return obj.official_text
