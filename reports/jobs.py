"""Report jobs: long builds and exports run by Celery while the page shows a progress bar.

``start_job`` checks what the actor asks for and queues the task once the job row is
committed; ``run_job`` (the task's body) does the work, reading everything through the
creator's scoping, updates done/total/message as it goes and saves the result file. Any
failure ends the job as failed with a message in Chinese; the task itself never raises.
"""

import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from regions.choices import Level
from regions.models import Region
from regions.scoping import scope_of
from surveys.models import SurveyRound
from toilets.exports import params_of
from toilets.filters import InvalidFilter

from .build import build_summary
from .models import JobStatus, ReportJob
from .progress import MAX_YEAR, MIN_YEAR, PROGRESS_LEVELS, build_progress, progress_filename
from .progress import progress_workbook_bytes as progress_xlsx

logger = logging.getLogger(__name__)

SUMMARY_XLSX = "summary_xlsx"
PROGRESS_XLSX = "progress_xlsx"
KINDS = {
    SUMMARY_XLSX: "汇总表（33列）Excel",
    PROGRESS_XLSX: "整村推进每周进展情况汇总表 Excel",
}

# The list pages' exports: kind → (title, builder). A builder takes (user, params) and returns
# a toilets.exports.Export holding exactly the page's rows for that user; it is imported only
# when used (the pages import this module).
EXPORTS = {
    "export_households": ("农户台账", "toilets.exports.household_export"),
    "export_toilets": ("厕所台账", "toilets.exports.toilet_export"),
    "export_inspections": ("待核查摸排记录", "surveys.exports.inspection_export"),
    "export_ledger": ("问题台账", "rectification.exports.ledger_export"),
    "export_ledger_log": ("整改日志", "rectification.exports.log_export"),
    "export_coverage": ("全覆盖情况", "surveys.exports.coverage_export"),
    "export_missing": ("未摸排厕所", "surveys.exports.missing_export"),
}
KINDS.update({kind: f"{title} Excel 导出" for kind, (title, _) in EXPORTS.items()})
# Up to this many rows an export is sent at once; more become a job with a progress bar.
EXPORT_SYNC_MAX_ROWS = 5000
ACTIVE = [JobStatus.PENDING, JobStatus.RUNNING]
SUMMARY_LEVELS = (Level.COUNTY, Level.TOWNSHIP)


class JobFailure(Exception):
    """Ends a job as failed with this (Chinese, user-facing) message."""


def _visible_region(actor, region: Region) -> bool:
    return Region.objects.visible_to(actor).filter(pk=region.pk).exists()


def _round_for(actor, region: Region, round_id):
    """The round, visible to ``actor`` and covering ``region`` (rounds belong to a county)."""
    try:
        round_id = int(round_id)
    except (TypeError, ValueError):
        return None
    return (
        SurveyRound.objects.visible_to(actor)
        .filter(pk=round_id, county__code__startswith=region.code[:6])
        .select_related("county", "template")
        .first()
    )


# Exports ------------------------------------------------------------------------------------


def build_export(kind: str, user, params):
    """The export of ``kind`` for ``user`` and the page's ``params`` (InvalidFilter when a
    filter value is not allowed to that user)."""
    return import_string(EXPORTS[kind][1])(user, params)


def export_sync_max_rows() -> int:
    return getattr(settings, "EXPORT_SYNC_MAX_ROWS", EXPORT_SYNC_MAX_ROWS)


def export_region(user) -> Region | None:
    """The region an export job is filed under: the user's own; for a superuser without an
    assignment, the top of the tree (None when there is no region at all)."""
    scope = scope_of(user)
    if scope is None:
        return None
    if scope.region is not None:
        return scope.region
    return Region.objects.filter(parent__isnull=True).order_by("code").first()


def start_export_job(user, kind: str, params) -> ReportJob | None:
    """A job writing the export in the background, or None when there is no region to file it
    under (the caller then exports at once)."""
    region = export_region(user)
    if region is None:
        return None
    return start_job(user, kind, region, params_of(params))


def jobs_visible_to(user):
    """Report jobs in the user's subtree; an export job only to the person who started it (its
    file holds the rows, and the identity numbers, that this person's role may see)."""
    return ReportJob.objects.visible_to(user).filter(
        ~Q(kind__in=list(EXPORTS)) | Q(created_by=user.pk)
    )


def clean_params(actor, kind: str, region: Region, params: dict) -> dict:
    """What the job will build, checked against the actor's scope; a ValidationError says
    what is wrong."""
    if kind in EXPORTS:
        if export_region(actor) != region:
            raise ValidationError("导出任务按您本人的管辖范围生成。")
        params = params_of(params)
        try:
            build_export(kind, actor, params)
        except InvalidFilter as exc:
            raise ValidationError(str(exc)) from exc
        return params
    if kind == SUMMARY_XLSX:
        if region.level not in SUMMARY_LEVELS:
            raise ValidationError("汇总表按县或乡镇生成，请选择县（区）或乡镇（街道）。")
        survey_round = _round_for(actor, region, params.get("round"))
        if survey_round is None:
            raise ValidationError("请选择本县的摸排轮次。")
        return {"round": survey_round.pk}
    if kind == PROGRESS_XLSX:
        if region.level not in PROGRESS_LEVELS:
            raise ValidationError("整村推进进展表按县或乡镇生成，请选择县（区）或乡镇（街道）。")
        try:
            year = int(params.get("year"))
        except (TypeError, ValueError):
            year = 0
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValidationError(f"年度应在 {MIN_YEAR}—{MAX_YEAR} 之间。")
        return {"year": year}
    raise ValidationError("不支持的报表类型。")


def start_job(actor, kind: str, region: Region, params: dict) -> ReportJob:
    """Create the job row and queue its task after the row is committed. The same job
    already queued or running for the same person is returned instead of a second one."""
    if not _visible_region(actor, region):
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
    from .tasks import run_report_job

    transaction.on_commit(lambda: run_report_job.delay(job.pk))
    return job


def describe(job: ReportJob, user) -> str:
    """`钦南区 · 2024年 · 整村推进每周进展情况汇总表 Excel`"""
    parts = [job.region.name]
    if job.kind == PROGRESS_XLSX and "year" in job.params:
        parts.append(f"{job.params['year']}年")
    if job.kind == SUMMARY_XLSX and "round" in job.params:
        name = (
            SurveyRound.objects.visible_to(user)
            .filter(pk=job.params["round"])
            .values_list("name", flat=True)
            .first()
        )
        if name:
            parts.append(name)
    if job.kind in EXPORTS:
        name = _export_round_name(job, user)
        if name:
            parts.append(name)
    parts.append(KINDS.get(job.kind, job.kind))
    return " · ".join(parts)


def _export_round_name(job: ReportJob, user) -> str:
    round_id = job.params.get("round")
    if not isinstance(round_id, str) or not round_id.isdigit():
        return ""
    return (
        SurveyRound.objects.visible_to(user)
        .filter(pk=int(round_id))
        .values_list("name", flat=True)
        .first()
        or ""
    )


# The work ---------------------------------------------------------------------------------


def _step(job: ReportJob, done: int, total: int, message: str):
    job.done, job.total, job.message = done, total, message
    ReportJob.objects.filter(pk=job.pk).update(done=done, total=total, message=message)


def _summary(job: ReportJob) -> tuple[str, bytes, str]:
    user, region = job.created_by, job.region
    _step(job, 0, 3, "正在汇总各项数据…")
    survey_round = _round_for(user, region, job.params.get("round"))
    if survey_round is None:
        raise JobFailure("摸排轮次不存在或不在您的管辖范围内。")
    summary = build_summary(survey_round, region, user=user)
    if summary.errors:
        first = summary.errors[0].message
        raise JobFailure(
            f"有 {len(summary.errors)} 条数据问题，汇总表不准确，请先在汇总表页面查看并更正"
            f"（例如：{first}）。"
        )
    _step(job, 1, 3, "正在检查约束规则…")
    violations = summary.violations
    _step(job, 2, 3, "正在生成 Excel…")
    data = summary.xlsx()
    stamp = timezone.localtime(summary.cutoff).strftime("%Y%m%d-%H%M")
    name = f"{region.name}-{survey_round.name}-汇总表-{stamp}.xlsx"
    message = "已完成。"
    if violations:
        message = f"已完成，但有 {len(violations)} 处违反约束规则，请在汇总表页面核对。"
    return name, data, message


def _progress(job: ReportJob) -> tuple[str, bytes, str]:
    _step(job, 0, 2, "正在汇总整村推进进展…")
    table = build_progress(job.region, int(job.params["year"]), user=job.created_by)
    _step(job, 1, 2, "正在生成 Excel…")
    data = progress_xlsx(table)
    return progress_filename(table), data, "已完成。"


def _export(job: ReportJob) -> tuple[str, bytes, str]:
    """The page's rows, rebuilt for the job's creator from the stored filters."""
    try:
        export = build_export(job.kind, job.created_by, job.params)
    except InvalidFilter as exc:
        raise JobFailure(str(exc)) from exc
    total = export.count()
    _step(job, 0, total, f"正在导出，共 {total} 行…")
    data = export.xlsx(
        progress=lambda done: _step(job, done, total, f"已导出 {done} / {total} 行…")
    )
    return export.filename(), data, f"已完成，共 {total} 行。"


HANDLERS = {SUMMARY_XLSX: _summary, PROGRESS_XLSX: _progress} | {kind: _export for kind in EXPORTS}


def _fail(job_id: int, message: str):
    ReportJob.objects.filter(pk=job_id).update(
        status=JobStatus.FAILED, message=message[:300], finished_at=timezone.now()
    )


def run_job(job_id: int) -> str:
    """1. claim the job (pending → running, in SQL, so that two workers can't both run it);
    2. check that its creator still sees its region;
    3. run the kind's handler, which reports its steps;
    4. save the file and mark it done — or mark it failed with a Chinese message."""
    claimed = ReportJob.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
        status=JobStatus.RUNNING, message="开始生成…"
    )
    if not claimed:
        return "skipped"
    job = ReportJob.objects.select_related("region", "created_by").get(pk=job_id)
    try:
        handler = HANDLERS.get(job.kind)
        if handler is None:
            raise JobFailure("不支持的报表类型。")
        if not job.created_by.is_active or not _visible_region(job.created_by, job.region):
            raise JobFailure("发起人已无权查看该区划，任务未执行。")
        name, data, message = handler(job)
        job.result.save(f"job-{job.pk}.xlsx", ContentFile(data), save=False)
        job.result_name = name if len(name) <= 100 else f"{name[:95]}.xlsx"
        job.status = JobStatus.DONE
        job.done = job.total
        job.message = message[:300]
        job.finished_at = timezone.now()
        job.save()
        return "done"
    except JobFailure as exc:
        _fail(job_id, f"生成失败：{exc}")
    except SoftTimeLimitExceeded:
        _fail(job_id, "生成失败：超过时间限制，请缩小范围后重试。")
    except Exception:
        logger.exception("report job %s failed", job_id)
        _fail(job_id, "生成失败：服务器内部错误，请稍后重试；如仍失败请联系系统管理员。")
    return "failed"
