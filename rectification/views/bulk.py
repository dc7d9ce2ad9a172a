"""Bulk acceptance: several rectified entries accepted in one go, each against its own
checklist, all of them or none (``services.accept_many``)."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views import View

from regions.choices import PLAN_ACCEPT
from regions.scoping import has_capability

from .. import queries, services
from ..checklists import checklist_for
from ..choices import LedgerState
from ..forms import ChecklistForm


def household_name(entry) -> str:
    """How an entry is named to a person: the household head, or the public toilet."""
    toilet = entry.toilet
    return toilet.household.head_name if toilet.household_id else str(toilet)


def _ids(values) -> list[int]:
    return list(dict.fromkeys(int(v) for v in values if v.isdigit()))[:100]


def _form_problem(form) -> str:
    """Why a checklist form cannot be accepted as sent, or '' when it is valid."""
    if form.is_valid():
        return ""
    return "；".join(e for errors in form.errors.values() for e in errors)


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
        found = queries.acceptance_entries(self.request.user)
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
        invalid = {form.entry.pk: problem for form in forms if (problem := _form_problem(form))}
        # An entry that can no longer be accepted (someone moved it) or whose form is wrong
        # fails the whole batch; the others are still tried, so that each says what is wrong.
        refused = services.accept_many(
            actor=request.user,
            acceptances=[
                services.Acceptance(
                    entry=form.entry,
                    expected_version=form.seen_version(),
                    **form.transition_kwargs(),
                )
                for form in forms
                if form.entry.pk not in invalid
            ],
            dry_run=bool(skipped or invalid),
        )
        problems = invalid | refused
        failures = [(None, name, why) for name, why in skipped]
        failures += [
            (form.entry.pk, household_name(form.entry), problems[form.entry.pk])
            for form in forms
            if form.entry.pk in problems
        ]
        if failures:
            return self.render_page(forms, [], failures=failures)
        messages.success(request, f"已验收 {len(forms)} 户。下一步：请户主签字后逐户销号。")
        return redirect(reverse("rectification:ledger") + "?queue=to_close")
