"""Township verification: the review queue per village, its export, verify and return."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.views import View
from django.views.generic import TemplateView

from regions.choices import VERIFY
from regions.scoping import has_capability

from .. import services
from ..models import Inspection
from ..queries import review_counts, review_queue, round_villages
from .base import RoundExportView, RoundScopedMixin, redirect_next, village_querystring


class ReviewQueueView(RoundScopedMixin, TemplateView):
    template_name = "surveys/review.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        survey_round = self.get_round()
        village_code = self.request.GET.get("village", "")
        queue = review_queue(user, survey_round, village_code)
        per_village = review_counts(user, survey_round)
        village_rows = [(v, per_village.get(v.code, 0)) for v in round_villages(user, survey_round)]
        context["queue_total"] = (
            per_village.get(village_code, 0) if village_code else sum(per_village.values())
        )
        context.update(
            queue=queue[:100],
            village_rows=village_rows,
            village_code=village_code,
            can_verify=has_capability(user, VERIFY),
            querystring=village_querystring(village_code),
        )
        return context


class ReviewExportView(RoundExportView):
    kind = "export_inspections"


class InspectionTransitionView(LoginRequiredMixin, View):
    def get_inspection(self, pk):
        return get_object_or_404(
            Inspection.objects.visible_to(self.request.user).select_related("round"), pk=pk
        )

    def seen_version(self):
        """The version the reviewer looked at: a newer edit must be looked at first."""
        raw = self.request.POST.get("version", "")
        return int(raw) if raw.isdigit() else None

    def back(self, inspection):
        return redirect_next(self.request, "surveys:review", pk=inspection.round_id)


class VerifyView(InspectionTransitionView):
    def post(self, request, pk):
        inspection = self.get_inspection(pk)
        try:
            services.verify_inspection(
                actor=request.user, inspection=inspection, expected_version=self.seen_version()
            )
        except services.ConflictError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"已核查通过：{inspection.toilet}。")
        return self.back(inspection)


class ReturnView(InspectionTransitionView):
    def post(self, request, pk):
        inspection = self.get_inspection(pk)
        try:
            services.return_inspection(
                actor=request.user,
                inspection=inspection,
                reason=request.POST.get("reason", ""),
                expected_version=self.seen_version(),
            )
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        except services.ConflictError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"已退回：{inspection.toilet}，摸排员将在任务清单顶部看到。")
        return self.back(inspection)
