"""Report jobs: long builds and exports run by Celery while the page shows a progress bar.

``clean_params`` checks what the actor asks for (``reports.services.start_job`` creates the
job row and queues the task once it is committed); ``run_job`` (the task's body, see
``reports.tasks``) does the work, reading everything through the
creator's scoping, updates done/total/message as it goes and saves the result file. Any
failure ends the job as failed with a message in Chinese; the task itself never raises.
"""

import datetime
import logging
import os
import tempfile

from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.utils import timezone

from core.exports import exports
from core.querystring import params_of
from core.web.filters import InvalidFilter
from regions.choices import Level
from regions.models import Region
from regions.scoping import scope_of
from surveys.models import SurveyRound

from .book import LABEL as VILLAGE_BOOK_LABEL
from .book import VILLAGE_BOOK, book_filename, build_book
from .build import build_summary
from .models import JobStatus, ReportJob
from .progress import MAX_YEAR, MIN_YEAR, PROGRESS_LEVELS, build_progress, progress_filename
from .progress import progress_workbook_bytes as progress_xlsx
from .queries import visible_region

logger = logging.getLogger(__name__)

SUMMARY_XLSX = "summary_xlsx"
PROGRESS_XLSX = "progress_xlsx"
REPORT_KINDS = {
    SUMMARY_XLSX: "汇总表（33列）Excel",
    PROGRESS_XLSX: "整村推进每周进展情况汇总表 Excel",
    VILLAGE_BOOK: VILLAGE_BOOK_LABEL,
}


def kind_labels() -> dict[str, str]:
    """Every job kind with its label: the reports, then each registered list export."""
    return REPORT_KINDS | {e.kind: f"{e.title} Excel 导出" for e in exports}


ACTIVE = [JobStatus.PENDING, JobStatus.RUNNING]
# No job runs past Celery's hard time limit (CELERY_TASK_TIME_LIMIT, 30 min): one still
# running this long after its claim has lost its worker, and ``sweep_interrupted`` ends it.
STALE_AFTER = datetime.timedelta(minutes=35)
# Still pending this long: the message may be lost (Redis restarted without its data); the
# sweeper queues the job again, and a duplicate is skipped by the claim.
REQUEUE_AFTER = datetime.timedelta(minutes=15)
INTERRUPTED = "生成失败：任务执行中断，请重新提交。"
SUMMARY_LEVELS = (Level.COUNTY, Level.TOWNSHIP)


class JobFailure(Exception):
    """Ends a job as failed with this (Chinese, user-facing) message."""


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


def export_region(user) -> Region | None:
    """The region an export job is filed under: the user's own; for a superuser without an
    assignment, the top of the tree (None when there is no region at all)."""
    scope = scope_of(user)
    if scope is None:
        return None
    if scope.region is not None:
        return scope.region
    return Region.objects.filter(parent__isnull=True).order_by("code").first()


def clean_params(actor, kind: str, region: Region, params: dict) -> dict:
    """What the job will build, checked against the actor's scope; a ValidationError says
    what is wrong."""
    if kind in exports:
        if export_region(actor) != region:
            raise ValidationError("导出任务按您本人的管辖范围生成。")
        params = params_of(params)
        try:
            exports.build(kind, actor, params)
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
    if kind == VILLAGE_BOOK:
        if region.level != Level.VILLAGE:
            raise ValidationError("一村一册按行政村生成，请选择行政村。")
        survey_round = _round_for(actor, region, params.get("round"))
        if survey_round is None:
            raise ValidationError("请选择本县的摸排轮次。")
        return {"round": survey_round.pk}
    raise ValidationError("不支持的报表类型。")


def describe(job: ReportJob, user) -> str:
    """`钦南区 · 2024年 · 整村推进每周进展情况汇总表 Excel`"""
    parts = [job.region.name]
    if job.kind == PROGRESS_XLSX and "year" in job.params:
        parts.append(f"{job.params['year']}年")
    if job.kind in (SUMMARY_XLSX, VILLAGE_BOOK) and "round" in job.params:
        name = (
            SurveyRound.objects.visible_to(user)
            .filter(pk=job.params["round"])
            .values_list("name", flat=True)
            .first()
        )
        if name:
            parts.append(name)
    if job.kind in exports:
        name = _export_round_name(job, user)
        if name:
            parts.append(name)
    parts.append(kind_labels().get(job.kind, job.kind))
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
        export = exports.build(job.kind, job.created_by, job.params)
    except InvalidFilter as exc:
        raise JobFailure(str(exc)) from exc
    total = export.count()
    _step(job, 0, total, f"正在导出，共 {total} 行…")
    data = export.xlsx(
        progress=lambda done: _step(job, done, total, f"已导出 {done} / {total} 行…")
    )
    return export.filename(), data, f"已完成，共 {total} 行。"


def _village_book(job: ReportJob) -> tuple[str, File, str]:
    """The book, written to a temporary file (see reports.book) that run_job saves."""
    survey_round = _round_for(job.created_by, job.region, job.params.get("round"))
    if survey_round is None:
        raise JobFailure("摸排轮次不存在或不在您的管辖范围内。")
    out = tempfile.TemporaryFile()
    try:
        book = build_book(
            job.created_by,
            job.region,
            survey_round,
            out,
            progress=lambda done, total, message: _step(job, done, total, message),
        )
    except BaseException:
        out.close()
        raise
    out.seek(0)
    images = book.images
    message = f"已完成，共 {book.households} 户，照片 {images.embedded} 张。"
    if images.left_out:
        message += f"另有 {images.left_out} 张照片超出本册容量未嵌入。"
    if images.missing:
        message += f"{images.missing} 张照片文件缺失。"
    return book_filename(job.region, survey_round, book.cutoff), File(out), message


HANDLERS = {SUMMARY_XLSX: _summary, PROGRESS_XLSX: _progress, VILLAGE_BOOK: _village_book}


def handler_for(kind: str):
    return HANDLERS.get(kind) or (_export if kind in exports else None)


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
        status=JobStatus.RUNNING, message="开始生成…", claimed_at=timezone.now()
    )
    if not claimed:
        return "skipped"
    job = ReportJob.objects.select_related("region", "created_by").get(pk=job_id)
    try:
        handler = handler_for(job.kind)
        if handler is None:
            raise JobFailure("不支持的报表类型。")
        if not job.created_by.is_active or not visible_region(job.created_by, job.region):
            raise JobFailure("发起人已无权查看该区划，任务未执行。")
        name, data, message = handler(job)
        # A handler returns bytes, or a File it wrote (the village book), closed once saved.
        content = data if isinstance(data, File) else ContentFile(data)
        stem, suffix = os.path.splitext(name)
        try:
            job.result.save(f"job-{job.pk}{suffix}", content, save=False)
        finally:
            content.close()
        job.result_name = name if len(name) <= 100 else f"{stem[: 100 - len(suffix)]}{suffix}"
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


def sweep_interrupted(now: datetime.datetime | None = None) -> list[int]:
    """End as failed every job still running ``STALE_AFTER`` after its claim: its worker died
    (``kill -9``, out of memory, a restart). Its file was never saved (only a finished job
    saves one). Guarded by the status in the UPDATE; returns the ids ended."""
    before = (now or timezone.now()) - STALE_AFTER
    stale = ReportJob.objects.filter(status=JobStatus.RUNNING, claimed_at__lt=before)
    ids = list(stale.values_list("pk", flat=True))
    if ids:
        ReportJob.objects.filter(pk__in=ids, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED, message=INTERRUPTED, finished_at=timezone.now()
        )
        logger.warning("report jobs %s: running with no worker since %s, failed", ids, before)
    return ids


def waiting_too_long(now: datetime.datetime | None = None) -> list[int]:
    """Jobs pending more than ``REQUEUE_AFTER``: the sweeper queues them again."""
    before = (now or timezone.now()) - REQUEUE_AFTER
    waiting = ReportJob.objects.filter(status=JobStatus.PENDING, created_at__lt=before)
    return list(waiting.values_list("pk", flat=True))
