"""Pages of the office-made review (疑似办公室摸排) and the 回头看 reconciliation.

Everything is read through ``visible_to(user)``: another region's round, village or flag is
404. Reading is open to every role in scope; a write by a role without the capability is 403.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Prefetch
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import ListView, TemplateView

from core.errors import ConflictError
from core.querystring import without_page
from regions.choices import INSPECT, MANAGE_ROUNDS, VERIFY
from regions.scoping import has_capability

from .. import reconcile
from ..choices import RoundStatus
from ..flags import clear_flag
from ..forms import FlagFilterForm
from ..models import Inspection, InspectionFlag
from ..queries import round_villages
from .base import RoundScopedMixin, redirect_next

PAGE_SIZE = 20


def can_clear_flags(user) -> bool:
    return has_capability(user, VERIFY) or has_capability(user, MANAGE_ROUNDS)


def can_record_reasons(user) -> bool:
    return has_capability(user, INSPECT) or has_capability(user, VERIFY)


# Office-made flags ------------------------------------------------------------------------


class FlagListView(RoundScopedMixin, ListView):
    """A round's inspections with office-made flags, in the user's scope."""

    template_name = "surveys/flags.html"
    context_object_name = "inspections"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        user = self.request.user
        survey_round = self.get_round()
        self.form = FlagFilterForm(
            self.request.GET or None, villages=round_villages(user, survey_round)
        )
        flags = InspectionFlag.objects.all()
        village = None
        if self.form.is_bound:
            if not self.form.is_valid():
                # e.g. another region's village: an empty list, never everything.
                return Inspection.objects.none()
            data = self.form.cleaned_data
            if data["kind"]:
                flags = flags.filter(kind=data["kind"])
            if not data["cleared"]:
                flags = flags.filter(cleared_by__isnull=True)
            village = data["village"]
        else:
            flags = flags.filter(cleared_by__isnull=True)
        inspections = (
            Inspection.objects.visible_to(user)
            .filter(round=survey_round)
            .filter(Exists(flags.filter(inspection=OuterRef("pk"))))
        )
        if village is not None:
            inspections = inspections.filter(toilet__village=village)
        return (
            inspections.select_related("toilet__household", "toilet__village__parent", "surveyor")
            .prefetch_related(
                Prefetch(
                    "flags",
                    queryset=flags.select_related("cleared_by").order_by("kind"),
                    to_attr="shown_flags",
                )
            )
            .order_by("toilet__village__code", "created_at", "id")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            form=self.form,
            querystring=without_page(self.request.GET),
            can_clear=can_clear_flags(self.request.user),
            here=self.request.get_full_path(),
        )
        return context


class FlagClearView(LoginRequiredMixin, View):
    """POST: a reviewer clears one flag with a note."""

    def post(self, request, pk):
        flag = get_object_or_404(
            InspectionFlag.objects.visible_to(request.user).select_related("inspection__toilet"),
            pk=pk,
        )
        if not can_clear_flags(request.user):
            raise PermissionDenied("只有乡镇审核员或县级管理员可以核实疑似办公室摸排的提示。")
        try:
            clear_flag(actor=request.user, flag=flag, note=request.POST.get("note", ""))
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        except ConflictError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, f"已核实：{flag.inspection.toilet}（{flag.get_kind_display()}）。"
            )
        return redirect_next(request, "surveys:flags", pk=flag.inspection.round_id)


# 回头看 reconciliation ---------------------------------------------------------------------


class ReconcileView(RoundScopedMixin, TemplateView):
    """Per village in scope: how many changes against the previous round, how many explained."""

    template_name = "surveys/reconcile.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        survey_round = self.get_round()
        if survey_round.previous_id is None:
            return context
        statuses = reconcile.village_statuses(
            survey_round, round_villages(self.request.user, survey_round)
        )
        pending_only = self.request.GET.get("pending") == "1"
        context.update(
            statuses=[s for s in statuses if not (pending_only and s.done)],
            pending_only=pending_only,
            village_total=len(statuses),
            village_done=sum(1 for s in statuses if s.done),
            change_total=sum(len(s.changes) for s in statuses),
            explained_total=sum(s.explained for s in statuses),
        )
        return context


class ReconcileVillageView(RoundScopedMixin, TemplateView):
    """One village's changes, each with its reason or a form to give one."""

    template_name = "surveys/reconcile_village.html"

    def get_village(self):
        return get_object_or_404(
            round_villages(self.request.user, self.get_round()), code=self.kwargs["code"]
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        survey_round = self.get_round()
        village = kwargs.get("village") or self.get_village()
        user = self.request.user
        context.update(
            village=village,
            can_record=can_record_reasons(user) and survey_round.status == RoundStatus.OPEN,
            can_record_role=can_record_reasons(user),
        )
        if survey_round.previous_id is None:
            return context
        changes, explained, done = reconcile.village_status(survey_round, village)
        errors, posted = kwargs.get("errors", {}), kwargs.get("posted", {})
        for change in changes:
            change.errors = errors.pop(change.key, [])
            change.posted = posted.get(change.key)
        context.update(
            changes=changes,
            explained=explained,
            done=done,
            # Errors about a change no longer listed (re-checked meanwhile), or the round.
            other_errors=[m for messages_ in errors.values() for m in messages_],
        )
        return context

    def post(self, request, *args, **kwargs):
        survey_round = self.get_round()
        village = self.get_village()
        if not can_record_reasons(request.user):
            raise PermissionDenied("只有本村摸排员或乡镇审核员可以填写变化原因。")
        key = request.POST.get("change_key", "")
        reason = request.POST.get("reason", "")
        try:
            reconcile.record_reason(
                actor=request.user,
                round=survey_round,
                village=village,
                change_key=key,
                reason=reason,
            )
        except ValidationError as error:
            context = self.get_context_data(
                village=village, errors={key: error.messages}, posted={key: reason}
            )
            return self.render_to_response(context)
        except ConflictError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "原因已保存。")
        url = reverse("surveys:reconcile-village", args=[survey_round.pk, village.code])
        return redirect(f"{url}#{reconcile.anchor(key)}")
