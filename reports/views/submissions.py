"""The summary table's pages: the table itself, the township's and the county's submission
pages, a submission's frozen copy and its stamped file, the seal, and the public verify page.

Every read goes through ``visible_to(user)`` (another region's round, region or submission is a
404) and every write through ``reports.services``; these views translate between HTTP and it.
"""

import datetime
import re

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from core.errors import ConflictError
from core.responses import stored_attachment
from core.users import display_name
from core.web.forms import put_errors
from regions.choices import (
    MANAGE_SEAL,
    REVIEW_SUBMISSIONS,
    SUBMIT_COUNTY,
    SUBMIT_TOWNSHIP,
    Level,
)
from regions.models import Region
from regions.scoping import has_capability, scope_of
from surveys.choices import RoundStatus
from surveys.models import SurveyRound

from .. import services
from ..build import TOTAL_LABEL
from ..columns import COLUMNS, HEADER, column_titles
from ..forms import FillerForm, ReturnForm, SealForm, VerifyForm
from ..models import Seal, Submission, SubmissionKind, SubmissionStatus
from ..rules import RULES
from ..sheet import row_label

RULES_BY_TEXT = {rule.text: rule for rule in RULES}
_TOTAL_COLUMN = re.compile(r"第(\d+)列")

# The status a township shows on the county's page (no submission yet: 未上报).
NOT_SUBMITTED = "未上报"


# The table as HTML ------------------------------------------------------------------------


def header_rows(bucket_labels=None) -> list[list[dict]]:
    """The three header levels as HTML cells with their spans, as printed on the form."""
    titles = column_titles(bucket_labels)
    levels: list[list[dict]] = [[], [], []]

    def place(group, level):
        leaf = not group.children
        levels[level].append(
            {
                "title": titles[group.first] if leaf else group.title,
                "colspan": group.last - group.first + 1,
                "rowspan": 3 - level if leaf else 1,
            }
        )
        for child in group.children:
            place(child, level + 1)

    for group in HEADER:
        place(group, 0)
    return levels


def violation_columns(violation) -> set[int]:
    rule = RULES_BY_TEXT.get(violation.rule)
    if rule is not None:
        return {column for _, column in rule.left + rule.right}
    match = _TOTAL_COLUMN.search(violation.rule)
    return {int(match.group(1))} if match else set()


def table_rows(rows, total, violations, links=None) -> list[dict]:
    """Rows ready for the template: each cell with whether a broken rule involves it."""
    bad: dict[str, set[int]] = {}
    for violation in violations:
        bad.setdefault(violation.row, set()).update(violation_columns(violation))
    links = links or {}
    out = []
    for code, name, values, is_total in [
        *((code, name, values, False) for code, name, values in rows),
        ("", TOTAL_LABEL, total, True),
    ]:
        columns = bad.get(name, set())
        out.append(
            {
                "name": name,
                "url": links.get(code, ""),
                "total": is_total,
                "bad": bool(columns),
                "cells": [
                    {"column": c, "value": values.get(c, 0), "bad": c in columns} for c in COLUMNS
                ],
            }
        )
    return out


def table_context(survey_round, rows, total, violations, links=None, row_label="单位") -> dict:
    return {
        "header": header_rows(services.bucket_labels(survey_round)),
        "numbers": COLUMNS,
        "table": table_rows(rows, total, violations, links),
        "violations": violations,
        "row_label": row_label,
    }


def frozen_table(submission) -> dict:
    rows = [
        (row["code"], row["name"], services.values_of(row["values"])) for row in submission.rows
    ]
    total = services.values_of(submission.total)
    violations = services.check_table([(n, v) for _, n, v in rows], (TOTAL_LABEL, total))
    label = row_label(submission.region.level)
    return table_context(submission.survey_round, rows, total, violations, row_label=label)


# Looking things up through the scoping ----------------------------------------------------


class RoundMixin(LoginRequiredMixin):
    def get_round(self) -> SurveyRound:
        if not hasattr(self, "_round"):
            self._round = get_object_or_404(
                SurveyRound.objects.visible_to(self.request.user).select_related(
                    "county", "template"
                ),
                pk=self.kwargs["pk"],
            )
        return self._round

    def round_regions(self):
        """The regions of the round's county this user may see."""
        return Region.objects.visible_to(self.request.user).filter(
            code__startswith=self.get_round().county.prefix
        )

    def get_region(self, code=None, level=None) -> Region:
        regions = self.round_regions()
        if level is not None:
            regions = regions.filter(level=level)
        if code:
            return get_object_or_404(regions, code=code)
        scope = scope_of(self.request.user)
        county = self.get_round().county
        if scope.region is not None and scope.region.code.startswith(county.prefix):
            return scope.region
        return get_object_or_404(regions, pk=county.pk)


def submission_page(submission) -> str:
    kwargs = {"pk": submission.survey_round_id, "code": submission.region.code}
    name = "reports:county" if submission.kind == SubmissionKind.COUNTY else "reports:township"
    return reverse(name, kwargs=kwargs)


def unit_page(survey_round, region) -> str | None:
    """The submission page of a county or township; None for other levels."""
    if region.level == Level.COUNTY:
        return reverse("reports:county", kwargs={"pk": survey_round.pk, "code": region.code})
    if region.level == Level.TOWNSHIP:
        return reverse("reports:township", kwargs={"pk": survey_round.pk, "code": region.code})
    return None


def safe_next(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# The index --------------------------------------------------------------------------------


class IndexView(LoginRequiredMixin, TemplateView):
    """报表: each round with its summary table and the own unit's submission page."""

    template_name = "reports/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        scope = scope_of(user)
        unit = scope.region if scope is not None else None
        rounds = list(
            SurveyRound.objects.visible_to(user)
            .select_related("county")
            .exclude(status=RoundStatus.DRAFT)
        )
        latest = {}
        if unit is not None and unit.level in (Level.COUNTY, Level.TOWNSHIP):
            for submission in (
                Submission.objects.visible_to(user)
                .filter(region=unit, survey_round__in=rounds)
                .order_by("survey_round_id", "-version")
            ):
                latest.setdefault(submission.survey_round_id, submission)
        for survey_round in rounds:
            survey_round.latest = latest.get(survey_round.pk)
            survey_round.unit_url = (
                unit_page(survey_round, unit)
                if unit is not None and unit.code.startswith(survey_round.county.prefix)
                else unit_page(survey_round, survey_round.county)
            )
        context.update(
            rounds=rounds,
            unit=unit,
            can_seal=has_capability(user, MANAGE_SEAL) and services.seal_unit(user) is not None,
        )
        return context


# The summary table ------------------------------------------------------------------------


class SummaryView(RoundMixin, TemplateView):
    """The live table of a region (the user's own by default), built inline: data errors with
    links first, then the table, then the broken rules with their rows and cells marked."""

    template_name = "reports/summary.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        survey_round = self.get_round()
        region = self.get_region(self.kwargs.get("code"))
        summary = services.build_summary(survey_round, region, user=user)
        visible = set(
            self.round_regions()
            .filter(code__in=[row.code for row in summary.rows])
            .exclude(pk=region.pk)
            .values_list("code", flat=True)
        )
        links = {
            code: reverse("reports:summary-region", kwargs={"pk": survey_round.pk, "code": code})
            for code in visible
        }
        crumbs = [
            a
            for a in self.round_regions().filter(code__in=[a.code for a in region.ancestors()])
            if a.pk != region.pk and a.code.startswith(survey_round.county.prefix)
        ]
        violations = summary.violations
        context.update(
            round=survey_round,
            region=region,
            summary=summary,
            crumbs=crumbs,
            unit_url=unit_page(survey_round, region),
            **table_context(
                survey_round,
                [(row.code, row.name, row.values) for row in summary.rows],
                summary.total,
                violations,
                links,
                row_label(region.level),
            ),
        )
        return context


# The township's page ----------------------------------------------------------------------


class SubmitPageMixin(RoundMixin):
    """A page whose POST submits a table through a reports service."""

    def submit(self, form, service, **kwargs):
        """(submission, None) when submitted; (None, the response to show) when refused."""
        try:
            submission = service(
                actor=self.request.user,
                survey_round=self.survey_round,
                **kwargs,
                **form.service_kwargs(),
            )
        except ValidationError as error:
            put_errors(form, error)
            return None, self.render_page(form)
        except services.Refused as exc:
            return None, self.render_page(form, refusal=exc)
        except ConflictError as exc:
            messages.error(self.request, exc.message)
            return None, redirect(self.request.path)
        return submission, None


class TownshipView(SubmitPageMixin, TemplateView):
    """A township's submissions for the round. The township builds, checks and submits here;
    the county reviews the latest version here as well."""

    template_name = "reports/township.html"

    def setup_page(self):
        self.survey_round = self.get_round()
        self.township = self.get_region(self.kwargs["code"], level=Level.TOWNSHIP)
        user = self.request.user
        self.history = list(
            Submission.objects.visible_to(user)
            .filter(survey_round=self.survey_round, region=self.township)
            .select_related("submitted_by", "reviewed_by", "region")
            .order_by("-version")
        )
        self.latest = self.history[0] if self.history else None
        self.can_submit = has_capability(user, SUBMIT_TOWNSHIP)
        self.can_review = has_capability(user, REVIEW_SUBMISSIONS)

    def get(self, request, *args, **kwargs):
        self.setup_page()
        return self.render_page(FillerForm(previous=self.latest, user=request.user))

    def post(self, request, *args, **kwargs):
        self.setup_page()
        if not self.can_submit:
            raise PermissionDenied("只有乡镇审核员可以上报乡镇汇总数据。")
        form = FillerForm(request.POST, previous=self.latest)
        if not form.is_valid():
            return self.render_page(form)
        submission, refused = self.submit(form, services.submit_township, township=self.township)
        if refused is not None:
            return refused
        messages.success(
            request,
            f"已上报第{submission.version}版。下一步：等待县级接收；如被退回，按退回原因更正后重新上报。",
        )
        return redirect(request.path)

    def render_page(self, form, refusal=None):
        user = self.request.user
        context = {
            "round": self.survey_round,
            "township": self.township,
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
            if Region.objects.visible_to(user).filter(pk=self.survey_round.county_id).exists()
            else "",
            "return_form": ReturnForm(initial={"version": self.latest.version})
            if self.latest
            else None,
        }
        if self.can_submit:
            summary = services.township_summary(user, self.survey_round, self.township)
            context["summary"] = summary
            context["blocked"] = bool(summary.errors or summary.violations)
            context.update(
                table_context(
                    self.survey_round,
                    [(row.code, row.name, row.values) for row in summary.rows],
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

    def setup_page(self):
        self.survey_round = self.get_round()
        self.county = self.get_region(self.kwargs["code"], level=Level.COUNTY)
        user = self.request.user
        self.history = list(
            Submission.objects.visible_to(user)
            .filter(survey_round=self.survey_round, region=self.county)
            .select_related("submitted_by", "region")
            .order_by("-version")
        )
        self.can_submit = has_capability(user, SUBMIT_COUNTY)
        self.can_review = has_capability(user, REVIEW_SUBMISSIONS)

    def get(self, request, *args, **kwargs):
        self.setup_page()
        previous = self.history[0] if self.history else None
        return self.render_page(FillerForm(previous=previous, user=request.user))

    def post(self, request, *args, **kwargs):
        self.setup_page()
        if not self.can_submit:
            raise PermissionDenied("只有县级管理员可以报送县级汇总表。")
        form = FillerForm(request.POST)
        if not form.is_valid():
            return self.render_page(form)
        submission, refused = self.submit(form, services.submit_county, county=self.county)
        if refused is not None:
            return refused
        messages.success(
            request,
            f"已报送第{submission.version}版，核验码 {submission.code}。"
            "下一步：下载盖章汇总表，按要求报送上级；上级可凭核验码核验。",
        )
        return redirect("reports:submission", pk=submission.pk)

    def render_page(self, form, refusal=None):
        user = self.request.user
        table = services.county_table(user, self.survey_round, self.county)
        townships = []
        for township, submission in table.townships:
            townships.append(
                {
                    "region": township,
                    "submission": submission,
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
            "county": self.county,
            "townships": townships,
            "counts": counts,
            "waiting": [services.waiting_text(t, s) for t, s in table.waiting],
            "history": self.history,
            "can_submit": self.can_submit,
            "can_review": self.can_review,
            "form": form,
            "refusal": refusal,
            "seal": Seal.objects.visible_to(user).filter(region=self.county).first(),
            "can_seal": services.seal_unit(user) == self.county,
        }
        if not table.waiting:
            context.update(
                table_context(
                    self.survey_round,
                    [(row.code, row.name, row.values) for row in table.rows],
                    table.total,
                    table.violations,
                    row_label="乡镇",
                )
            )
            context["blocked"] = bool(table.violations)
        return render(self.request, self.template_name, context)


# Accept / return --------------------------------------------------------------------------


class ReviewView(LoginRequiredMixin, View):
    """POST only: the county accepts or returns a township's pending version."""

    action = ""

    def post(self, request, pk):
        submission = get_object_or_404(
            Submission.objects.visible_to(request.user).select_related("region", "survey_round"),
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
                "region", "survey_round__template", "survey_round__county", "submitted_by"
            ),
            pk=self.kwargs["pk"],
        )
        entries = submission.sources.get("entries", {})
        context.update(
            submission=submission,
            round=submission.survey_round,
            page_url=submission_page(submission),
            submitted_by=display_name(submission.submitted_by),
            reviewed_by=display_name(submission.reviewed_by) if submission.reviewed_by else "",
            data_digest=services.data_digest(
                services.submission_rows(submission), submission.total
            ),
            sources_entries=[
                (column, entries.get(column, [])) for column in ("6", "9", "29", "32")
            ],
            sources_villages=submission.sources.get("villages", []),
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
            Submission.objects.visible_to(request.user).select_related("region", "survey_round"),
            pk=pk,
        )
        if not submission.file:
            raise Http404("该报送没有盖章汇总表文件。")
        name = (
            f"{submission.region.name}汇总表-{submission.survey_round.name}-"
            f"第{submission.version}版-{submission.code}.xlsx"
        )
        response = stored_attachment(submission.file, name, missing="文件不存在。")
        response["Cache-Control"] = "private, no-store"
        return response


# The seal ---------------------------------------------------------------------------------


class SealView(LoginRequiredMixin, View):
    template_name = "reports/seal.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not has_capability(request.user, MANAGE_SEAL):
            raise PermissionDenied("只有乡镇、县级管理员可以上传本单位印章。")
        self.unit = services.seal_unit(request.user)
        if self.unit is None:
            raise PermissionDenied("请使用乡镇或县级账号上传本单位印章。")
        return super().dispatch(request, *args, **kwargs)

    def render_page(self, form):
        seal = Seal.objects.visible_to(self.request.user).filter(region=self.unit).first()
        return render(
            self.request,
            self.template_name,
            {"unit": self.unit, "seal": seal, "form": form, "next": self.request.GET.get("next")},
        )

    def get(self, request):
        return self.render_page(SealForm())

    def post(self, request):
        form = SealForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_page(form)
        try:
            services.upload_seal(
                actor=request.user, region=self.unit, image=form.cleaned_data["image"]
            )
        except ValidationError as error:
            put_errors(form, error)
            return self.render_page(form)
        messages.success(request, "印章已保存，今后生成的盖章汇总表将使用该印章。")
        return redirect(safe_next(request, reverse("reports:seal")))


class SealImageView(LoginRequiredMixin, View):
    def get(self, request, code):
        seal = get_object_or_404(Seal.objects.visible_to(request.user), region__code=code)
        try:
            handle = seal.image.open("rb")
        except FileNotFoundError as exc:
            raise Http404("文件不存在。") from exc
        ext = seal.image.name.rsplit(".", 1)[-1].lower()
        response = FileResponse(handle, content_type="image/png" if ext == "png" else "image/jpeg")
        response["Cache-Control"] = "private, no-cache"
        return response


# Verify (public) --------------------------------------------------------------------------


class VerifyView(View):
    """No login: a code or a file in, 核验通过 / 未找到 / 文件内容与报送记录不一致 out, with only
    the unit, round, version, who and when, and the 合计 row."""

    template_name = "reports/verify.html"

    def render_page(self, form, verdict=None):
        context = {"form": form, "verdict": verdict, "numbers": COLUMNS}
        if verdict is not None and verdict.submission is not None:
            submission = verdict.submission
            context.update(
                submitted_by=display_name(submission.submitted_by),
                total_cells=[
                    (title, submission.total.get(str(c), 0))
                    for c, title in column_titles(
                        services.bucket_labels(submission.survey_round)
                    ).items()
                ],
            )
        return render(self.request, self.template_name, context)

    def get(self, request):
        if "code" in request.GET:
            form = VerifyForm(request.GET)
            if form.is_valid():
                return self.render_page(form, services.verify_code(form.cleaned_data["code"]))
            return self.render_page(form)
        return self.render_page(VerifyForm())

    def post(self, request):
        form = VerifyForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_page(form)
        upload = form.cleaned_data.get("file")
        if upload is not None:
            if upload.size > services.VERIFY_MAX_BYTES:
                form.add_error("file", "文件超过 20 MB，不是正常的汇总表。")
                return self.render_page(form)
            return self.render_page(form, services.verify_file(upload.read()))
        return self.render_page(form, services.verify_code(form.cleaned_data["code"]))
