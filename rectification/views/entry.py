"""The pages of one ledger entry: its detail (evidence, checklist, consent, timeline), the
form of each workflow move and the printable 整改告知单.

Every read goes through ``queries`` (another region's entry is a 404) and every write through
``services.transition``; these views only translate between HTTP and that call.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views import View
from django.views.generic import TemplateView

from core.errors import ConflictError
from core.users import display_name
from core.web.forms import put_errors
from regions.choices import SEE_IDENTITY
from regions.models import Region
from regions.scoping import has_capability

from .. import plans, queries, services
from ..checklists import checklist_for, standards_for
from ..choices import LedgerState, PhotoKind
from ..forms import FORMS, ChecklistForm, ConsentForm, ReasonForm
from ..workflow import TRANSITIONS, action_label

# What the user sees after each move: what happened and what comes next.
DONE_MESSAGES = {
    "plan": "整改方案已制定。下一步：打印整改告知单交给农户，开工后点“开始整改”。",
    "replan": "整改方案已修改。告知单内容有变化的，请重新打印交给农户。",
    "start": "已开始整改。下一步：整改完成后由村级摸排员到现场拍照，登记已整改。",
    "quick_fix": "已登记立行立改。下一步：乡镇对照验收清单验收。",
    "rectify": "已登记整改完成。下一步：乡镇对照验收清单验收。",
    "accept": "已验收。下一步：请户主签字后销号。",
    "return": "已退回整改，台账回到“整改中”，村里将按退回原因重新整改。",
    "close": "已销号。县级将对已销号的问题抽查复核。",
    "review": "复核通过，已加盖复核记录。",
    "reopen": "已重新打开，台账回到“整改中”，请乡镇重新组织整改。",
}

# Moves that go forward are the page's primary buttons; the others are secondary.
_SECONDARY = {"replan", "return", "reopen", "quick_fix"}


def has_plan(entry) -> bool:
    return bool(entry.measures and entry.deadline)


class EntryMixin(LoginRequiredMixin):
    def get_entry(self, queryset=None):
        if queryset is None:
            queryset = queries.visible_entries(self.request.user)
        return get_object_or_404(queryset, pk=self.kwargs["pk"])


# The entry page ---------------------------------------------------------------------------


class EntryDetailView(EntryMixin, TemplateView):
    template_name = "rectification/entry_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        entry = self.get_entry(queries.detail_entries(user))
        before = list(queries.before_photos(user, entry))
        logs = list(queries.entry_logs(user, entry))
        for log in logs:
            log.label = action_label(log.action)
            log.actor_name = display_name(log.actor)
            log.consent_row = getattr(log, "consent", None)
        after = [p for log in logs for p in log.photos.all() if p.kind == PhotoKind.AFTER]
        today = timezone.localdate()
        actions = services.available_actions(user, entry)
        context.update(
            entry=entry,
            toilet=entry.toilet,
            household=entry.toilet.household if entry.toilet.household_id else None,
            show_identity=has_capability(user, SEE_IDENTITY),
            overdue_days=(today - entry.deadline).days if entry.is_overdue(today) else 0,
            before_photos=before,
            after_photos=after,
            acceptances=[log for log in logs if log.checks.all()],
            consents=[log.consent_row for log in logs if log.consent_row is not None],
            logs=logs,
            actions=[(move, move.action in _SECONDARY) for move in actions],
            has_plan=has_plan(entry),
            standards=standards_for(entry.toilet.tech_type),
            plans=plans.plans_covering(user, entry),
        )
        return context


# The workflow moves -----------------------------------------------------------------------


class TransitionView(EntryMixin, View):
    """GET: the form of one move; POST: the move, through ``services.transition``."""

    template_name = "rectification/transition_form.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.entry = self.get_entry()
        self.move = TRANSITIONS.get(kwargs["action"])
        if self.move is None:
            raise Http404("没有这个操作。")
        if not has_capability(request.user, self.move.capability):
            raise PermissionDenied(f"您的角色不能执行“{self.move.label}”。")
        if self.entry.state not in self.move.sources:
            messages.error(
                request,
                f"该问题当前为“{self.entry.get_state_display()}”，不能执行“{self.move.label}”。",
            )
            return redirect("rectification:entry", pk=self.entry.pk)
        return super().dispatch(request, *args, **kwargs)

    def get_form(self, data=None, files=None):
        entry, move = self.entry, self.move
        form_class = FORMS[move.needs]
        kwargs = {"initial": {"version": entry.version}}
        if move.needs == "plan":
            kwargs["initial"].update(self.plan_initial())
        elif form_class is ChecklistForm:
            kwargs.update(entry=entry, items=checklist_for(entry.toilet.tech_type))
        elif form_class is ConsentForm:
            household = entry.toilet.household if entry.toilet.household_id else None
            kwargs["initial"]["signer_name"] = household.head_name if household else ""
        elif form_class is ReasonForm:
            kwargs["reason_label"] = f"{move.label}原因"
            # A failed acceptance offers 退回整改 with the failed items as the reason.
            kwargs["initial"]["note"] = self.request.GET.get("reason", "")[: services.NOTE_MAX]
        return form_class(data, files, **kwargs)

    def plan_initial(self) -> dict:
        entry = self.entry
        if self.move.action == "replan":
            return {key: getattr(entry, key) for key in services.PLAN_FIELDS}
        return {
            "problem_class": services.suggested_class(entry),
            "tech_route": entry.toilet.get_tech_type_display(),
        }

    def render_form(self, form):
        context = {
            "entry": self.entry,
            "move": self.move,
            "form": form,
            "household": self.entry.toilet.household if self.entry.toilet.household_id else None,
        }
        if isinstance(form, ChecklistForm):
            # What the township weighs while it ticks the list: the inspection's photos and
            # warnings, the after photos.
            user = self.request.user
            context["inspections"] = queries.evidence_inspections(user, self.entry)
            context["after_photos"] = list(queries.after_photos(user, self.entry))
        if isinstance(form, ChecklistForm) and form.is_bound and hasattr(form, "cleaned_data"):
            failed = form.failed_items()
            if failed and services.can(self.request.user, self.entry, "return"):
                reason = ("验收不合格：" + "；".join(failed))[: services.NOTE_MAX]
                context["return_url"] = (
                    reverse("rectification:transition", args=[self.entry.pk, "return"])
                    + "?"
                    + urlencode({"reason": reason})
                )
        return render(self.request, self.template_name, context)

    def get(self, request, *args, **kwargs):
        return self.render_form(self.get_form())

    def post(self, request, *args, **kwargs):
        form = self.get_form(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_form(form)
        try:
            services.transition(
                actor=request.user,
                entry=self.entry,
                action=self.move.action,
                expected_version=form.seen_version(),
                **form.transition_kwargs(),
            )
        except ValidationError as error:
            renamed = {"image": form.image_field()} if isinstance(form, ConsentForm) else {}
            put_errors(form, error, renamed=renamed)
            return self.render_form(form)
        except ConflictError as exc:
            messages.error(request, exc.message)
            return redirect("rectification:entry", pk=self.entry.pk)
        messages.success(request, DONE_MESSAGES.get(self.move.action, "已保存。"))
        return redirect("rectification:entry", pk=self.entry.pk)


# 整改告知单 ----------------------------------------------------------------------------------


class NoticeView(EntryMixin, View):
    def get(self, request, pk):
        entry = self.get_entry(queries.notice_entries(request.user))
        if not has_plan(entry):
            messages.error(request, "该问题尚未制定整改方案，制定方案后才能打印整改告知单。")
            return redirect("rectification:entry", pk=entry.pk)
        return render(request, "rectification/notice.html", {"entries": [entry], "single": True})


class BatchNoticeView(LoginRequiredMixin, View):
    """The notices of one village's entries still to be rectified, one per printed page."""

    def get(self, request):
        user = request.user
        village = get_object_or_404(
            Region.objects.visible_to(user).villages().select_related("parent"),
            code=request.GET.get("village", ""),
        )
        entries = (
            queries.notice_entries(user)
            .filter(
                toilet__village=village,
                state__in=[LedgerState.PLANNED, LedgerState.IN_PROGRESS],
            )
            .order_by("toilet__household__group_name", "toilet__household__head_name", "id")
        )
        return render(
            request,
            "rectification/notice.html",
            {"entries": [e for e in entries if has_plan(e)], "village": village},
        )
