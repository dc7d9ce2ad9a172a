"""Briefings are immutable and the formula changes only through its page (the service logs
who changed it); the work-process problems change only through their services (each move is
logged): all are for looking at here."""

from django.contrib import admin

from core.web.admin import ReadOnlyAdmin

from .models import Briefing, RankingFormula, UnitBriefing, WorkProblem, WorkProblemLog


@admin.register(Briefing)
class BriefingAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "period_start", "period_end", "edition", "generated_at"]
    list_filter = ["kind"]


@admin.register(UnitBriefing)
class UnitBriefingAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "period_start", "period_end", "edition", "generated_at"]
    list_filter = ["kind"]


@admin.register(RankingFormula)
class RankingFormulaAdmin(ReadOnlyAdmin):
    list_display = ["region", "coverage", "closeout", "overdue", "discrepancy", "updated_at"]


@admin.register(WorkProblem)
class WorkProblemAdmin(ReadOnlyAdmin):
    list_display = ["title", "region", "category", "state", "deadline", "responsible"]
    list_filter = ["state", "category"]
    search_fields = ["title", "responsible"]


@admin.register(WorkProblemLog)
class WorkProblemLogAdmin(ReadOnlyAdmin):
    list_display = ["problem", "action", "from_state", "to_state", "actor", "at"]
