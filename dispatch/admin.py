"""Briefings are immutable and the formula changes only through its page (the service logs
who changed it): both are for looking at here."""

from django.contrib import admin

from core.web.admin import ReadOnlyAdmin

from .models import Briefing, RankingFormula


@admin.register(Briefing)
class BriefingAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "period_start", "period_end", "edition", "generated_at"]
    list_filter = ["kind"]


@admin.register(RankingFormula)
class RankingFormulaAdmin(ReadOnlyAdmin):
    list_display = ["county", "coverage", "closeout", "overdue", "discrepancy", "updated_at"]
