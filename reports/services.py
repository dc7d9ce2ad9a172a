"""Moving the summary table up the hierarchy, and the units' seals.

Township → county: a township submits its rows (refused while the build has a data error or
breaks a rule); the county accepts or returns each township's latest version; when every
township's latest version is accepted, the county submits its table, which freezes the numbers,
renders the stamped spreadsheet and gets a verification code. Every write is one atomic call
taking ``actor=`` that checks capability and region, guards the state it starts from in SQL (a
conditional UPDATE, a row lock, the unique version number), and is logged. A submission's
numbers never change afterwards; a correction is a new version.
"""

import datetime
import hashlib
import logging
import secrets
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from core.concurrency import check_version
from core.errors import ConflictError
from core.querystring import params_of
from core.queue import enqueue_on_commit
from core.uploads import BadImage, open_image
from rectification.choices import LedgerState
from regions.choices import (
    MANAGE_ROUNDS,
    MANAGE_SEAL,
    REVIEW_SUBMISSIONS,
    SUBMIT_COUNTY,
    SUBMIT_TOWNSHIP,
    Level,
)
from regions.guards import require
from regions.models import Region
from regions.scoping import scope_of
from surveys.choices import RoundStatus
from surveys.models import Inspection, SurveyRound
from toilets.choices import ToiletKind

from . import completeness
from .build import TOTAL_LABEL, Summary, build_summary, round_entries
from .columns import COLUMNS
from .jobs import ACTIVE, clean_params, export_region
from .models import (
    STAMPED_KINDS,
    JobStatus,
    ReportJob,
    Seal,
    Submission,
    SubmissionKind,
    SubmissionStatus,
)
from .queries import (
    bucket_labels,
    county_table,
    submission_rows,
    values_of,
    visible_region,
)
from .sheet import (
    TITLE_SUFFIX,
    VERIFY_MAX_BYTES,
    VERIFY_MAX_MEMBER,
    SheetFormatError,
    read_summary,
    row_label,
)
from .stamp import code_in_file, data_digest, stamped_workbook
from .tasks import run_report_job

logger = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed back
CODE_LENGTH = 10
REASON_MAX = 300
SEAL_MAX_BYTES = 2 * 1024 * 1024
SEAL_MIN_PIXELS = 100
SEAL_MAX_PIXELS = 4000
SEAL_FORMATS = {"PNG": "png", "JPEG": "jpg"}


class Refused(ConflictError):
    """The submission was refused and nothing was written; ``details`` lists why (data errors,
    rule violations, townships not yet accepted)."""

    def __init__(self, message, details=()):
        super().__init__(message)
        self.details = list(details)


# Stored numbers, waiting townships --------------------------------------------------------


def stored_values(values: dict[int, int]) -> dict[str, int]:
    return {str(c): int(values.get(c, 0)) for c in COLUMNS}


def waiting_text(township: Region, submission: Submission | None) -> str:
    if submission is None:
        return f"{township.name}（未上报）"
    if submission.status == SubmissionStatus.RETURNED:
        return f"{township.name}（已退回，待重新上报）"
    return f"{township.name}（{submission.get_status_display()}，待接收）"


# Guards -----------------------------------------------------------------------------------


def _unit(actor, region: Region, level: Level, what: str):
    if region.level != level:
        raise PermissionDenied(f"{what}须由{Level(level).label}一级报送。")
    if not visible_region(actor, region):
        raise PermissionDenied(f"{region.name}不在您的管辖范围内。")


def _round_for(survey_round, region: Region):
    if not region.code.startswith(survey_round.county.prefix):
        raise PermissionDenied(f"{region.name}不属于“{survey_round.name}”的县（区）。")
    if survey_round.status == RoundStatus.DRAFT:
        raise ConflictError(f"“{survey_round.name}”尚未开启，还没有可上报的数据。")


def clean_filler(filler_name, filler_phone, filled_on, *, today=None) -> tuple[str, str]:
    """The footer of the form: who filled it in, a phone number, the date."""
    today = today or timezone.localdate()
    name = (filler_name or "").strip()
    phone = (filler_phone or "").strip()
    errors = {}
    if not name:
        errors["filler_name"] = "请填写填报人。"
    elif len(name) > 50:
        errors["filler_name"] = "填报人不能超过 50 字。"
    if not phone:
        errors["filler_phone"] = "请填写联系电话。"
    elif not phone.replace("-", "").isdigit() or not 7 <= len(phone) <= 20:
        errors["filler_phone"] = "联系电话只能包含数字和“-”，7–20 位。"
    if not isinstance(filled_on, datetime.date):
        errors["filled_on"] = "请填写填报日期。"
    elif filled_on > today:
        errors["filled_on"] = "填报日期不能晚于今天。"
    if errors:
        raise ValidationError(errors)
    return name, phone


# Township → county ------------------------------------------------------------------------


def entry_sources(survey_round, region: Region, cutoff, user) -> dict:
    """The ids behind the numbers: the ledger entries counted in 6, 9, 29 and 32 (the other
    problem columns split these same entries) and the villages counted in 5."""
    entries = {"6": [], "9": [], "29": [], "32": []}
    for pk, kind, state, closed_at in (
        round_entries(survey_round, cutoff, user)
        .filter(toilet__village__code__startswith=region.prefix)
        .values_list("id", "toilet__kind", "state", "closed_at")
        .order_by("id")
    ):
        household = kind == ToiletKind.HOUSEHOLD
        entries["6" if household else "9"].append(pk)
        if state == LedgerState.CLOSED and closed_at is not None and closed_at <= cutoff:
            entries["29" if household else "32"].append(pk)
    villages = list(
        Inspection.objects.visible_to(user)
        .filter(
            round=survey_round,
            toilet__village__code__startswith=region.prefix,
            inspected_at__lte=cutoff,
        )
        .order_by("toilet__village__code")
        .values_list("toilet__village__code", flat=True)
        .distinct()
    )
    return {"entries": entries, "villages": villages}


def township_summary(actor, survey_round, township: Region, cutoff=None) -> Summary:
    """The township's own table: one row per village; its 合计 is the township's row in the
    county table (every column is a count, so the villages add up to it)."""
    return build_summary(survey_round, township, cutoff, user=actor)


def refusal_details(summary: Summary) -> list[str]:
    return [f"数据问题：{e.message}" for e in summary.errors] + [
        f"违反规则 {v.rule}：{v.message}" for v in summary.violations
    ]


def _round_closed(survey_round, what: str):
    """The gate's first part: nothing is submitted while the survey is still going on."""
    current = type(survey_round).objects.filter(pk=survey_round.pk).values("status").first()
    if current and current["status"] == RoundStatus.OPEN:
        raise Refused(
            f"“{survey_round.name}”尚在进行中，不能{what}。",
            [f"摸排全覆盖须在轮次结束后确认：请县级管理员结束本轮摸排（关闭轮次）后再{what}。"],
        )


def _lock_closed_round(survey_round, what: str):
    """Inside the submission's transaction: the round's row locked (a reopen waits for the
    submission, or the submission for the reopen) and still closed."""
    status = (
        SurveyRound.objects.select_for_update()
        .filter(pk=survey_round.pk)
        .values_list("status", flat=True)
        .first()
    )
    if status != RoundStatus.CLOSED:
        raise ConflictError(f"“{survey_round.name}”刚刚被重新开启，不能{what}；请刷新后查看。")


INCOMPLETE_MESSAGE = (
    "有 {n} 个村的在用厕所未全部摸排并核查，且没有相符的例外说明，不能{what}（全覆盖、不漏一户）。"
)


def township_coverage(
    actor, survey_round, township: Region, exceptions
) -> tuple[completeness.Coverage, dict]:
    """The gate's second part for a township: every toilet in use registered in the township
    has a verified inspection, or the exception recorded for its village covers exactly the
    village's incomplete toilets. Returns the coverage and what the submission freezes."""
    coverage = completeness.coverage_of(actor, survey_round, township)
    exceptions = list(exceptions or ())
    problems = completeness.input_problems(exceptions, coverage)
    if problems:
        raise Refused(f"例外说明有 {len(problems)} 处填写有误，未上报。", problems)
    given = {item.village_code: {"toilets": item.toilets} for item in exceptions}
    problems = completeness.coverage_problems(survey_round, coverage, given)
    if problems:
        raise Refused(INCOMPLETE_MESSAGE.format(n=len(problems), what="上报"), problems)
    villages = coverage.by_code()
    frozen = completeness.frozen(
        coverage,
        [
            completeness.frozen_exception(villages[item.village_code], item)
            for item in sorted(exceptions, key=lambda item: item.village_code)
        ],
    )
    return coverage, frozen


def submit_township(
    *,
    actor,
    survey_round,
    township: Region,
    filler_name,
    filler_phone,
    filled_on,
    exceptions=(),
) -> Submission:
    """Build, check and submit the township's rows as a new version.

    1. Guards: the township-submit capability, the township in the actor's region and in the
       round's county, the round opened and closed again (refused while it is open).
    2. Build at a fixed cut-off through the actor's scoping; any data error or broken rule
       refuses the submission (Refused, with the list).
    3. 全覆盖: every toilet in use registered in the township has a verified inspection, or an
       exception (``exceptions``: ``completeness.ExceptionInput`` per village) covers exactly
       its village's incomplete toilets; else Refused, per village, with links.
    4. Lock the previous latest version, supersede it if still pending, insert version+1 with
       the rows, the 合计, the cut-off, the ids behind the numbers and the frozen coverage and
       exceptions (a concurrent submission of the same version fails on the unique version and
       is refused).
    """
    require(actor, SUBMIT_TOWNSHIP, "只有乡镇审核员可以上报乡镇汇总数据。")
    _unit(actor, township, Level.TOWNSHIP, "乡镇汇总数据")
    _round_for(survey_round, township)
    name, phone = clean_filler(filler_name, filler_phone, filled_on)
    _round_closed(survey_round, "上报")

    cutoff = timezone.now()
    summary = township_summary(actor, survey_round, township, cutoff)
    if summary.errors or summary.violations:
        raise Refused(
            f"有 {len(summary.errors)} 条数据问题、{len(summary.violations)} 处违反约束规则，"
            "不能上报。请先更正后再上报。",
            refusal_details(summary),
        )
    _coverage, frozen_coverage = township_coverage(actor, survey_round, township, exceptions)
    sources = entry_sources(survey_round, township, cutoff, actor)
    rows = [
        {"code": row.code, "name": row.name, "values": stored_values(row.values)}
        for row in summary.rows
    ]
    try:
        with transaction.atomic():
            _lock_closed_round(survey_round, "上报")
            previous = (
                Submission.objects.select_for_update()
                .filter(survey_round=survey_round, region=township)
                .order_by("-version")
                .first()
            )
            if previous is not None and previous.status == SubmissionStatus.SUBMITTED:
                Submission.objects.filter(pk=previous.pk, status=SubmissionStatus.SUBMITTED).update(
                    status=SubmissionStatus.SUPERSEDED
                )
            submission = Submission.objects.create(
                survey_round=survey_round,
                region=township,
                kind=SubmissionKind.TOWNSHIP,
                version=(previous.version if previous else 0) + 1,
                status=SubmissionStatus.SUBMITTED,
                cutoff=cutoff,
                rows=rows,
                total=stored_values(summary.total),
                sources=sources,
                coverage=frozen_coverage,
                submitted_by=actor,
                filler_name=name,
                filler_phone=phone,
                filled_on=filled_on,
            )
    except IntegrityError as exc:
        raise ConflictError("本乡镇刚刚有人上报了新版本，请刷新后查看。") from exc
    logger.info(
        "township %s submitted v%s of round %s (submission %s) by %s",
        township.code,
        submission.version,
        survey_round.pk,
        submission.pk,
        actor,
    )
    return submission


def _review(actor, submission: Submission, expected_version, to_status, reason=""):
    require(actor, REVIEW_SUBMISSIONS, "只有县级管理员可以接收或退回乡镇上报。")
    current = (
        Submission.objects.visible_to(actor)
        .select_related("region")
        .filter(pk=submission.pk)
        .first()
    )
    if current is None:
        raise PermissionDenied("该上报不在您的管辖范围内。")
    if current.kind != SubmissionKind.TOWNSHIP:
        raise ConflictError("县级报送不需要接收或退回。")
    check_version(current.version, expected_version, "该乡镇的上报已有变化，请刷新后查看最新版本。")
    now = timezone.now()
    with transaction.atomic():
        moved = Submission.objects.filter(pk=current.pk, status=SubmissionStatus.SUBMITTED).update(
            status=to_status, reviewed_by=actor, reviewed_at=now, return_reason=reason
        )
        if not moved:
            current.refresh_from_db()
            raise ConflictError(
                f"{current.region.name}第{current.version}版当前为"
                f"“{current.get_status_display()}”，不能再接收或退回；请刷新后查看最新版本。"
            )
    current.refresh_from_db()
    logger.info(
        "submission %s (%s v%s) %s by %s",
        current.pk,
        current.region.code,
        current.version,
        to_status,
        actor,
    )
    return current


def accept_submission(*, actor, submission: Submission, expected_version=None) -> Submission:
    """The county accepts a township's pending version (only a SUBMITTED one; two clicks or
    two users: exactly one wins)."""
    return _review(actor, submission, expected_version, SubmissionStatus.ACCEPTED)


def return_submission(
    *, actor, submission: Submission, reason: str, expected_version=None
) -> Submission:
    """The county returns a township's pending version with a reason the township will see."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "请填写退回原因，乡镇将据此更正后重新上报。"})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"退回原因不能超过 {REASON_MAX} 字。"})
    return _review(actor, submission, expected_version, SubmissionStatus.RETURNED, reason)


# Re-opening a closed round ---------------------------------------------------------------


REOPEN_NOTE = "轮次已重新开启（{reason}），本版上报已失效；轮次再次结束后请补齐摸排核查并重新上报。"


def reopen_round(*, actor, survey_round, reason: str) -> SurveyRound:
    """The county re-opens a closed round (CLOSED → OPEN) for more survey work.

    Refused once the county has submitted its stamped table for the round (that table went
    upward and stays final). The townships' pending and accepted versions of the round are
    returned with the reason: their coverage was checked against the closed round, so once the
    round is closed again each township submits again (a version made before the reopen never
    silently counts). Atomic: the round's row is locked (a township or county submission in
    flight waits, then finds the round open and is refused)."""
    require(actor, MANAGE_ROUNDS, "只有县级管理员可以重新开启摸排轮次。")
    if not SurveyRound.objects.visible_to(actor).filter(pk=survey_round.pk).exists():
        raise PermissionDenied("不是本县的摸排轮次。")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "请填写重新开启的原因，乡镇将看到它。"})
    if len(reason) > 100:
        raise ValidationError({"reason": "重新开启的原因不能超过 100 字。"})
    now = timezone.now()
    try:
        with transaction.atomic():
            current = SurveyRound.objects.select_for_update().get(pk=survey_round.pk)
            if current.status != RoundStatus.CLOSED:
                raise ConflictError(
                    f"该轮次当前状态为“{current.get_status_display()}”，只有已结束的轮次可以重新开启。"
                )
            if Submission.objects.filter(survey_round=current, kind=SubmissionKind.COUNTY).exists():
                raise ConflictError("本县已报送本轮的盖章汇总表，不能再重新开启本轮摸排。")
            SurveyRound.objects.filter(pk=current.pk).update(
                status=RoundStatus.OPEN, closed_at=None
            )
            returned = Submission.objects.filter(
                survey_round=current,
                kind=SubmissionKind.TOWNSHIP,
                status__in=[SubmissionStatus.SUBMITTED, SubmissionStatus.ACCEPTED],
            ).update(
                status=SubmissionStatus.RETURNED,
                reviewed_by=actor,
                reviewed_at=now,
                return_reason=REOPEN_NOTE.format(reason=reason)[:REASON_MAX],
            )
    except IntegrityError as exc:
        raise ConflictError("本县已有进行中的摸排轮次，请先结束它。") from exc
    survey_round.refresh_from_db()
    logger.info(
        "round %s reopened by %s (%s township submissions returned): %s",
        survey_round.pk,
        actor,
        returned,
        reason,
    )
    return survey_round


# The county's stamped table ---------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """What a person types back: spaces, dashes and lower case are forgiven."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def county_coverage(actor, survey_round, county: Region, used) -> dict:
    """The county's gate over its townships: every toilet in use registered in the county has a
    verified inspection, or the exception frozen in its township's accepted submission still
    covers exactly its village's incomplete toilets. Returns what the submission freezes."""
    coverage = completeness.coverage_of(actor, survey_round, county)
    given = {}
    for submission in used:
        for item in (submission.coverage or {}).get("exceptions", []):
            given[item["village"]] = item
    problems = completeness.coverage_problems(survey_round, coverage, given)
    if problems:
        raise Refused(
            INCOMPLETE_MESSAGE.format(n=len(problems), what="报送县级汇总表")
            + "请退回相关乡镇，由乡镇补齐摸排核查或填写例外说明后重新上报。",
            problems,
        )
    return completeness.frozen(coverage, [given[code] for code in sorted(given)])


def submit_county(
    *, actor, survey_round, county: Region, filler_name, filler_phone, filled_on
) -> Submission:
    """Submit the county table from the townships' accepted rows, stamped.

    1. Guards: the county-submit capability, the actor's county, the round's county.
    2. Lock the townships' latest submissions, then read them again: every township's latest
       version must be accepted (a township that resubmitted meanwhile shows up here).
    3. The rows are the accepted townships' frozen 合计 rows (not a fresh build), plus 合计;
       any broken rule refuses.
    4. Version+1 with a fresh verification code; render the stamped workbook with the seal,
       store it with its SHA-256. A file written for a transaction that fails is removed.
    """
    require(actor, SUBMIT_COUNTY, "只有县级管理员可以报送县级汇总表。")
    _unit(actor, county, Level.COUNTY, "县级汇总表")
    _round_for(survey_round, county)
    name, phone = clean_filler(filler_name, filler_phone, filled_on)
    _round_closed(survey_round, "报送县级汇总表")

    stored_file = None
    try:
        with transaction.atomic():
            _lock_closed_round(survey_round, "报送县级汇总表")
            first = county_table(actor, survey_round, county)
            list(
                Submission.objects.select_for_update()
                .filter(pk__in=[s.pk for s in first.used])
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            table = county_table(actor, survey_round, county)
            if table.waiting:
                raise Refused(
                    f"还有 {len(table.waiting)} 个乡镇的上报未接收，不能报送县级汇总表。",
                    [waiting_text(t, s) for t, s in table.waiting],
                )
            if {s.pk for s in table.used} != {s.pk for s in first.used}:
                raise ConflictError("刚刚有乡镇重新上报，请刷新后再报送。")
            violations = table.violations
            if violations:
                raise Refused(
                    f"汇总表有 {len(violations)} 处违反约束规则，不能报送。",
                    [f"违反规则 {v.rule}：{v.message}" for v in violations],
                )
            frozen_coverage = county_coverage(actor, survey_round, county, table.used)
            previous = (
                Submission.objects.filter(survey_round=survey_round, region=county).aggregate(
                    v=Max("version")
                )["v"]
                or 0
            )
            now = timezone.now()
            cutoff = max(s.cutoff for s in table.used) if table.used else now
            rows = [
                {"code": row.code, "name": row.name, "values": stored_values(row.values)}
                for row in table.rows
            ]
            seal = Seal.objects.filter(region=county).first()
            seal_bytes = _read(seal.image) if seal else None
            for _attempt in range(5):
                code = new_code()
                if not Submission.objects.filter(code=code).exists():
                    break
            workbook = stamped_workbook(
                title=f"{county.name}{TITLE_SUFFIX}（{survey_round.name}）",
                unit=county.name,
                row_label=row_label(Level.COUNTY),
                rows=[(row.name, row.values) for row in table.rows],
                total=table.total,
                filler=name,
                phone=phone,
                filled_on=filled_on,
                bucket_labels=bucket_labels(survey_round),
                code=code,
                version=previous + 1,
                round_name=survey_round.name,
                submitted_at=timezone.localtime(now),
                seal=seal_bytes,
                coverage_notes=completeness.note_lines(frozen_coverage),
            )
            digest = hashlib.sha256(workbook).hexdigest()
            submission = Submission(
                survey_round=survey_round,
                region=county,
                kind=SubmissionKind.COUNTY,
                version=previous + 1,
                status=SubmissionStatus.FINAL,
                cutoff=cutoff,
                rows=rows,
                total=stored_values(table.total),
                sources={
                    "townships": [
                        {
                            "region": s.region.code,
                            "name": s.region.name,
                            "submission": s.pk,
                            "version": s.version,
                            "cutoff": s.cutoff.isoformat(),
                        }
                        for s in table.used
                    ],
                    "seal": bool(seal_bytes),
                },
                coverage=frozen_coverage,
                submitted_by=actor,
                filler_name=name,
                filler_phone=phone,
                filled_on=filled_on,
                code=code,
                sha256=digest,
            )
            submission.file.save(
                f"{county.code[:6]}_{survey_round.pk}_v{previous + 1}_{code}.xlsx",
                ContentFile(workbook),
                save=False,
            )
            stored_file = submission.file
            submission.save()
    except IntegrityError as exc:
        _remove(stored_file)
        raise ConflictError("本县刚刚有人报送了新版本，请刷新后查看。") from exc
    except Exception:
        _remove(stored_file)
        raise
    logger.info(
        "county %s submitted v%s of round %s (submission %s, code %s, sha256 %s) by %s",
        county.code,
        submission.version,
        survey_round.pk,
        submission.pk,
        submission.code,
        submission.sha256,
        actor,
    )
    return submission


def _read(field_file) -> bytes | None:
    try:
        with field_file.open("rb") as handle:
            return handle.read()
    except (FileNotFoundError, ValueError):
        return None


def _remove(field_file):
    if field_file:
        field_file.storage.delete(field_file.name)


# Seals ------------------------------------------------------------------------------------


def clean_seal(upload) -> tuple[bytes, str]:
    """A PNG or JPEG of at most 2 MB that Pillow can fully decode, of a sensible size."""
    if upload is None:
        raise ValidationError({"image": "请选择印章图片。"})
    if upload.size > SEAL_MAX_BYTES:
        raise ValidationError({"image": "印章图片不能超过 2 MB。"})
    data = upload.read()
    try:
        # Format and size come from the header: nothing larger than SEAL_MAX_PIXELS a side
        # is decoded (the 4000 px check used to run after a full decode).
        with open_image(
            data,
            formats=SEAL_FORMATS,
            max_pixels=SEAL_MAX_PIXELS * SEAL_MAX_PIXELS,
            max_side=SEAL_MAX_PIXELS,
        ) as image:
            width, height = image.size
            kind = image.format
    except BadImage as exc:
        if exc.reason == BadImage.TOO_LARGE:
            raise ValidationError(
                {"image": f"印章图片太大，宽和高不超过 {SEAL_MAX_PIXELS} 像素。"}
            ) from exc
        if exc.reason == BadImage.FORMAT:
            raise ValidationError({"image": "印章图片只能是 PNG 或 JPEG 格式。"}) from exc
        raise ValidationError(
            {"image": "无法识别该图片，请上传 PNG 或 JPEG 格式的印章图片。"}
        ) from exc
    if min(width, height) < SEAL_MIN_PIXELS:
        raise ValidationError({"image": f"印章图片太小，宽和高至少 {SEAL_MIN_PIXELS} 像素。"})
    return data, SEAL_FORMATS[kind]


def seal_unit(actor) -> Region | None:
    """The unit whose seal the actor administers: its own city, county or township."""
    scope = scope_of(actor)
    region = scope.region if scope is not None else None
    if region is None or region.level not in (Level.CITY, Level.COUNTY, Level.TOWNSHIP):
        return None
    return region


def upload_seal(*, actor, region: Region, image) -> Seal:
    """Upload or replace the unit's seal; the old image is removed once the new one is saved."""
    require(actor, MANAGE_SEAL, "只有乡镇、县级、市级管理员可以上传本单位印章。")
    if seal_unit(actor) != region:
        raise PermissionDenied("只能上传本单位的印章。")
    data, ext = clean_seal(image)
    digest = hashlib.sha256(data).hexdigest()
    new_file = ContentFile(data, name=f"seal_{region.code}_{digest[:12]}.{ext}")
    stored = None
    try:
        with transaction.atomic():
            seal = Seal.objects.select_for_update().filter(region=region).first()
            old_name = seal.image.name if seal else ""
            if seal is None:
                seal = Seal(region=region, uploaded_by=actor)
            seal.uploaded_by = actor
            seal.image.save(new_file.name, new_file, save=False)
            stored = seal.image
            seal.save()
            if old_name and old_name != seal.image.name:
                storage = seal.image.storage
                transaction.on_commit(lambda: storage.delete(old_name))
    except Exception:
        _remove(stored)
        raise
    logger.info("seal of %s uploaded by %s (%s)", region.code, actor, digest)
    return seal


# Verification (public) --------------------------------------------------------------------


VERIFIED = "核验通过"
NOT_FOUND = "未找到"
MISMATCH = "文件内容与报送记录不一致"
DIFFERENCES_SHOWN = 10


@dataclass
class Verdict:
    """The verify page's answer. It reveals only the unit, round, version, who and when, and
    the 合计 row of the matched submission."""

    answer: str
    submission: Submission | None = None
    notes: list[str] = field(default_factory=list)
    newer_version: int | None = None

    @property
    def ok(self) -> bool:
        return self.answer == VERIFIED


def _stamped():
    return Submission.objects.filter(
        kind__in=STAMPED_KINDS, status=SubmissionStatus.FINAL
    ).select_related("region", "survey_round", "collection", "submitted_by")


def _verdict(answer, submission, notes=()) -> Verdict:
    verdict = Verdict(answer, submission, list(notes))
    if submission is not None:
        latest = (
            Submission.objects.filter(
                survey_round=submission.survey_round_id,
                collection=submission.collection_id,
                region=submission.region_id,
            ).aggregate(v=Max("version"))["v"]
            or 0
        )
        if latest > submission.version:
            verdict.newer_version = latest
    return verdict


def verify_code(text: str) -> Verdict:
    code = normalize_code(text)
    submission = _stamped().filter(code=code).first() if code else None
    if submission is None:
        return Verdict(
            NOT_FOUND, notes=[f"没有核验码为“{code or text}”的报送记录，请核对后重新输入。"]
        )
    return _verdict(VERIFIED, submission, ["核验码与报送记录一致。"])


def differences(submission, parsed) -> list[str]:
    """Which rows or cells of a read-back sheet differ from the submission (not their values)."""
    expected = [*submission_rows(submission), (TOTAL_LABEL, values_of(submission.total))]
    got = list(parsed.rows) + ([parsed.total] if parsed.total else [])
    found = []
    expected_labels = [label for label, _ in expected]
    got_labels = [str(label).strip() for label, _ in got]
    if expected_labels != got_labels:
        found.append("表中各行与报送记录不同（行数或单位名称不一致）。")
    for (label, want), (_, have) in zip(expected, got, strict=False):
        for column in COLUMNS:
            if want.get(column, 0) != have.get(column, 0):
                found.append(f"{label} 第{column}列")
    return found


def verify_file(data: bytes) -> Verdict:
    """Match a file by its SHA-256; failing that (a re-saved copy), by the code it carries and
    the numbers read back from it."""
    if len(data) > VERIFY_MAX_BYTES:  # the form refuses it first; a stamped file is small
        return Verdict(NOT_FOUND, notes=["文件过大，不是系统生成的盖章汇总表。"])
    digest = hashlib.sha256(data).hexdigest()
    submission = _stamped().filter(sha256=digest).first()
    if submission is not None:
        return _verdict(
            VERIFIED, submission, ["文件与报送时生成的盖章汇总表完全相同（文件指纹一致）。"]
        )
    try:
        parsed = read_summary(data, max_member=VERIFY_MAX_MEMBER)
    except SheetFormatError as exc:
        return Verdict(NOT_FOUND, notes=[f"无法按汇总表格式读取该文件：{exc}"])
    code = code_in_file(data, max_member=VERIFY_MAX_MEMBER)
    if not code:
        return Verdict(NOT_FOUND, notes=["文件中没有核验码，文件指纹也与所有报送记录都不相同。"])
    submission = _stamped().filter(code=code).first()
    if submission is None:
        return Verdict(NOT_FOUND, notes=[f"文件中的核验码“{code}”没有对应的报送记录。"])
    notes = [
        f"文件与报送时生成的文件不是同一个文件（文件指纹不同），按文件中的核验码 {code} 比对数字。"
    ]
    rows = submission_rows(submission)
    same = (
        not parsed.errors
        and parsed.total is not None
        and data_digest(parsed.rows, parsed.total[1]) == data_digest(rows, submission.total)
    )
    if same:
        notes.append("文件中的数字与报送记录一致（文件可能被重新保存过）。")
        return _verdict(VERIFIED, submission, notes)
    found = differences(submission, parsed)
    shown = found[:DIFFERENCES_SHOWN]
    more = f" 等 {len(found)} 处" if len(found) > DIFFERENCES_SHOWN else ""
    notes.append(
        "与报送记录不同的位置：" + "、".join(shown) + more if shown else "文件中的数字无法读取。"
    )
    return _verdict(MISMATCH, submission, notes)


# Report jobs --------------------------------------------------------------------------------


def start_export_job(user, kind: str, params) -> ReportJob | None:
    """A job writing the export in the background, or None when there is no region to file it
    under (the caller then exports at once)."""
    region = export_region(user)
    if region is None:
        return None
    return start_job(user, kind, region, params_of(params))


def start_job(actor, kind: str, region: Region, params: dict) -> ReportJob:
    """Create the job row and queue its task after the row is committed. The same job
    already queued or running for the same person is returned instead of a second one."""
    if not visible_region(actor, region):
        raise PermissionDenied("该区划不在您的管辖范围内。")
    params = clean_params(actor, kind, region, params)
    for job in ReportJob.objects.filter(
        kind=kind, region=region, created_by=actor, status__in=ACTIVE
    ):
        if job.params == params:
            return job
    job = ReportJob.objects.create(
        kind=kind, region=region, params=params, created_by=actor, message="排队等待中…"
    )
    enqueue_on_commit(run_report_job, job.pk, on_failure=lambda why: _not_queued(job, why))
    return job


def _not_queued(job: ReportJob, message: str):
    """The job could not be queued: it ends as failed with the reason (not left 排队等待中),
    so that starting the same report again makes a new job."""
    ReportJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
        status=JobStatus.FAILED, message=f"生成失败：{message}"[:300], finished_at=timezone.now()
    )
    logger.warning("report job %s: not queued (broker down), marked failed", job.pk)
