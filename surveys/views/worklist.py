"""The surveyor's worklist: the village's toilets for the open (or a chosen) round."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import get_object_or_404
from django.views.generic import TemplateView

from regions.choices import INSPECT
from regions.scoping import has_capability

from ..choices import InspectionStatus, RoundKind
from ..models import SurveyRound
from ..queries import current_round, worklist_toilets


class WorklistView(LoginRequiredMixin, TemplateView):
    """The village's toilets for the open round: returned first, then not yet surveyed (with
    toilets still open from an earlier round flagged for re-check), then the rest."""

    template_name = "surveys/worklist.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        round_id = self.request.GET.get("round")
        rounds = SurveyRound.objects.visible_to(user)
        survey_round = (
            get_object_or_404(rounds.select_related("county"), pk=round_id)
            if round_id and round_id.isdigit()
            else current_round(user)
        )
        context["round"] = survey_round
        if survey_round is None:
            return context
        rows = list(worklist_toilets(user, survey_round))
        context.update(
            toilets=rows,
            remaining=sum(1 for t in rows if t.inspection_status is None),
            returned=sum(1 for t in rows if t.inspection_status == InspectionStatus.RETURNED),
            done=sum(1 for t in rows if t.inspection_status is not None),
            can_inspect=has_capability(user, INSPECT),
            is_look_back=survey_round.kind == RoundKind.LOOK_BACK,
        )
        return context
