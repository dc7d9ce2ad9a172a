"""Drawing a city's or the province's spot-check campaign as a Celery job (``CampaignDrawJob``).

``start_draw`` checks the form's values as the draw will (``campaigns.check_draw``: the
errors go back to the form), fixes the seed, creates the job row and queues the task once
it is committed; the same person's draw already queued or running is returned instead of a
second one. ``run_draw`` (the task's body, ``surveys.tasks``) claims the job, draws as its
creator through ``campaigns.draw_campaign`` (all or nothing) while writing how many counties
are done, and ends the job as 已完成 (with the campaign) or 失败 with the reason in Chinese.
The task never raises; beat's ``surveys.sweep_draws`` ends the jobs whose worker died and
queues again those whose message was lost.
"""

import datetime
import logging

from django.core.exceptions import PermissionDenied, ValidationError

from core import jobs as job_rows
from core.jobs import JobStatus
from core.queue import enqueue_on_commit

from . import campaigns
from .models import CampaignDrawJob

logger = logging.getLogger(__name__)

# A province's draw reads every county's inspections once: minutes at the most.
SOFT_TIME_LIMIT = 20 * 60
TIME_LIMIT = 25 * 60
STALE_AFTER = datetime.timedelta(seconds=TIME_LIMIT + 5 * 60)
REQUEUE_AFTER = datetime.timedelta(minutes=15)
INTERRUPTED = (
    "抽取中断（服务重启或任务超时）：请在抽查列表中查看本次抽查是否已抽取，未抽取的请重新抽取。"
)
FAILED = "抽取失败，未抽取任何样本，请稍后重新抽取；如仍失败，请联系系统管理员。"


def start_draw(*, actor, name, per_village=None, percent=None, seed=None) -> CampaignDrawJob:
    """Queue a draw of the actor's unit; ValidationError (for the form) when the values are
    refused, or while another draw of the person's is queued or running (the same draw asked
    again returns that one). The seed is fixed now, so that a retried task draws the same
    sample."""
    unit, name, seed = campaigns.check_draw(
        actor=actor, name=name, per_village=per_village, percent=percent, seed=seed
    )
    values = {"name": name, "per_village": per_village, "by_percent": percent}
    job, created = job_rows.create_or_active(
        CampaignDrawJob,
        same={"region": unit, "created_by": actor},  # one draw of the person's at a time
        seed=seed,
        message="排队等待中…",
        **values,
    )
    if not created:
        if all(getattr(job, key) == value for key, value in values.items()):
            return job  # the same draw asked twice (a double click)
        raise ValidationError(f"您的上一次抽取（“{job.name}”）还在进行中，请等它完成后再抽取。")
    from .tasks import draw_campaign_task  # the task module imports this one

    enqueue_on_commit(draw_campaign_task, job.pk, on_failure=lambda why: _not_queued(job, why))
    logger.info("campaign draw job %s (%s of %s) queued by %s", job.pk, name, unit, actor)
    return job


def _not_queued(job: CampaignDrawJob, message: str):
    job_rows.fail(CampaignDrawJob, job.pk, JobStatus.PENDING, f"抽取失败：{message}")
    logger.warning("campaign draw job %s: not queued (broker down), marked failed", job.pk)


def run_draw(job_id: int) -> str:
    """1. claim the job (pending → running: one worker runs it);
    2. draw as its creator, counting the counties;
    3. end it as done with the campaign, or as failed with the reason."""
    if not job_rows.claim(CampaignDrawJob, job_id, "开始抽取…"):
        return "skipped"
    job = CampaignDrawJob.objects.select_related("created_by").get(pk=job_id)

    def progress(done: int, total: int):
        message = f"正在逐县（区）抽取样本…（{done}/{total}）"
        job_rows.progress(CampaignDrawJob, job_id, done, total, message)

    def draw():
        if not job.created_by.is_active or campaigns.own_unit(job.created_by) != job.region:
            raise PermissionDenied("发起人已不再负责该单位的抽查，未抽取。")
        campaign = campaigns.draw_campaign(
            actor=job.created_by,
            name=job.name,
            per_village=job.per_village,
            percent=job.by_percent,
            seed=job.seed,
            progress=progress,
        )
        return campaign, campaign.samples.count()

    try:
        campaign, counties = job_rows.guarded(
            CampaignDrawJob, job_id, draw, interrupted=INTERRUPTED, failed=FAILED
        )
    except job_rows.Failed:
        return "failed"
    skipped = (
        f"，{len(campaign.skipped)} 个县（区）未抽取（见下方说明）" if campaign.skipped else ""
    )
    message = (
        f"已在 {counties} 个县（区）抽取样本，随机种子 {campaign.seed}（请记录在案）{skipped}。"
        "下一步：为各县（区）分配其他县（区）的抽查人。"
    )
    job_rows.finish(CampaignDrawJob, job_id, message, campaign=campaign)
    return "done"


def sweep_interrupted(now: datetime.datetime | None = None) -> list[int]:
    """End as failed every draw whose worker died (``core.jobs.sweep_interrupted``)."""
    return job_rows.sweep_interrupted(CampaignDrawJob, STALE_AFTER, INTERRUPTED, now)


def waiting_too_long(now: datetime.datetime | None = None) -> list[int]:
    return job_rows.waiting_too_long(CampaignDrawJob, REQUEUE_AFTER, now)
