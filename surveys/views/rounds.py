"""Survey rounds: the list, the county organising one, a round's page, opening and closing."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.views import View
from django.views.generic import FormView, ListView, TemplateView

from core.web.forms import put_errors
from core.web.views import ScopedViewMixin
from regions.choices import INSPECT, MANAGE_ROUNDS, VERIFY, Level
from regions.scoping import has_capability, scope_of

from .. import services
from ..forms import RoundForm
from ..models import Inspection, SurveyRound
from ..queries import round_toilets, status_counts
from ..services import require
from ..spotchecks import can_use_spotchecks
from .base import RoundScopedMixin


class RoundListView(ScopedViewMixin, ListView):
    model = SurveyRound
    template_name = "surveys/round_list.html"

    def get_queryset(self):
        return super().get_queryset().select_related("county", "previous")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_manage"] = has_capability(self.request.user, MANAGE_ROUNDS)
        return context


class RoundCreateView(LoginRequiredMixin, FormView):
    form_class = RoundForm
    template_name = "surveys/round_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            require(request.user, MANAGE_ROUNDS, "只有县级管理员可以组织摸排轮次。")
            scope = scope_of(request.user)
            if scope.region is None or scope.region.level != Level.COUNTY:
                raise PermissionDenied("请使用县级账号组织摸排轮次。")
            self.county = scope.region
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "county": self.county}

    def form_valid(self, form):
        try:
            survey_round = services.create_round(
                actor=self.request.user, survey_round=form.instance
            )
        except ValidationError as error:
            put_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, "摸排轮次已创建。确认无误后点击“开启本轮”，各村即可录入。")
        return redirect("surveys:round-detail", pk=survey_round.pk)


class RoundDetailView(RoundScopedMixin, TemplateView):
    template_name = "surveys/round_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        survey_round = self.get_round()
        counts = (
            Inspection.objects.visible_to(user)
            .filter(round=survey_round)
            .aggregate(**status_counts("total"))
        )
        context.update(
            counts=counts,
            registered=round_toilets(user, survey_round).count(),
            can_manage=has_capability(user, MANAGE_ROUNDS),
            can_inspect=has_capability(user, INSPECT),
            can_verify=has_capability(user, VERIFY),
            is_look_back=survey_round.previous_id is not None,
            can_spotcheck=can_use_spotchecks(user),
        )
        return context


class RoundTransitionView(RoundScopedMixin, View):
    service = None
    done_message = ""

    def post(self, request, pk):
        survey_round = self.get_round()
        try:
            type(self).service(actor=request.user, survey_round=survey_round)
        except services.ConflictError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, self.done_message)
        return redirect("surveys:round-detail", pk=survey_round.pk)


class RoundOpenView(RoundTransitionView):
    service = services.open_round
    done_message = "本轮已开启，各村摸排员可以开始录入。"


class RoundCloseView(RoundTransitionView):
    service = services.close_round
    done_message = "本轮已结束，不再接受录入。"
