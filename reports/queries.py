"""What the reports pages, services, jobs and the API read, always through ``visible_to(user)``:
frozen submissions and their values, the county table from the accepted township rows, a
template's build-year columns, the empty template's rows, seals, report jobs, and the
整村推进 targets."""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.utils import timezone

from core.exports import exports
from regions.choices import Level
from regions.models import Region
from regions.scoping import scope_of
from surveys.choices import RoundStatus
from surveys.models import ReportTemplate, SurveyRound

from .build import TOTAL_LABEL, Row, child_rows
from .columns import COLUMNS
from .models import ProgressTarget, ReportJob, Seal, Submission, SubmissionStatus
from .rules import Violation, check_table
from .sheet import row_label

# The build-year columns as printed on the form, when no report template says otherwise.
PRINTED_BUCKETS = ["2013以前", "2013至2016", "2017", "2018", "2019", "2020", "2021"]
_PARENT_LEVELS = (Level.PROVINCE, Level.CITY, Level.COUNTY)  # a template row per child


def visible_region(actor, region: Region) -> bool:
    return Region.objects.visible_to(actor).filter(pk=region.pk).exists()


# Rounds -----------------------------------------------------------------------------------


def reported_rounds(user) -> list[SurveyRound]:
    """The rounds the user sees that have been opened (a draft round has nothing to report)."""
    return list(
        SurveyRound.objects.visible_to(user)
        .select_related("county")
        .exclude(status=RoundStatus.DRAFT)
    )


def rounds_of(user, region: Region):
    """The rounds of the region's county, newest first."""
    return (
        SurveyRound.objects.visible_to(user)
        .filter(county__code__startswith=region.code[:6])
        .order_by("-start_date", "-id")
    )


def bucket_labels(survey_round) -> list[str]:
    return [bucket["label"] for bucket in survey_round.template.year_buckets]


def latest_bucket_labels(user) -> list[str]:
    """The build-year columns of the user's latest round's template, else the default
    template's, else the printed ones."""
    survey_round = (
        SurveyRound.objects.visible_to(user).select_related("template").order_by("-id").first()
    )
    template = (
        survey_round.template
        if survey_round is not None
        else ReportTemplate.objects.filter(is_default=True).first()
    )
    return [b["label"] for b in template.year_buckets] if template else PRINTED_BUCKETS


def template_rows(user) -> tuple[str, str, list[str]]:
    """The unit, the row heading and the row labels of the user's empty template: a county
    (or city) lists its townships (counties), read through the scoping; a township or a
    village fills its own row."""
    scope = scope_of(user)
    region = scope.region if scope else None
    if region is None:
        return "", "单位", []
    if region.level in _PARENT_LEVELS:
        children = (
            Region.objects.visible_to(user)
            .filter(parent=region)
            .current()
            .order_by("code")
            .values_list("name", flat=True)
        )
        return region.name, row_label(region.level), list(children)
    return region.name, "乡镇" if region.level == Level.TOWNSHIP else "行政村", [region.name]


# Submissions ------------------------------------------------------------------------------


def values_of(stored: dict) -> dict[int, int]:
    """A stored {"1": n, …} as {1: n, …}."""
    return {c: int(stored.get(str(c), 0)) for c in COLUMNS}


def submission_rows(submission) -> list[tuple[str, dict[int, int]]]:
    return [(row["name"], values_of(row["values"])) for row in submission.rows]


def frozen_rows(submission) -> list[Row]:
    """A submission's rows as they were frozen, with their codes."""
    return [Row(row["code"], row["name"], values_of(row["values"])) for row in submission.rows]


def latest_submissions(user, survey_round, regions) -> dict[int, Submission]:
    """Each region's latest submission in the round (by version), read through the scoping."""
    latest: dict[int, Submission] = {}
    for submission in (
        Submission.objects.visible_to(user)
        .filter(survey_round=survey_round, region__in=regions)
        .select_related("region", "submitted_by", "reviewed_by")
        .order_by("region_id", "-version")
    ):
        latest.setdefault(submission.region_id, submission)
    return latest


def latest_by_round(user, region: Region, rounds) -> dict[int, Submission]:
    """The region's latest submission in each of the rounds, by round id."""
    latest: dict[int, Submission] = {}
    for submission in (
        Submission.objects.visible_to(user)
        .filter(region=region, survey_round__in=rounds)
        .order_by("survey_round_id", "-version")
    ):
        latest.setdefault(submission.survey_round_id, submission)
    return latest


def submission_history(user, survey_round, region: Region) -> list[Submission]:
    """Every version the region submitted in the round, newest first."""
    return list(
        Submission.objects.visible_to(user)
        .filter(survey_round=survey_round, region=region)
        .select_related("submitted_by", "reviewed_by", "region")
        .order_by("-version")
    )


@dataclass
class CountyTable:
    """The county's table as the accepted township submissions make it, and what is missing."""

    county: Region
    townships: list[tuple[Region, Submission | None]]
    rows: list[Row] = field(default_factory=list)
    total: dict[int, int] = field(default_factory=dict)
    waiting: list[tuple[Region, Submission | None]] = field(default_factory=list)

    @property
    def violations(self) -> list[Violation]:
        if self.waiting:
            return []
        return check_table([(r.name, r.values) for r in self.rows], (TOTAL_LABEL, self.total))

    @property
    def used(self) -> list[Submission]:
        return [s for _, s in self.townships if s is not None]


def county_table(user, survey_round, county: Region) -> CountyTable:
    townships, _ = child_rows(county)
    latest = latest_submissions(user, survey_round, townships)
    table = CountyTable(county, [(t, latest.get(t.pk)) for t in townships])
    for township, submission in table.townships:
        if submission is None or submission.status != SubmissionStatus.ACCEPTED:
            table.waiting.append((township, submission))
        else:
            table.rows.append(Row(township.code, township.name, values_of(submission.total)))
    table.total = {c: sum(row.values[c] for row in table.rows) for c in COLUMNS}
    return table


def seal_of(user, region: Region) -> Seal | None:
    return Seal.objects.visible_to(user).filter(region=region).first()


# Report jobs ------------------------------------------------------------------------------


# Jobs whose file holds what the person who started it may see (rows, ID numbers in full or
# masked): only that person sees them.
PERSONAL_JOB_KINDS = ["village_book"]  # reports.book.VILLAGE_BOOK


def jobs_visible_to(user):
    """Report jobs in the user's subtree; an export job or a village book only to the person
    who started it (its file holds the rows, and the identity numbers, that this person's role
    may see)."""
    return ReportJob.objects.visible_to(user).filter(
        ~Q(kind__in=[*exports.kinds(), *PERSONAL_JOB_KINDS]) | Q(created_by=user.pk)
    )


# 整村推进 targets -------------------------------------------------------------------------


def targets_by_village(user, year: int, region: Region) -> dict[int, ProgressTarget]:
    """The year's targets of the region's villages, by village id."""
    return {
        t.village_id: t
        for t in ProgressTarget.objects.visible_to(user).filter(
            year=year, village__code__startswith=region.prefix
        )
    }


def target_villages(user, region: Region, targets) -> list[Region]:
    """The region's villages a target can be entered for: the current ones, and an abolished
    one that still has a target."""
    return list(
        Region.objects.visible_to(user)
        .villages()
        .filter(code__startswith=region.prefix)
        .filter(Q(abolished=False) | Q(pk__in=targets))
        .select_related("parent")
        .order_by("code")
    )


def townships_with_targets(user, year: int, county: Region) -> list[Region]:
    """The county's townships, each with ``village_count`` and ``in_programme`` (how many of
    its villages have a target for the year)."""
    counts = dict(
        ProgressTarget.objects.visible_to(user)
        .filter(year=year, village__code__startswith=county.prefix)
        .annotate(township=Substr("village__code", 1, 9))
        .values_list("township")
        .annotate(n=Count("id"))
        .order_by()
    )
    townships = list(
        Region.objects.visible_to(user)
        .filter(parent=county, level=Level.TOWNSHIP)
        .annotate(village_count=Count("children"))
        .order_by("code")
    )
    for township in townships:
        township.in_programme = counts.get(township.prefix, 0)
    return townships


# Deadlines --------------------------------------------------------------------------------


@dataclass
class DeadlineState:
    """Where a township stands against the round's 报送截止: ``late`` when its current version
    (pending or accepted) came after the deadline, or when it has none and the deadline has
    passed; ``days`` left (negative: overdue)."""

    deadline: datetime.date
    late: bool
    text: str
    days: int


def deadline_state(survey_round, submission, today=None) -> DeadlineState | None:
    deadline = survey_round.submission_deadline
    if deadline is None:
        return None
    today = today or timezone.localdate()
    days = (deadline - today).days
    current = (
        submission
        if submission is not None
        and submission.status in (SubmissionStatus.SUBMITTED, SubmissionStatus.ACCEPTED)
        else None
    )
    if current is not None:
        on = timezone.localdate(current.submitted_at)
        if on > deadline:
            return DeadlineState(deadline, True, f"逾期上报（{on:%m-%d} 上报）", days)
        return DeadlineState(deadline, False, "按时上报", days)
    if days < 0:
        return DeadlineState(deadline, True, f"逾期未上报（已逾期 {-days} 天）", days)
    if days == 0:
        return DeadlineState(deadline, False, "今天截止", days)
    return DeadlineState(deadline, False, f"距截止还有 {days} 天", days)
