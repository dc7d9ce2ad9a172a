"""Pages of the work-process problem register (工作推进中存在的问题): the list with its filters,
the form to register or edit a problem, and a problem's page with its moves (开始整改, 整改销号
with evidence, 重新打开). Problems are read through ``WorkProblem.objects.visible_to``: another
township's or county's problem is a 404. A village surveyor has no page here."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from core.errors import ConflictError
from core.responses import private_image, stored_attachment
from core.web.forms import int_or_none, put_errors
from core.web.views import FilteredListView

from .. import problems
from ..choices import EvidenceKind, WorkProblemState
from ..filters import WorkProblemFilter
from ..forms import CloseProblemForm, ReopenProblemForm, WorkProblemForm
from ..models import WorkProblem, WorkProblemEvidence
from .briefings import ReaderMixin

CANNOT_MANAGE = "工作推进问题由乡镇审核员或县级管理员登记和整改。"


def _problem(request, pk) -> WorkProblem:
    return get_object_or_404(
        WorkProblem.objects.visible_to(request.user).select_related("region", "created_by"),
        pk=pk,
    )


def _version(form) -> int | None:
    return form.cleaned_data.get("version") if form.is_valid() else None


class ProblemList(ReaderMixin, FilteredListView):
    template_name = "dispatch/problem_list.html"
    filterset_class = WorkProblemFilter

    def get_queryset(self):
        return super().get_queryset().select_related("region")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        today = timezone.localdate()
        open_ = ~Q(state=WorkProblemState.CLOSED)
        counts = WorkProblem.objects.visible_to(user).aggregate(
            total=Count("id"),
            **{state: Count("id", filter=Q(state=state)) for state in WorkProblemState.values},
            overdue=Count("id", filter=open_ & Q(deadline__lt=today)),
        )
        for problem in context["object_list"]:
            problem.late_days = problem.overdue_days(today)
        context.update(
            counts=counts,
            states=[
                {"value": value, "label": label, "count": counts[value]}
                for value, label in WorkProblemState.choices
            ],
            can_manage=problems.can_manage(user),
        )
        return context


class ProblemForm(ReaderMixin, View):
    """Register a problem (no ``pk``) or edit one that is not closed."""

    template_name = "dispatch/problem_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not problems.can_manage(request.user):
            raise PermissionDenied(CANNOT_MANAGE)
        return super().dispatch(request, *args, **kwargs)

    def form(self, data=None, problem=None):
        units = problems.units_for(self.request.user)
        if problem is not None:
            initial = {f: getattr(problem, f) for f in problems.EDITABLE}
            initial["version"] = problem.version
        else:
            initial = {"found_on": timezone.localdate(), "region": units.first()}
        return WorkProblemForm(data, initial=initial, units=units, editing=problem is not None)

    def render(self, form, problem=None):
        return render(self.request, self.template_name, {"form": form, "problem": problem})

    def get(self, request, pk=None):
        problem = _problem(request, pk) if pk is not None else None
        if problem is not None and problem.state == WorkProblemState.CLOSED:
            messages.error(request, problems.EDIT_CLOSED)
            return redirect("dispatch:problem", pk=problem.pk)
        return self.render(self.form(problem=problem), problem)

    def post(self, request, pk=None):
        problem = _problem(request, pk) if pk is not None else None
        form = self.form(request.POST, problem)
        if form.is_valid():
            try:
                if problem is None:
                    problem = problems.create_problem(
                        actor=request.user, region=form.cleaned_data["region"], **form.values()
                    )
                    messages.success(request, "已登记。")
                else:
                    problem = problems.update_problem(
                        actor=request.user,
                        problem=problem,
                        expected_version=form.cleaned_data.get("version"),
                        **form.values(),
                    )
                    messages.success(request, "已保存。")
            except ValidationError as exc:
                put_errors(form, exc)
            except ConflictError as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("dispatch:problem", pk=problem.pk)
        return self.render(form, problem)


class ProblemDetail(ReaderMixin, View):
    template_name = "dispatch/problem_detail.html"

    def render(self, problem, *, close_form=None, reopen_form=None, status=200):
        user = self.request.user
        moves = {t.action for t in problems.allowed_moves(user, problem)}
        logs = list(problem.logs.select_related("actor").prefetch_related("evidence"))
        for log in logs:
            log.label = problems.action_label(log.action)
        if close_form is None and "close" in moves:
            close_form = CloseProblemForm(initial={"version": problem.version})
        if reopen_form is None and "reopen" in moves:
            reopen_form = ReopenProblemForm(initial={"version": problem.version})
        context = {
            "problem": problem,
            "late_days": problem.overdue_days(),
            "logs": logs,
            "moves": moves,
            "can_edit": problems.can_manage(user) and problem.state != WorkProblemState.CLOSED,
            "close_form": close_form,
            "reopen_form": reopen_form,
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, pk):
        return self.render(_problem(request, pk))


class ProblemMove(ReaderMixin, View):
    """POST only: 开始整改, 整改销号 (with its evidence) or 重新打开 (county)."""

    action = ""

    def post(self, request, pk):
        problem = _problem(request, pk)
        page = ProblemDetail()
        page.setup(request, pk=pk)
        try:
            if self.action == "start":
                problems.start_problem(
                    actor=request.user,
                    problem=problem,
                    expected_version=int_or_none(request.POST.get("version")),
                )
                messages.success(request, "已开始整改。")
            elif self.action == "close":
                form = CloseProblemForm(request.POST, request.FILES)
                form.is_valid()
                try:
                    problems.close_problem(
                        actor=request.user,
                        problem=problem,
                        note=form.cleaned_data.get("note", request.POST.get("note", "")),
                        files=request.FILES.getlist("files"),
                        expected_version=_version(form),
                    )
                except ValidationError as exc:
                    put_errors(form, exc, renamed={"note": "note", "files": "files"})
                    return page.render(problem, close_form=form, status=200)
                messages.success(request, "已整改销号。")
            elif self.action == "reopen":
                form = ReopenProblemForm(request.POST)
                form.is_valid()
                try:
                    problems.reopen_problem(
                        actor=request.user,
                        problem=problem,
                        reason=request.POST.get("reason", ""),
                        expected_version=_version(form),
                    )
                except ValidationError as exc:
                    put_errors(form, exc)
                    return page.render(problem, reopen_form=form, status=200)
                messages.success(request, "已重新打开，退回整改。")
            else:  # pragma: no cover - the routes name every action
                raise Http404
        except ConflictError as exc:
            messages.error(request, exc.message)
        return redirect("dispatch:problem", pk=problem.pk)


class EvidenceFile(ReaderMixin, View):
    """A close-out's photo (shown in the page) or document (downloaded), read through the
    scoping; never served as public media."""

    def get(self, request, pk):
        item = get_object_or_404(WorkProblemEvidence.objects.visible_to(request.user), pk=pk)
        if item.kind == EvidenceKind.PHOTO:
            return private_image(item.file)
        return stored_attachment(
            item.file, item.name, missing="文件不存在。", content_type=item.content_type
        )
