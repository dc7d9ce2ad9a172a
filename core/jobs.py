"""What the background jobs of the apps share (a city's briefing, a province's spot-check
draw…): their states, the fields a progress bar reads (``Job``, abstract), and the moves of
a job row — created once per person and purpose, claimed by one worker, its progress,
finished or failed, failed when its worker died, listed to be queued again when its message
was lost. Each move is one conditional UPDATE on the status, so a redelivered task or a
second sweeper does nothing twice."""

import datetime
import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


class JobStatus(models.TextChoices):
    PENDING = "pending", "排队中"
    RUNNING = "running", "进行中"
    DONE = "done", "已完成"
    FAILED = "failed", "失败"


ACTIVE = [JobStatus.PENDING, JobStatus.RUNNING]


class Job(models.Model):
    """A job's state and progress (``core.web.progress.progress_payload`` reads them)."""

    status = models.CharField(
        _("状态"), max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING
    )
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a worker took it (``claim``); see ``sweep_interrupted``.
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        return 100 * self.done // self.total if self.total else 0

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


def create_or_active(model, *, same: dict, **fields) -> tuple:
    """``(job, True)``: a new row with ``same`` and ``fields``; or ``(job, False)``: the one
    with ``same`` already queued or running, when the model's partial unique constraint
    refuses a second (a double click, a second tab). One that ended in between is created
    again."""
    try:
        with transaction.atomic():
            return model.objects.create(**same, **fields), True
    except IntegrityError:
        active = model.objects.filter(status__in=ACTIVE, **same).first()
        if active is not None:
            return active, False
    with transaction.atomic():
        return model.objects.create(**same, **fields), True


def claim(model, job_id: int, message: str) -> bool:
    """pending → running for one worker; False when another had it (or it ended)."""
    return bool(
        model.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
            status=JobStatus.RUNNING, message=message, claimed_at=timezone.now()
        )
    )


def progress(model, job_id: int, done: int, total: int, message: str) -> None:
    model.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        done=done, total=total, message=message[:300]
    )


def finish(model, job_id: int, message: str, **fields) -> None:
    """running → done, with ``fields`` (e.g. what it made)."""
    model.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        status=JobStatus.DONE, message=message[:300], finished_at=timezone.now(), **fields
    )


def fail(model, job_id: int, status_was: str, message: str) -> None:
    """``status_was`` → failed, with the reason (Chinese, shown to the user)."""
    model.objects.filter(pk=job_id, status=status_was).update(
        status=JobStatus.FAILED, message=message[:300], finished_at=timezone.now()
    )


def sweep_interrupted(model, stale_after: datetime.timedelta, message: str, now=None) -> list:
    """End as failed every job still running ``stale_after`` after its claim (no task runs
    that long: its worker died — killed, out of memory, restarted). Returns the ids."""
    before = (now or timezone.now()) - stale_after
    ids = list(
        model.objects.filter(status=JobStatus.RUNNING, claimed_at__lt=before).values_list(
            "pk", flat=True
        )
    )
    for job_id in ids:
        fail(model, job_id, JobStatus.RUNNING, message)
    if ids:
        logger.warning(
            "%s %s: running with no worker since %s, failed", model.__name__, ids, before
        )
    return ids


def waiting_too_long(model, requeue_after: datetime.timedelta, now=None) -> list:
    """Jobs pending more than ``requeue_after``: their message may be lost (the broker
    restarted without its data); the sweeper queues them again."""
    before = (now or timezone.now()) - requeue_after
    waiting = model.objects.filter(status=JobStatus.PENDING, created_at__lt=before)
    return list(waiting.values_list("pk", flat=True))


class Failed(Exception):
    """The job ended as failed (its row says why)."""


def guarded(model, job_id: int, work, *, interrupted: str, failed: str):
    """``work()`` for a claimed (running) job, and its result. A refusal (ValidationError,
    PermissionDenied) ends the job as failed with its reason, the soft time limit with
    ``interrupted``, anything else (logged) with ``failed``; each raises ``Failed``."""
    try:
        return work()
    except ValidationError as exc:
        message = "；".join(exc.messages)
    except PermissionDenied as exc:
        message = str(exc)
    except SoftTimeLimitExceeded:
        logger.warning("%s %s: time limit reached", model.__name__, job_id)
        message = interrupted
    except Exception:
        logger.exception("%s %s failed", model.__name__, job_id)
        message = failed
    fail(model, job_id, JobStatus.RUNNING, message)
    raise Failed(message)
