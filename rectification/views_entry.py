"""The pages of one ledger entry: its detail (evidence, checklist, consent, timeline), the
form of each workflow move, the printable 整改告知单, bulk acceptance and the evidence files.

Every read goes through ``visible_to(user)`` (another region's entry is a 404) and every write
through ``services.transition``; these views only translate between HTTP and that call.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views import View
from django.views.generic import TemplateView

from core.errors import ConflictError
from core.responses import private_image
from core.users import display_name
from core.web.forms import put_errors
from regions.choices import PLAN_ACCEPT, SEE_IDENTITY
from regions.models import Region
from regions.scoping import has_capability
from surveys.models import InspectionPhoto

from . import services
from .checklists import checklist_for, standards_for
from .choices import LedgerState, PhotoKind
from .forms import FORMS, ChecklistForm, ConsentForm, ReasonForm
from .models import Consent, EvidencePhoto, LedgerEntry, LedgerLog
from .workflow import TRANSITIONS, action_label

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


def household_name(entry) -> str:
    """How an entry is named to a person: the household head, or the public toilet."""
    toilet = entry.toilet
    return toilet.household.head_name if toilet.household_id else str(toilet)


def _entries(user):
    return LedgerEntry.objects.visible_to(user).select_related(
        "toilet__household", "toilet__village__parent", "found_in"
    )


class EntryMixin(LoginRequiredMixin):
    def get_entry(self, queryset=None):
        queryset = queryset if queryset is not None else _entries(self.request.user)
        return get_object_or_404(queryset, pk=self.kwargs["pk"])


# The entry page ---------------------------------------------------------------------------


class EntryDetailView(EntryMixin, TemplateView):
    template_name = "rectification/entry_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        entry = self.get_entry(
            _entries(user)
            .select_related(
                "opened_by_inspection__round",
                "opened_by_inspection__surveyor",
                "last_inspection__round",
                "last_inspection__surveyor",
                "reviewed_by",
            )
            .prefetch_related("categories")
        )
        inspections = {entry.opened_by_inspection_id, entry.last_inspection_id}
        before = list(
            InspectionPhoto.objects.visible_to(user)
            .filter(inspection_id__in=inspections)
            .select_related("uploaded_by", "inspection__round")
            .order_by("inspection__inspected_at", "id")
        )
        logs = list(
            LedgerLog.objects.visible_to(user)
            .filter(entry=entry)
            .select_related("actor", "consent")
            .prefetch_related(
                Prefetch(
                    "photos",
                    queryset=EvidencePhoto.objects.select_related("uploaded_by", "village"),
                ),
                "checks",
            )
        )
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


def _notice_entries(user):
    return _entries(user).prefetch_related("categories")


class NoticeView(EntryMixin, View):
    def get(self, request, pk):
        entry = self.get_entry(_notice_entries(request.user))
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
            _notice_entries(user)
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


# Bulk acceptance --------------------------------------------------------------------------


class _RollBack(Exception):
    """Raised inside the bulk transaction so that one failed entry undoes them all."""


def _ids(values) -> list[int]:
    return list(dict.fromkeys(int(v) for v in values if v.isdigit()))[:100]


class BulkAcceptView(LoginRequiredMixin, View):
    """Accept several rectified entries in one go, each against its own checklist; all of
    them or none."""

    template_name = "rectification/bulk_accept.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not has_capability(request.user, PLAN_ACCEPT):
            raise PermissionDenied("只有乡镇审核员可以验收。")
        return super().dispatch(request, *args, **kwargs)

    def load(self, ids, data=None):
        """The forms of the selected entries that can be accepted, and the others with why."""
        found = _entries(self.request.user).prefetch_related(
            "categories",
            Prefetch(
                "photos",
                queryset=EvidencePhoto.objects.filter(kind=PhotoKind.AFTER).order_by("-id"),
                to_attr="after_photos",
            ),
        )
        found = {e.pk: e for e in found.filter(pk__in=ids)}
        forms, skipped = [], []
        for pk in ids:
            entry = found.get(pk)
            if entry is None:
                skipped.append((f"编号 {pk}", "不存在或不在您的管辖范围内"))
            elif entry.state != LedgerState.RECTIFIED:
                skipped.append(
                    (household_name(entry), f"当前为“{entry.get_state_display()}”，不在待验收中")
                )
            else:
                forms.append(
                    ChecklistForm(
                        data,
                        entry=entry,
                        items=checklist_for(entry.toilet.tech_type),
                        version_name=f"version-{entry.pk}",
                        initial={f"version-{entry.pk}": entry.version},
                    )
                )
        return forms, skipped

    def render_page(self, forms, skipped, failures=(), ids=()):
        for form in forms:
            others = [f.entry.pk for f in forms if f.entry.pk != form.entry.pk]
            form.without_url = (
                reverse("rectification:bulk-accept") + "?" + urlencode({"ids": others}, doseq=True)
            )
            form.failure = next((why for pk, _, why in failures if pk == form.entry.pk), "")
        return render(
            self.request,
            self.template_name,
            {
                "forms": forms,
                "skipped": skipped,
                "failures": failures,
                "note": self.request.POST.get("note", ""),
            },
        )

    def get(self, request):
        forms, skipped = self.load(_ids(request.GET.getlist("ids")))
        return self.render_page(forms, skipped)

    def post(self, request):
        ids = _ids(request.POST.getlist("ids"))
        forms, skipped = self.load(ids, request.POST)
        if not forms and not skipped:
            messages.error(request, "没有选择要验收的问题。")
            return redirect(reverse("rectification:ledger") + "?queue=to_accept")
        # An entry that can no longer be accepted (someone moved it) fails the whole batch.
        failures = [(None, name, why) for name, why in skipped]
        try:
            with transaction.atomic():
                for form in forms:
                    problem = self.accept(form)
                    if problem:
                        failures.append((form.entry.pk, household_name(form.entry), problem))
                if failures:
                    raise _RollBack
        except _RollBack:
            return self.render_page(forms, [], failures=failures)
        messages.success(request, f"已验收 {len(forms)} 户。下一步：请户主签字后逐户销号。")
        return redirect(reverse("rectification:ledger") + "?queue=to_close")

    def accept(self, form) -> str:
        """Accept one entry; the reason it failed, or '' on success."""
        if not form.is_valid():
            return "；".join(e for errors in form.errors.values() for e in errors)
        try:
            services.transition(
                actor=self.request.user,
                entry=form.entry,
                action="accept",
                expected_version=form.seen_version(),
                **form.transition_kwargs(),
            )
        except ValidationError as error:
            return "；".join(error.messages)
        except ConflictError as exc:
            return exc.message
        except PermissionDenied as exc:
            return str(exc) or "无权验收该问题。"
        return ""


# Evidence files -------------------------------------------------------------------------


class EvidencePhotoView(LoginRequiredMixin, View):
    """Evidence is household data: served only through the scoping, never as public media."""

    def get(self, request, pk, size):
        if size not in ("full", "thumb"):
            raise Http404
        photo = get_object_or_404(EvidencePhoto.objects.visible_to(request.user), pk=pk)
        return private_image(photo.thumbnail if size == "thumb" else photo.image)


class ConsentImageView(LoginRequiredMixin, View):
    def get(self, request, pk):
        consent = get_object_or_404(Consent.objects.visible_to(request.user), pk=pk)
        return private_image(consent.image)
