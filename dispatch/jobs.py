"""Generating a city's or the province's briefing as a Celery job (``UnitBriefingJob``).

``start_unit_briefing`` checks who asks, creates the job row and queues the task once the row
is committed (the same briefing already queued or running for the same person is returned
instead of a second job). ``run_unit_briefing`` (the task's body, ``dispatch.tasks``) claims
the job with a conditional UPDATE, so a redelivered task does nothing, generates the briefing
as its creator through ``services.generate_unit_briefing`` while writing how many counties are
counted, and ends the job as 已完成 (with the briefing) or 失败 with a Chinese message. The task
never raises. The sweeper (beat) ends the jobs whose worker died and queues again those whose
message was lost.
"""

import datetime
import logging

from django.core.exceptions import PermissionDenied, ValidationError

from core import jobs as job_rows
from core.jobs import JobStatus
from core.queue import enqueue_on_commit

from . import services
from .models import BriefingKind, UnitBriefingJob

logger = logging.getLogger(__name__)

# A province of a hundred counties with every table to count afresh takes a few minutes at
# most; past these the job is stopped (the soft limit ends it as failed, the hard one kills it).
SOFT_TIME_LIMIT = 20 * 60
TIME_LIMIT = 25 * 60
STALE_AFTER = datetime.timedelta(seconds=TIME_LIMIT + 5 * 60)
REQUEUE_AFTER = datetime.timedelta(minutes=15)
INTERRUPTED = "生成中断（服务重启或任务超时），未生成通报，请重新生成。"
FAILED = "生成失败，请稍后重新生成；如仍失败，请联系系统管理员。"


def start_unit_briefing(*, actor, kind: str) -> UnitBriefingJob:
    """Queue the briefing of ``kind`` of the unit ``actor`` manages (a city or the province);
    the same briefing already queued or running for the same person is returned instead."""
    unit = services.managed_unit(actor)
    if unit is None:
        raise PermissionDenied("只有市级、省级管理员可以生成本级调度通报。")
    if kind not in BriefingKind.values:
        raise ValidationError("请选择通报类型。")
    job, created = job_rows.create_or_active(
        UnitBriefingJob,
        same={"region": unit, "kind": kind, "created_by": actor},
        message="排队等待中…",
    )
    if not created:
        return job  # already queued or running (a double click, a second tab): that one
    from .tasks import unit_briefing_task  # the task module imports this one

    enqueue_on_commit(unit_briefing_task, job.pk, on_failure=lambda why: _not_queued(job, why))
    logger.info("unit briefing job %s (%s of %s) queued by %s", job.pk, kind, unit, actor)
    return job


def _not_queued(job: UnitBriefingJob, message: str):
    job_rows.fail(UnitBriefingJob, job.pk, JobStatus.PENDING, f"生成失败：{message}")
    logger.warning("unit briefing job %s: not queued (broker down), marked failed", job.pk)


def run_unit_briefing(job_id: int) -> str:
    """1. claim the job (pending → running: one worker runs it);
    2. generate the briefing as its creator (who must still manage the unit), counting;
    3. end it as done with the briefing, or as failed with the reason."""
    if not job_rows.claim(UnitBriefingJob, job_id, "开始统计…"):
        return "skipped"
    job = UnitBriefingJob.objects.select_related("region", "created_by").get(pk=job_id)

    def progress(done: int, total: int):
        message = f"正在统计各县（区）的数据…（{done}/{total}）"
        job_rows.progress(UnitBriefingJob, job_id, done, total, message)

    def generate():
        if not job.created_by.is_active or services.managed_unit(job.created_by) != job.region:
            raise PermissionDenied("发起人已不再管理该单位，未生成通报。")
        return services.generate_unit_briefing(
            actor=job.created_by, region=job.region, kind=job.kind, progress=progress
        )

    try:
        briefing = job_rows.guarded(
            UnitBriefingJob, job_id, generate, interrupted=INTERRUPTED, failed=FAILED
        )
    except job_rows.Failed:
        return "failed"
    job_rows.finish(UnitBriefingJob, job_id, f"已生成“{briefing.title}”。", briefing=briefing)
    return "done"


def sweep_interrupted(now: datetime.datetime | None = None) -> list[int]:
    """End as failed every job whose worker died (``core.jobs.sweep_interrupted``)."""
    return job_rows.sweep_interrupted(UnitBriefingJob, STALE_AFTER, INTERRUPTED, now)


def waiting_too_long(now: datetime.datetime | None = None) -> list[int]:
    return job_rows.waiting_too_long(UnitBriefingJob, REQUEUE_AFTER, now)
