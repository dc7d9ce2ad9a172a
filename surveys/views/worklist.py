"""The surveyor's worklist: the village's toilets for the open (or a chosen) round, grouped by
村民小组, with a search box, filters and pages."""

from itertools import groupby

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404
from django.views.generic import TemplateView

from core.querystring import without_page
from core.web.views import url_for_each
from regions.choices import INSPECT
from regions.scoping import has_capability

from ..choices import RoundKind
from ..models import SurveyRound
from ..queries import (
    WORKLIST_PAGE_SIZE,
    WORKLIST_STATUSES,
    current_round,
    search_worklist,
    worklist_count,
    worklist_groups,
    worklist_toilets,
    worklist_totals,
)


class WorklistView(LoginRequiredMixin, TemplateView):
    """The village's toilets for the open round under their 村民小组 headings (公厕 last);
    within a group returned first, then not yet surveyed (toilets still open from an earlier
    round flagged for re-check), then the rest. The counts on top are the whole round's."""

    template_name = "surveys/worklist.html"
    paginate_by = WORKLIST_PAGE_SIZE

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        params = self.request.GET
        round_id = params.get("round")
        rounds = SurveyRound.objects.visible_to(user)
        survey_round = (
            get_object_or_404(rounds.select_related("county"), pk=round_id)
            if round_id and round_id.isdigit()
            else current_round(user)
        )
        context["round"] = survey_round
        if survey_round is None:
            return context
        groups = worklist_groups(user, survey_round)
        names = [g["name"] for g in groups]
        q = params.get("q", "").strip()[:50]
        group = params.get("group", "")
        group = group if group in names else ""
        status = params.get("status", "")
        status = status if status in WORKLIST_STATUSES else ""
        rows = search_worklist(
            worklist_toilets(user, survey_round, group_names=names), q, group, status
        )
        paginator = Paginator(rows, self.paginate_by)
        if not q:
            # Known from the groups' counts (a COUNT over the village's toilets otherwise).
            paginator.count = worklist_count(groups, group, status)
        page = paginator.get_page(params.get("page"))
        toilets = list(page.object_list)
        household_url = url_for_each("toilets:household-detail")
        toilet_url = url_for_each("toilets:toilet-detail")
        inspect_url = url_for_each("surveys:inspect", survey_round.pk)
        detail_url = url_for_each("surveys:inspection-detail")
        for t in toilets:  # the cards' links (one reverse per kind, not per card)
            t.owner_url = household_url(t.household_id) if t.household_id else toilet_url(t.pk)
            t.inspect_url = inspect_url(t.pk)
            t.detail_url = detail_url(t.inspection_id) if t.inspection_id else ""
        by_name = {g["name"]: g for g in groups}
        totals = worklist_totals(groups)
        context.update(
            toilets=toilets,
            sections=[
                (by_name.get(name, {"name": name}), list(items))
                for name, items in groupby(toilets, key=lambda t: t.group_label)
            ],
            groups=groups,
            statuses=[(key, label) for key, (label, _) in WORKLIST_STATUSES.items()],
            q=q,
            group=group,
            status=status,
            filtered=bool(q or group or status),
            page_obj=page,
            paginator=page.paginator,
            is_paginated=page.has_other_pages(),
            querystring=without_page(params),
            remaining=totals["todo"],
            returned=totals["returned"],
            done=totals["done"],
            can_inspect=has_capability(user, INSPECT),
            is_look_back=survey_round.kind == RoundKind.LOOK_BACK,
        )
        return context
