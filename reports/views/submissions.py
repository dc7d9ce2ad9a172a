"""The submissions up the hierarchy: the township's page (build, check, submit), the county's
page (accept or return each township's version, then submit the stamped county table), a
submission's frozen copy and its stamped file.

Every read goes through ``visible_to(user)`` (another region's round, region or submission is a
404) and every write through ``reports.services``; these views translate between HTTP and it.
"""

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from core.errors import ConflictError
from core.responses import stored_attachment
from core.users import display_name
from core.web.forms import put_errors
from regions.choices import (
    MANAGE_ROUNDS,
    REVIEW_SUBMISSIONS,
    SUBMIT_COUNTY,
    SUBMIT_TOWNSHIP,
    Level,
)
from regions.scoping import has_capability
from surveys.choices import RoundStatus

from .. import completeness, services
from ..forms import ExceptionForm, FillerForm, ReopenForm, ReturnForm
from ..models import Submission, SubmissionKind, SubmissionStatus
from ..queries import (
    county_table,
    deadline_state,
    seal_of,
    submission_history,
    submission_rows,
    visible_region,
)
from ..stamp import data_digest
from .base import RoundMixin, safe_next, submission_page
from .tables import frozen_table, table_context

# The status a township shows on the county's page (no submission yet: 未上报).
NOT_SUBMITTED = "未上报"
EXCEPTION_ROWS_MAX = 500  # more posted exception rows than a township has villages is garbage


def coverage_context(survey_round, coverage: completeness.Coverage) -> dict:
    """The live coverage for a page: the frozen form plus, per village, where its missing or
    unverified toilets are listed."""
    frozen = completeness.frozen(coverage, [])
    for row, village in zip(frozen["villages"], coverage.villages, strict=True):
        if village.incomplete_ids:
            row["url"], row["link_text"] = completeness.links_for(survey_round, village)
    return frozen


class SubmitPageMixin(RoundMixin):
    """A unit's page for the round (``level``: a township or a county) with the unit's
    versions, whose POST submits its table through a reports service (``submit_table``)."""

    level = ""
    submit_capability = ""
    submit_denied = ""  # why a user without ``submit_capability`` may not submit

    def setup_page(self):
        self.survey_round = self.get_round()
        self.unit = self.get_region(self.kwargs["code"], level=self.level)
        user = self.request.user
        self.history = submission_history(user, self.survey_round, self.unit)
        self.latest = self.history[0] if self.history else None
        self.can_submit = has_capability(user, self.submit_capability)
        self.can_review = has_capability(user, REVIEW_SUBMISSIONS)

    def get(self, request, *args, **kwargs):
        self.setup_page()
        return self.render_page(FillerForm(previous=self.latest, user=request.user))

    def post(self, request, *args, **kwargs):
        self.setup_page()
        if not self.can_submit:
            raise PermissionDenied(self.submit_denied)
        form = FillerForm(request.POST)
        extra = self.submit_extra()
        if not form.is_valid() or extra is None:
            return self.render_page(form)
        try:
            submission = self.submit_table(
                actor=request.user,
                survey_round=self.survey_round,
                **form.service_kwargs(),
                **extra,
            )
        except ValidationError as error:
            put_errors(form, error)
            return self.render_page(form)
        except services.Refused as exc:
            return self.render_page(form, refusal=exc)
        except ConflictError as exc:
            messages.error(request, exc.message)
            return redirect(request.path)
        return self.submitted(submission)

    def submit_table(self, **kwargs) -> Submission:
        raise NotImplementedError

    def submit_extra(self) -> dict | None:
        """More arguments of the service from the POST; None when they have errors to show."""
        return {}

    def submitted(self, submission):
        """The response once the table is submitted."""
        raise NotImplementedError


# The township's page ----------------------------------------------------------------------


class TownshipView(SubmitPageMixin, TemplateView):
    """A township's submissions for the round. The township builds, checks and submits here;
    the county reviews the latest version here as well."""

    template_name = "reports/township.html"
    level = Level.TOWNSHIP
    submit_capability = SUBMIT_TOWNSHIP
    submit_denied = "只有乡镇审核员可以上报乡镇汇总数据。"

    def submit_table(self, **kwargs) -> Submission:
        return services.submit_township(township=self.unit, **kwargs)

    def live_coverage(self) -> completeness.Coverage:
        if not hasattr(self, "_coverage"):
            self._coverage = completeness.coverage_of(
                self.request.user, self.survey_round, self.unit
            )
        return self._coverage

    def exception_forms(self, data=None) -> list[ExceptionForm]:
        """A row per village still incomplete (unbound), or per posted village (bound)."""
        villages = self.live_coverage().by_code()
        if data is None:
            return [
                ExceptionForm(
                    prefix=f"ex-{v.village.code}",
                    village_name=v.village.name,
                    counts=completeness.counts_text(v),
                    initial={
                        "village": v.village.code,
                        "toilets": ",".join(str(pk) for pk in v.incomplete_ids),
                    },
                )
                for v in self.live_coverage().incomplete
            ]
        codes = list(dict.fromkeys(data.getlist("exception_villages")))[:EXCEPTION_ROWS_MAX]
        forms = []
        for code in codes:
            village = villages.get(code)
            forms.append(
                ExceptionForm(
                    data,
                    prefix=f"ex-{code}",
                    village_name=village.village.name if village else "",
                    counts=completeness.counts_text(village) if village else "",
                )
            )
        return forms

    def submit_extra(self) -> dict | None:
        self.posted_exceptions = self.exception_forms(self.request.POST)
        if not all(form.is_valid() for form in self.posted_exceptions):
            return None
        inputs = [form.as_input() for form in self.posted_exceptions]
        return {"exceptions": [item for item in inputs if item is not None]}

    def submitted(self, submission):
        messages.success(
            self.request,
            f"已上报第{submission.version}版。下一步：等待县级接收；如被退回，按退回原因更正后重新上报。",
        )
        return redirect(self.request.path)

    def render_page(self, form, refusal=None):
        user = self.request.user
        context = {
            "round": self.survey_round,
            "township": self.unit,
            "history": self.history,
            "latest": self.latest,
            "can_submit": self.can_submit,
            "can_review": self.can_review,
            "form": form,
            "refusal": refusal,
            "county_url": reverse(
                "reports:county",
                kwargs={"pk": self.survey_round.pk, "code": self.survey_round.county.code},
            )
            if visible_region(user, self.survey_round.county)
            else "",
            "return_form": ReturnForm(initial={"version": self.latest.version})
            if self.latest
            else None,
        }
        context["deadline"] = deadline_state(self.survey_round, self.latest)
        if self.latest is not None and self.latest.coverage:
            context["frozen_coverage"] = self.latest.coverage
        if self.can_submit:
            context["round_open"] = self.survey_round.status == RoundStatus.OPEN
            context["coverage"] = coverage_context(self.survey_round, self.live_coverage())
            forms = getattr(self, "posted_exceptions", None)
            context["exception_forms"] = forms if forms is not None else self.exception_forms()
            summary = services.township_summary(user, self.survey_round, self.unit)
            context["summary"] = summary
            context["blocked"] = bool(summary.errors or summary.violations)
            context.update(
                table_context(
                    self.survey_round,
                    summary.rows,
                    summary.total,
                    summary.violations,
                    row_label="行政村",
                )
            )
        elif self.latest is not None:
            context["frozen"] = True
            context.update(frozen_table(self.latest))
        return render(self.request, self.template_name, context)


# The county's page ------------------------------------------------------------------------


class CountyView(SubmitPageMixin, TemplateView):
    """Each township's latest submission with accept / return, then the county table from the
    accepted rows and its submission (stamped), then the county's versions."""

    template_name = "reports/county.html"
    level = Level.COUNTY
    submit_capability = SUBMIT_COUNTY
    submit_denied = "只有县级管理员可以报送县级汇总表。"

    def submit_table(self, **kwargs) -> Submission:
        return services.submit_county(county=self.unit, **kwargs)

    def submitted(self, submission):
        messages.success(
            self.request,
            f"已报送第{submission.version}版，核验码 {submission.code}。"
            "下一步：下载盖章汇总表，按要求报送上级；上级可凭核验码核验。",
        )
        return redirect("reports:submission", pk=submission.pk)

    def render_page(self, form, refusal=None):
        user = self.request.user
        table = county_table(user, self.survey_round, self.unit)
        townships = []
        today = timezone.localdate()
        for township, submission in table.townships:
            townships.append(
                {
                    "region": township,
                    "submission": submission,
                    "deadline": deadline_state(self.survey_round, submission, today),
                    "status": submission.get_status_display() if submission else NOT_SUBMITTED,
                    "status_key": submission.status if submission else "none",
                    "url": reverse(
                        "reports:township",
                        kwargs={"pk": self.survey_round.pk, "code": township.code},
                    ),
                }
            )
        counts = {
            "accepted": sum(1 for t in townships if t["status_key"] == SubmissionStatus.ACCEPTED),
            "pending": sum(1 for t in townships if t["status_key"] == SubmissionStatus.SUBMITTED),
            "all": len(townships),
        }
        context = {
            "round": self.survey_round,
            "county": self.unit,
            "townships": townships,
            "counts": counts,
            "waiting": [services.waiting_text(t, s) for t, s in table.waiting],
            "history": self.history,
            "can_submit": self.can_submit,
            "can_review": self.can_review,
            "form": form,
            "refusal": refusal,
            "seal": seal_of(user, self.unit),
            "can_seal": services.seal_unit(user) == self.unit,
            "round_open": self.survey_round.status == RoundStatus.OPEN,
            "late": sum(1 for t in townships if t["deadline"] and t["deadline"].late),
            "can_reopen": has_capability(user, MANAGE_ROUNDS)
            and self.survey_round.status == RoundStatus.CLOSED
            and not any(s.kind == SubmissionKind.COUNTY for s in self.history),
            "reopen_form": ReopenForm(),
        }
        coverage = completeness.coverage_of(user, self.survey_round, self.unit)
        context["coverage"] = coverage_context(self.survey_round, coverage)
        context["coverage_townships"] = completeness.township_rows(context["coverage"])
        if not table.waiting:
            context.update(
                table_context(
                    self.survey_round,
                    table.rows,
                    table.total,
                    table.violations,
                    row_label="乡镇",
                )
            )
            context["blocked"] = bool(table.violations)
        return render(self.request, self.template_name, context)


# Re-opening the round ---------------------------------------------------------------------


class ReopenRoundView(RoundMixin, View):
    """POST only: the county re-opens the closed round from its submissions page."""

    def post(self, request, pk):
        survey_round = self.get_round()
        page = reverse(
            "reports:county", kwargs={"pk": survey_round.pk, "code": survey_round.county.code}
        )
        try:
            services.reopen_round(
                actor=request.user,
                survey_round=survey_round,
                reason=request.POST.get("reason", ""),
            )
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        except ConflictError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"已重新开启“{survey_round.name}”。各乡镇已上报、已接收的版本均已退回；"
                "轮次再次结束后，乡镇须补齐摸排核查并重新上报。",
            )
        return redirect(page)


# Accept / return --------------------------------------------------------------------------


class ReviewView(LoginRequiredMixin, View):
    """POST only: the county accepts or returns a township's pending version."""

    action = ""

    def post(self, request, pk):
        submission = get_object_or_404(
            Submission.objects.visible_to(request.user).select_related(
                "region", "survey_round", "collection"
            ),
            pk=pk,
        )
        fallback = reverse(
            "reports:county",
            kwargs={"pk": submission.survey_round_id, "code": submission.survey_round.county.code},
        )
        version = request.POST.get("version", "")
        expected = int(version) if version.isdigit() else None
        try:
            if self.action == "accept":
                services.accept_submission(
                    actor=request.user, submission=submission, expected_version=expected
                )
                messages.success(
                    request,
                    f"已接收{submission.region.name}第{submission.version}版。"
                    "全部乡镇接收后即可报送县级汇总表。",
                )
            else:
                services.return_submission(
                    actor=request.user,
                    submission=submission,
                    reason=request.POST.get("reason", ""),
                    expected_version=expected,
                )
                messages.success(
                    request,
                    f"已退回{submission.region.name}第{submission.version}版，"
                    "乡镇将看到退回原因，更正后重新上报。",
                )
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        except ConflictError as exc:
            messages.error(request, exc.message)
        return redirect(safe_next(request, fallback))


class AcceptView(ReviewView):
    action = "accept"


class ReturnView(ReviewView):
    action = "return"


# One submission and its file --------------------------------------------------------------


class SubmissionDetailView(LoginRequiredMixin, TemplateView):
    template_name = "reports/submission.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        submission = get_object_or_404(
            Submission.objects.visible_to(self.request.user).select_related(
                "region",
                "survey_round__template",
                "survey_round__county",
                "collection__template",
                "submitted_by",
            ),
            pk=self.kwargs["pk"],
        )
        entries = submission.sources.get("entries", {})
        context.update(
            submission=submission,
            round=submission.survey_round or submission.collection,
            page_url=submission_page(submission),
            submitted_by=display_name(submission.submitted_by),
            reviewed_by=display_name(submission.reviewed_by) if submission.reviewed_by else "",
            data_digest=data_digest(submission_rows(submission), submission.total),
            sources_entries=[
                (column, entries.get(column, [])) for column in ("6", "9", "29", "32")
            ],
            sources_villages=submission.sources.get("villages", []),
            frozen_coverage=submission.coverage,
            sources_townships=[
                {**t, "cutoff": datetime.datetime.fromisoformat(t["cutoff"])}
                for t in submission.sources.get("townships", [])
            ],
            **frozen_table(submission),
        )
        return context


class DownloadView(LoginRequiredMixin, View):
    """The stamped file, served only through the scoping (never as public media)."""

    def get(self, request, pk):
        submission = get_object_or_404(
            Submission.objects.visible_to(request.user).select_related(
                "region", "survey_round", "collection"
            ),
            pk=pk,
        )
        if not submission.file:
            raise Http404("该报送没有盖章汇总表文件。")
        name = (
            f"{submission.region.name}汇总表-{submission.period}-"
            f"第{submission.version}版-{submission.code}.xlsx"
        )
        response = stored_attachment(submission.file, name, missing="文件不存在。")
        response["Cache-Control"] = "private, no-store"
        return response
