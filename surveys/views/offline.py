"""What a surveyor's phone keeps for working without a connection: the open round's worklist
of the surveyor's village as data (toilets, households, their inspections so far, last
round's findings, the problem categories), and the inspection form as an empty shell that
the phone fills in from that data for a toilet whose form it never opened."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import FormView

from core.web.views import url_for_each
from regions.choices import INSPECT

from ..choices import PROBLEM_USABILITY, CheckMethod, InspectionStatus, Usability
from ..forms import InspectionForm
from ..models import Inspection, ProblemCategory, SurveyRound
from ..queries import current_round, worklist_toilets
from ..services import require


def _last4(id_number: str) -> str:
    return id_number[-4:] if id_number else ""


def _findings(inspections) -> dict[int, dict]:
    """Toilet id → {"usability", "usability_label", "categories"} of those inspections."""
    found = {}
    for inspection in inspections:
        found[inspection.toilet_id] = {
            "usability": inspection.usability,
            "usability_label": inspection.get_usability_display(),
            "categories": [c.code for c in inspection.categories.all()],
            "category_labels": [c.name for c in inspection.categories.all()],
        }
    return found


def worklist_data(user, survey_round) -> dict:
    """The round's worklist as the phone keeps it. Read through the same scoping as the
    worklist page; a fixed number of queries whatever the number of toilets."""
    toilets = list(worklist_toilets(user, survey_round))
    ids = [t.pk for t in toilets]
    current = {
        i.toilet_id: i
        for i in Inspection.objects.filter(round=survey_round, toilet_id__in=ids)
        .annotate(photo_count=Count("photos"))
        .prefetch_related("categories")
    }
    findings = _findings(current.values())
    previous = {}
    if survey_round.previous_id:
        previous = _findings(
            Inspection.objects.filter(
                round_id=survey_round.previous_id, toilet_id__in=ids
            ).prefetch_related("categories")
        )
    rows = []
    inspect_url = url_for_each("surveys:inspect", survey_round.pk)
    for toilet in toilets:
        household = toilet.household
        inspection = current.get(toilet.pk)
        rows.append(
            {
                "id": toilet.pk,
                "label": str(toilet),
                "public_name": toilet.name if household is None else "",
                "head_name": household.head_name if household else "",
                "group": household.group_name if household else "",
                "id_last4": _last4(household.id_number) if household else "",
                "village": toilet.village.name,
                "tech_type": toilet.get_tech_type_display(),
                "build_year": toilet.build_year,
                "funding": toilet.get_funding_display(),
                "placement": toilet.get_placement_display(),
                "latitude": float(toilet.latitude) if toilet.latitude is not None else None,
                "longitude": float(toilet.longitude) if toilet.longitude is not None else None,
                "recheck": bool(getattr(toilet, "recheck", False)),
                "inspect_url": inspect_url(toilet.pk),
                "inspection": None
                if inspection is None
                else {
                    "id": inspection.pk,
                    "version": inspection.version,
                    "status": inspection.status,
                    "status_label": inspection.get_status_display(),
                    "return_reason": inspection.return_reason,
                    "photo_count": inspection.photo_count,
                    **findings[toilet.pk],
                },
                "previous": previous.get(toilet.pk),
            }
        )
    return {
        "round": survey_round.pk,
        "name": survey_round.name,
        "status": survey_round.status,
        "fetched_at": timezone.now().isoformat(),
        "worklist_url": f"{reverse('surveys:worklist')}?round={survey_round.pk}",
        "categories": [{"code": c.code, "name": c.name} for c in ProblemCategory.objects.all()],
        "usability": dict(Usability.choices),
        "check_methods": dict(CheckMethod.choices),
        "problem_usability": sorted(PROBLEM_USABILITY),
        "statuses": dict(InspectionStatus.choices),
        "toilets": rows,
    }


class OfflineDataView(LoginRequiredMixin, View):
    """GET ?round=<id> (default: the open round): the worklist as JSON for the phone."""

    def get(self, request):
        user = request.user
        require(user, INSPECT, "只有村级摸排员可以下载任务清单。")
        round_id = request.GET.get("round", "")
        survey_round = (
            get_object_or_404(
                SurveyRound.objects.visible_to(user).select_related("county"), pk=round_id
            )
            if round_id.isdigit()
            else current_round(user)
        )
        if survey_round is None:
            return JsonResponse({"detail": "目前没有进行中的摸排轮次。"}, status=404)
        response = JsonResponse(
            worklist_data(user, survey_round), json_dumps_params={"ensure_ascii": False}
        )
        response["Cache-Control"] = "private, no-store"
        return response


class OfflineInspectView(LoginRequiredMixin, FormView):
    """The inspection form without a toilet: kept by the service worker and filled in on the
    phone (from the stored worklist) for a toilet whose own form page it never opened."""

    form_class = InspectionForm
    template_name = "surveys/inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["shell"] = True
        return context

    def post(self, request, *args, **kwargs):
        return self.http_method_not_allowed(request, *args, **kwargs)
