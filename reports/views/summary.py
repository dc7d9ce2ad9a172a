"""报表's index and the live summary table of a region.

Every read goes through ``visible_to(user)`` (another region's round or region is a 404)."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.urls import reverse
from django.views.generic import TemplateView

from regions.choices import MANAGE_SEAL, Level
from regions.scoping import has_capability, scope_of

from .. import services
from ..progress import can_see_progress
from ..queries import latest_by_round, reported_rounds
from ..rollups import current_summary
from ..sheet import row_label
from .base import RoundMixin, unit_page
from .tables import table_context


class IndexView(LoginRequiredMixin, TemplateView):
    """报表: each round with its summary table and the own unit's submission page."""

    template_name = "reports/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        scope = scope_of(user)
        unit = scope.region if scope is not None else None
        rounds = reported_rounds(user)
        latest = {}
        if unit is not None and unit.level in (Level.COUNTY, Level.TOWNSHIP):
            latest = latest_by_round(user, unit, rounds)
        for survey_round in rounds:
            survey_round.latest = latest.get(survey_round.pk)
            survey_round.unit_url = (
                unit_page(survey_round, unit)
                if unit is not None and unit.code.startswith(survey_round.county.prefix)
                else unit_page(survey_round, survey_round.county)
            )
        context.update(
            rounds=rounds,
            unit=unit,
            can_seal=has_capability(user, MANAGE_SEAL) and services.seal_unit(user) is not None,
            can_progress=can_see_progress(user, scope),
        )
        return context


class SummaryView(RoundMixin, TemplateView):
    """The live table of a region (the user's own by default), built inline: data errors with
    links first, then the table, then the broken rules with their rows and cells marked."""

    template_name = "reports/summary.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        survey_round = self.get_round()
        region = self.get_region(self.kwargs.get("code"))
        summary = current_summary(survey_round, region, user=user)
        visible = set(
            self.round_regions()
            .filter(code__in=[row.code for row in summary.rows])
            .exclude(pk=region.pk)
            .values_list("code", flat=True)
        )
        links = {
            code: reverse("reports:summary-region", kwargs={"pk": survey_round.pk, "code": code})
            for code in visible
        }
        crumbs = [
            a
            for a in self.round_regions().filter(code__in=[a.code for a in region.ancestors()])
            if a.pk != region.pk and a.code.startswith(survey_round.county.prefix)
        ]
        context.update(
            round=survey_round,
            region=region,
            summary=summary,
            crumbs=crumbs,
            unit_url=unit_page(survey_round, region),
            **table_context(
                survey_round,
                summary.rows,
                summary.total,
                summary.violations,
                links,
                row_label(region.level),
            ),
        )
        return context
