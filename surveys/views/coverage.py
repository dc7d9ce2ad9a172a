"""Progress and coverage (全覆盖) of a round, the toilets not yet inspected, their exports."""

from django.views.generic import ListView, TemplateView

from ..queries import missing_toilets, sum_rows, surveyor_counts, village_counts
from .base import RoundExportView, RoundScopedMixin, village_querystring


class ProgressView(RoundScopedMixin, TemplateView):
    """Village and surveyor progress (for the township, and everybody above it)."""

    template_name = "surveys/progress.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        survey_round = self.get_round()
        rows = village_counts(user, survey_round)
        surveyors = surveyor_counts(user, survey_round)
        context.update(rows=rows, total=sum_rows(rows), surveyors=surveyors)
        return context


class CoverageView(RoundScopedMixin, TemplateView):
    """全覆盖: registered vs inspected vs verified per township and village."""

    template_name = "surveys/coverage.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = village_counts(self.request.user, self.get_round())
        townships = {}
        for row in rows:
            townships.setdefault(row["village"].parent, []).append(row)
        context.update(
            townships=[(t, vs, sum_rows(vs)) for t, vs in townships.items()],
            total=sum_rows(rows),
        )
        return context


class MissingToiletsView(RoundScopedMixin, ListView):
    """The toilets nobody has inspected yet in this round (不漏一户)."""

    template_name = "surveys/missing.html"
    paginate_by = 50

    def get_queryset(self):
        return missing_toilets(
            self.request.user, self.get_round(), self.request.GET.get("village", "")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        village_code = self.request.GET.get("village", "")
        context["querystring"] = village_querystring(village_code)
        return context


class CoverageExportView(RoundExportView):
    kind = "export_coverage"


class MissingExportView(RoundExportView):
    kind = "export_missing"
