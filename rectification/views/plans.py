"""The pages of the townships' rectification plans (整改方案) and the county's review (审核备案).

Every read goes through ``visible_to(user)`` (another township's or county's plan is a 404) and
every write through ``plans``; these views only translate between HTTP and those calls.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.generic import TemplateView

from core.errors import ConflictError
from core.users import display_name
from core.web.forms import put_errors
from core.web.views import PAGE_SIZE
from regions.choices import PLAN_ACCEPT, REVIEW_SUBMISSIONS, Level
from regions.scoping import has_capability, scope_of
from surveys.choices import RoundStatus
from surveys.models import SurveyRound

from .. import plans
from ..choices import PLAN_EDITABLE, PlanState, ProblemClass
from ..forms import PlanReasonForm, TownshipPlanForm
from ..models import RectificationPlan

ENTRY_RELATED = ("toilet__household", "toilet__village__parent", "found_in")


def _own_township(user):
    """The township a township user plans for (None for anybody else)."""
    scope = scope_of(user)
    if scope is None or scope.region is None or scope.region.level != Level.TOWNSHIP:
        return None
    return scope.region


def _rounds(user):
    return (
        SurveyRound.objects.visible_to(user)
        .exclude(status=RoundStatus.DRAFT)
        .select_related("county")
        .order_by("-start_date", "-id")
    )


def _plan_or_404(user, pk):
    return get_object_or_404(
        RectificationPlan.objects.visible_to(user).select_related(
            "township", "survey_round__county", "submitted_by", "reviewed_by", "created_by"
        ),
        pk=pk,
    )


# The list ------------------------------------------------------------------------------


class PlanListView(LoginRequiredMixin, TemplateView):
    """整改方案: a township's plans per round; the county's townships × plan state for a round."""

    template_name = "rectification/plan_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        township = _own_township(user)
        rounds = list(_rounds(user))
        if township is not None:
            own = {
                p.survey_round_id: p
                for p in RectificationPlan.objects.visible_to(user)
                .filter(township=township)
                .annotate(entry_count=Count("entries"))
            }
            context.update(
                township=township,
                round_rows=[(r, own.get(r.pk)) for r in rounds],
                can_plan=has_capability(user, PLAN_ACCEPT),
            )
            return context
        survey_round = self.chosen_round(rounds)
        rows = plans.township_rows(user, survey_round) if survey_round else []
        counts = {key: 0 for key, _label in plans.STATE_COLUMNS}
        for _township, _plan, state in rows:
            counts[state] += 1
        context.update(
            rounds=rounds,
            survey_round=survey_round,
            rows=rows,
            columns=[(key, label, counts[key]) for key, label in plans.STATE_COLUMNS],
            can_review=has_capability(user, REVIEW_SUBMISSIONS),
        )
        return context

    def chosen_round(self, rounds):
        wanted = self.request.GET.get("round")
        if wanted:
            for r in rounds:
                if str(r.pk) == wanted:
                    return r
            raise Http404("没有这个摸排轮次。")
        return next((r for r in rounds if r.status == RoundStatus.OPEN), None) or (
            rounds[0] if rounds else None
        )


# The plan page ------------------------------------------------------------------------------


class PlanDetailView(LoginRequiredMixin, TemplateView):
    template_name = "rectification/plan_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        plan = _plan_or_404(user, self.kwargs["pk"])
        entries = (
            plans.covered(plan, user)
            .select_related(*ENTRY_RELATED)
            .order_by("toilet__village__code", "toilet__household__head_name", "pk")
        )
        year = self.request.GET.get("year", "")
        if year:
            if not year.isdigit():
                raise Http404("计划年度无效。")
            entries = entries.filter(problem_class=ProblemClass.HARD, target_year=int(year))
        page = Paginator(entries, PAGE_SIZE).get_page(self.request.GET.get("page"))
        for entry in page.object_list:
            entry.route = (
                plans.long_term_route(entry.toilet)
                if entry.problem_class == ProblemClass.HARD
                else ""
            )
        logs = list(plan.log.select_related("actor"))
        for log in logs:
            log.label = plans.ACTION_LABELS.get(log.action, log.action)
            log.actor_name = display_name(log.actor)
        context.update(
            plan=plan,
            sections=[(label, getattr(plan, name)) for name, label, _hint in plans.SECTIONS],
            counts=plans.plan_counts(plan, user),
            timetable=plans.timetable(plan, user),
            page_obj=page,
            paginator=page.paginator,
            is_paginated=page.has_other_pages(),
            entries=page.object_list,
            year=year,
            querystring=f"year={year}" if year else "",
            logs=logs,
            can_edit=plans.can(user, plan, "save"),
            can_submit=plans.can(user, plan, "submit") or plans.can(user, plan, "resubmit"),
            can_review=plans.can(user, plan, "accept"),
            can_revise=plans.can(user, plan, "revise"),
            shown_state=plans.shown_state(plan),
        )
        return context


# The township's form ----------------------------------------------------------------------------


class PlanFormMixin(LoginRequiredMixin):
    template_name = "rectification/plan_form.html"

    def entry_rows(self, survey_round, township):
        return list(
            plans.eligible_entries(self.request.user, survey_round, township)
            .select_related(*ENTRY_RELATED)
            .order_by("toilet__village__code", "toilet__household__head_name", "pk")
        )

    def render_form(self, form, *, survey_round, township, plan=None, rows=None):
        rows = rows if rows is not None else self.entry_rows(survey_round, township)
        selected = set(form["entries"].value() or []) if form.is_bound else form.initial["entries"]
        selected = {int(v) for v in selected if str(v).isdigit()}
        return render(
            self.request,
            self.template_name,
            {
                "form": form,
                "plan": plan,
                "survey_round": survey_round,
                "township": township,
                "rows": rows,
                "selected": selected,
                "section_fields": [form[name] for name in plans.SECTION_FIELDS],
                "long_term": ProblemClass.HARD,
            },
        )

    def form(self, data=None, *, version, initial_entries, initial=None):
        return TownshipPlanForm(
            data, initial={"version": version, "entries": initial_entries, **(initial or {})}
        )

    def after_save(self, plan, form, *, survey_round, township):
        """Send the plan when the user pressed 保存并报备; else back to its page."""
        if self.request.POST.get("then") != "submit":
            messages.success(self.request, "整改方案已保存为草稿。填写完整后点“报县级备案”。")
            return redirect("rectification:plan", pk=plan.pk)
        try:
            plans.submit_plan(actor=self.request.user, plan=plan, expected_version=plan.version)
        except ValidationError as error:
            data = self.request.POST.copy()
            data["version"] = plan.version  # the save moved it on; the next save starts here
            form = self.form(data, version=plan.version, initial_entries=[])
            form.is_valid()
            form.add_error(None, "方案已保存，但还不能报备，请补齐以下内容：")
            put_errors(form, error)
            return self.render_form(form, survey_round=survey_round, township=township, plan=plan)
        messages.success(self.request, "整改方案已报县级备案，等待县级审核。")
        return redirect("rectification:plan", pk=plan.pk)


class PlanCreateView(PlanFormMixin, View):
    """The township's new plan for a round: the form, with its open entries ticked."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.survey_round = get_object_or_404(_rounds(request.user), pk=kwargs["round_pk"])
        self.township = _own_township(request.user)
        if self.township is None or not has_capability(request.user, PLAN_ACCEPT):
            raise PermissionDenied("整改方案由乡镇审核员制定。")
        existing = RectificationPlan.objects.filter(
            survey_round=self.survey_round, township=self.township
        ).first()
        if existing is not None:
            return redirect("rectification:plan-edit", pk=existing.pk)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        rows = self.entry_rows(self.survey_round, self.township)
        defaults = list(
            plans.default_entries(request.user, self.survey_round, self.township).values_list(
                "pk", flat=True
            )
        )
        form = self.form(version=1, initial_entries=defaults)
        return self.render_form(
            form, survey_round=self.survey_round, township=self.township, rows=rows
        )

    def post(self, request, *args, **kwargs):
        rows = self.entry_rows(self.survey_round, self.township)
        form = self.form(request.POST, version=1, initial_entries=[])
        if not form.is_valid():
            return self.render_form(
                form, survey_round=self.survey_round, township=self.township, rows=rows
            )
        try:
            with transaction.atomic():  # a refused first save leaves no empty plan behind
                plan = plans.start_plan(
                    actor=request.user, survey_round=self.survey_round, township=self.township
                )
                plan = plans.save_plan(
                    actor=request.user,
                    plan=plan,
                    sections=form.sections(),
                    entries=form.cleaned_data["entries"],
                    expected_version=plan.version,
                )
        except ValidationError as error:
            put_errors(form, error)
            return self.render_form(
                form, survey_round=self.survey_round, township=self.township, rows=rows
            )
        except ConflictError as exc:
            messages.error(request, exc.message)
            return redirect("rectification:plans")
        return self.after_save(plan, form, survey_round=self.survey_round, township=self.township)


class PlanEditView(PlanFormMixin, View):
    """Edit a draft or returned plan; 保存草稿 or 保存并报备."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.plan = _plan_or_404(request.user, kwargs["pk"])
        if not has_capability(request.user, PLAN_ACCEPT):
            raise PermissionDenied("整改方案由乡镇审核员制定。")
        if self.plan.state not in PLAN_EDITABLE:
            messages.error(
                request,
                f"该整改方案当前为“{self.plan.get_state_display()}”，不能修改。"
                + ("如需修改，请先点“修订方案”。" if self.plan.state == PlanState.ACCEPTED else ""),
            )
            return redirect("rectification:plan", pk=self.plan.pk)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        plan = self.plan
        rows = self.entry_rows(plan.survey_round, plan.township)
        form = self.form(
            version=plan.version,
            initial_entries=list(plan.entries.values_list("pk", flat=True)),
            initial={name: getattr(plan, name) for name in plans.SECTION_FIELDS},
        )
        return self.render_form(
            form, survey_round=plan.survey_round, township=plan.township, plan=plan, rows=rows
        )

    def post(self, request, *args, **kwargs):
        plan = self.plan
        rows = self.entry_rows(plan.survey_round, plan.township)
        form = self.form(request.POST, version=plan.version, initial_entries=[])
        context = {"survey_round": plan.survey_round, "township": plan.township, "plan": plan}
        if not form.is_valid():
            return self.render_form(form, rows=rows, **context)
        try:
            plan = plans.save_plan(
                actor=request.user,
                plan=plan,
                sections=form.sections(),
                entries=form.cleaned_data["entries"],
                expected_version=form.seen_version(),
            )
        except ValidationError as error:
            put_errors(form, error)
            return self.render_form(form, rows=rows, **context)
        except ConflictError as exc:
            messages.error(request, exc.message)
            return redirect("rectification:plan", pk=plan.pk)
        return self.after_save(plan, form, survey_round=plan.survey_round, township=plan.township)


# One-click and reasoned moves --------------------------------------------------------------------


class PlanSubmitView(LoginRequiredMixin, View):
    """报县级备案 / 重新报备 from the plan's page (POST only)."""

    def post(self, request, pk):
        plan = _plan_or_404(request.user, pk)
        version = request.POST.get("version", "")
        try:
            plans.submit_plan(
                actor=request.user,
                plan=plan,
                expected_version=int(version) if version.isdigit() else None,
            )
        except ValidationError as error:
            messages.error(request, "还不能报备：" + "；".join(error.messages))
            if plans.can(request.user, plan, "save"):
                return redirect("rectification:plan-edit", pk=plan.pk)
            return redirect("rectification:plan", pk=plan.pk)
        except ConflictError as exc:
            messages.error(request, exc.message)
            return redirect("rectification:plan", pk=plan.pk)
        messages.success(request, "整改方案已报县级备案，等待县级审核。")
        return redirect("rectification:plan", pk=plan.pk)


class PlanReviewView(LoginRequiredMixin, View):
    """The county's 审核备案 / 退回修改 of a submitted plan."""

    template_name = "rectification/plan_review.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.plan = _plan_or_404(request.user, kwargs["pk"])
        if not has_capability(request.user, REVIEW_SUBMISSIONS):
            raise PermissionDenied(plans.DENIED[REVIEW_SUBMISSIONS])
        if self.plan.state != PlanState.SUBMITTED:
            messages.error(
                request,
                f"该整改方案当前为“{self.plan.get_state_display()}”，不能审核。",
            )
            return redirect("rectification:plan", pk=self.plan.pk)
        return super().dispatch(request, *args, **kwargs)

    def form(self, data=None):
        return PlanReasonForm(data, initial={"version": self.plan.version}, reason_label="退回原因")

    def render_form(self, form):
        plan = self.plan
        return render(
            self.request,
            self.template_name,
            {
                "plan": plan,
                "form": form,
                "sections": [(label, getattr(plan, name)) for name, label, _h in plans.SECTIONS],
                "counts": plans.plan_counts(plan, self.request.user),
                "timetable": plans.timetable(plan, self.request.user),
            },
        )

    def get(self, request, *args, **kwargs):
        return self.render_form(self.form())

    def post(self, request, *args, **kwargs):
        form = self.form(request.POST)
        if not form.is_valid():
            return self.render_form(form)
        decision = request.POST.get("decision")
        try:
            if decision == "accept":
                plans.accept_plan(
                    actor=request.user, plan=self.plan, expected_version=form.seen_version()
                )
                messages.success(request, f"{self.plan.township.name}的整改方案已审核备案。")
            elif decision == "return":
                plans.return_plan(
                    actor=request.user,
                    plan=self.plan,
                    reason=form.cleaned_data["reason"],
                    expected_version=form.seen_version(),
                )
                messages.success(
                    request, f"已退回{self.plan.township.name}的整改方案，乡镇修改后将重新报备。"
                )
            else:
                form.add_error(None, "请选择“审核备案”或“退回修改”。")
                return self.render_form(form)
        except ValidationError as error:
            put_errors(form, error)
            return self.render_form(form)
        except ConflictError as exc:
            messages.error(request, exc.message)
        return redirect("rectification:plan", pk=self.plan.pk)


class PlanReviseView(LoginRequiredMixin, View):
    """The township takes its accepted plan back to draft, with the reason."""

    template_name = "rectification/plan_revise.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.plan = _plan_or_404(request.user, kwargs["pk"])
        if not has_capability(request.user, PLAN_ACCEPT):
            raise PermissionDenied(plans.DENIED[PLAN_ACCEPT])
        if self.plan.state != PlanState.ACCEPTED:
            messages.error(
                request, f"该整改方案当前为“{self.plan.get_state_display()}”，不需要修订。"
            )
            return redirect("rectification:plan", pk=self.plan.pk)
        return super().dispatch(request, *args, **kwargs)

    def form(self, data=None):
        return PlanReasonForm(data, initial={"version": self.plan.version}, reason_label="修订原因")

    def get(self, request, *args, **kwargs):
        return render(request, self.template_name, {"plan": self.plan, "form": self.form()})

    def post(self, request, *args, **kwargs):
        form = self.form(request.POST)
        if form.is_valid():
            try:
                plans.revise_plan(
                    actor=request.user,
                    plan=self.plan,
                    reason=form.cleaned_data["reason"],
                    expected_version=form.seen_version(),
                )
            except ValidationError as error:
                put_errors(form, error)
            except ConflictError as exc:
                messages.error(request, exc.message)
                return redirect("rectification:plan", pk=self.plan.pk)
            else:
                messages.success(request, "方案已转为草稿，修改后请重新报县级备案。")
                return redirect("rectification:plan-edit", pk=self.plan.pk)
        return render(request, self.template_name, {"plan": self.plan, "form": form})
