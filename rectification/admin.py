"""The ledger in the admin is for looking only: entries move through the workflow's service
calls on the pages and the API, and the log and its evidence can never be edited or deleted."""

from django.contrib import admin

from core.web.admin import ReadOnlyAdmin

from .models import (
    AcceptanceCheck,
    Consent,
    EvidencePhoto,
    LedgerEntry,
    LedgerLog,
    PlanLog,
    RectificationPlan,
)


class LedgerLogInline(admin.TabularInline):
    model = LedgerLog
    fields = ["at", "actor", "action", "from_state", "to_state", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "state", "problem_class", "deadline", "found_in", "created_at"]
    list_filter = ["state", "problem_class"]
    raw_id_fields = ["toilet"]
    inlines = [LedgerLogInline]


@admin.register(LedgerLog)
class LedgerLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "entry", "actor", "action", "from_state", "to_state", "note"]
    list_filter = ["action", "to_state"]


@admin.register(EvidencePhoto)
class EvidencePhotoAdmin(ReadOnlyAdmin):
    list_display = ["entry", "kind", "taken_at", "distance_m", "uploaded_by"]


@admin.register(AcceptanceCheck)
class AcceptanceCheckAdmin(ReadOnlyAdmin):
    list_display = ["entry", "standard", "text", "passed"]


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ["entry", "signer_name", "signed_on", "method"]


class PlanLogInline(admin.TabularInline):
    model = PlanLog
    fields = ["at", "actor", "action", "from_state", "to_state", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RectificationPlan)
class RectificationPlanAdmin(ReadOnlyAdmin):
    """Plans move through ``rectification.plans`` on the pages only."""

    list_display = ["township", "survey_round", "state", "submissions", "submitted_at"]
    list_filter = ["state"]
    inlines = [PlanLogInline]
