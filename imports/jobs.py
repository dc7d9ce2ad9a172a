"""Ledger imports as Celery jobs: upload → check (a dry run) → the user confirms → import.

``imports.services`` stores the upload and queues the check, and queues the real import once
the user confirms (only from 检查完成 and only once). The task bodies here (``run_check`` /
``run_import``, run by ``imports.tasks``) claim the job with a conditional UPDATE on its status, so a
redelivered task does nothing, run the engine as the uploader, write progress as they go and
end the job as 检查完成 / 有错误 / 已完成 / 失败. A task never raises.
"""

import datetime
import logging
import time

from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection
from django.db.models import F, Q
from django.utils import timezone

from regions.choices import IMPORT_LEDGER
from regions.scoping import has_capability

from .engine import import_ledger
from .models import ImportJob, ImportStatus
from .results import HeaderColumnsMissing, ImportFileError

logger = logging.getLogger(__name__)

NO_PERMISSION = "您没有导入台账的权限。"
# A check or an import of the biggest ledger takes minutes; past these it is stopped (the
# soft limit ends the job as failed with a message, the hard one kills the task). The read of
# the file itself has its own, tighter limits (imports.reader.read_ledger), eager or not.
SOFT_TIME_LIMIT = 25 * 60
TIME_LIMIT = 30 * 60
# A job still 检查中/导入中 this long after its claim has lost its worker (killed, out of
# memory, the machine restarted): no task runs past TIME_LIMIT. ``sweep_interrupted`` ends it.
STALE_AFTER = datetime.timedelta(seconds=TIME_LIMIT + 5 * 60)
# A job queued this long ago and still not taken may have lost its message (Redis restarted
# without its data): the sweeper queues it again; a duplicate is skipped by the claim.
REQUEUE_AFTER = datetime.timedelta(minutes=15)
INTERRUPTED = "任务执行中断，请重新提交：本次未导入任何数据，请重新上传文件。"
# Enough for any real correction list; the page says when more were found than kept.
MAX_STORED_ERRORS = 20000


def can_import(user) -> bool:
    return has_capability(user, IMPORT_LEDGER)


# Progress ---------------------------------------------------------------------------------


class ProgressWriter:
    """The engine's ``progress(done, total, message)``, written to the job row at most every
    ``interval`` seconds. Outside a transaction it is a plain UPDATE. Inside the engine's write
    transaction such an UPDATE would stay invisible to the page until the end, so on PostgreSQL
    it goes through a second connection of its own (autocommit); SQLite allows one writer at a
    time, so there the bar waits for the write phase to finish."""

    interval = 0.5

    def __init__(self, job_id: int):
        self.job_id = job_id
        self._last = 0.0
        self._aside = None
        self._aside_broken = False

    def __call__(self, done, total, message=""):
        now = time.monotonic()
        if done < total and now - self._last < self.interval:
            return
        self._last = now
        self.write(max(0, int(done)), max(0, int(total)), str(message)[:300])

    def write(self, done: int, total: int, message: str):
        if not connection.in_atomic_block:
            ImportJob.objects.filter(pk=self.job_id).update(done=done, total=total, message=message)
        elif connection.vendor == "postgresql" and not self._aside_broken:
            self._write_aside(done, total, message)

    def _write_aside(self, done: int, total: int, message: str):
        try:
            if self._aside is None:
                self._aside = connection.copy()
            quote = self._aside.ops.quote_name
            with self._aside.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {quote(ImportJob._meta.db_table)} SET {quote('done')} = %s, "
                    f"{quote('total')} = %s, {quote('message')} = %s WHERE {quote('id')} = %s",
                    [done, total, message, self.job_id],
                )
        except DatabaseError:
            logger.warning("import job %s: progress not written aside", self.job_id, exc_info=True)
            self._aside_broken = True

    def close(self):
        if self._aside is not None:
            self._aside.close()
            self._aside = None


# The work ---------------------------------------------------------------------------------


def _stored(result) -> dict:
    data = result.as_dict()
    data["error_count"] = len(data["errors"])
    if len(data["errors"]) > MAX_STORED_ERRORS:
        data["errors"] = data["errors"][:MAX_STORED_ERRORS]
    return data


def _outcome(result, dry_run: bool) -> tuple[str, str]:
    rows = result.counts.get("rows", 0)
    if not result.ok:
        when = "检查" if dry_run else "确认导入时重新检查"
        return ImportStatus.INVALID, f"{when}发现 {len(result.errors)} 处错误，未导入任何数据。"
    if dry_run:
        return ImportStatus.CHECKED, f"检查通过：共 {rows} 行，确认后即可导入。"
    return ImportStatus.DONE, f"导入完成：共 {rows} 行。"


def _source(job: ImportJob):
    try:
        return job.file.path
    except NotImplementedError:  # a storage without local paths
        return job.file.open("rb")


def _fail(job_id: int, message: str, stamp: str, result: dict | None = None):
    extra = {"result": result} if result is not None else {}
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportStatus.FAILED, message=message[:300], **{stamp: timezone.now()}, **extra
    )


def _claim(job_id: int, dry_run: bool) -> bool:
    now = timezone.now()
    if dry_run:
        return bool(
            ImportJob.objects.filter(pk=job_id, status=ImportStatus.UPLOADED).update(
                status=ImportStatus.CHECKING, done=0, total=0, message="开始检查…", claimed_at=now
            )
        )
    return bool(
        ImportJob.objects.filter(
            pk=job_id, status=ImportStatus.CHECKED, confirmed_at__isnull=False
        ).update(
            status=ImportStatus.IMPORTING, done=0, total=0, message="开始导入…", claimed_at=now
        )
    )


# Jobs that lost their worker or their message --------------------------------------------


def sweep_interrupted(now: datetime.datetime | None = None) -> list[int]:
    """End as failed every job still 检查中/导入中 ``STALE_AFTER`` after its claim: its worker
    died (``kill -9``, out of memory, a restart) and nothing will finish it. The import's
    write is one transaction, so a killed import saved nothing; the message says so and asks
    for the file again. Guarded by the status in the UPDATE (a job that just finished is left
    alone). Returns the ids ended."""
    before = (now or timezone.now()) - STALE_AFTER
    ended = []
    for status, stamp in (
        (ImportStatus.CHECKING, "checked_at"),
        (ImportStatus.IMPORTING, "finished_at"),
    ):
        stale = ImportJob.objects.filter(status=status, claimed_at__lt=before)
        ids = list(stale.values_list("pk", flat=True))
        if ids:
            ImportJob.objects.filter(pk__in=ids, status=status).update(
                status=ImportStatus.FAILED, message=INTERRUPTED, **{stamp: timezone.now()}
            )
            logger.warning(
                "import jobs %s: %s with no worker since %s, failed", ids, status, before
            )
            ended += ids
    return ended


def waiting_too_long(now: datetime.datetime | None = None) -> tuple[list[int], list[int]]:
    """(checks, imports) queued more than ``REQUEUE_AFTER`` ago and still not taken by a
    worker: their messages may be lost; the sweeper queues them again."""
    before = (now or timezone.now()) - REQUEUE_AFTER
    checks = ImportJob.objects.filter(status=ImportStatus.UPLOADED, created_at__lt=before)
    # Confirmed and not taken since: the claim still dates from the check (or is missing).
    imports = ImportJob.objects.filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=F("confirmed_at")),
        status=ImportStatus.CHECKED,
        confirmed_at__lt=before,
    )
    return list(checks.values_list("pk", flat=True)), list(imports.values_list("pk", flat=True))


def run(job_id: int, *, dry_run: bool) -> str:
    """Claim the job, run the engine as its uploader and record how it ended."""
    if not _claim(job_id, dry_run):
        return "skipped"
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    stamp = "checked_at" if dry_run else "finished_at"
    progress = ProgressWriter(job_id)
    source = None
    try:
        source = _source(job)
        result = import_ledger(
            source,
            round_name=job.round_name,
            actor=job.created_by,
            dry_run=dry_run,
            progress=progress,
            header_mapping=job.header_mapping or None,
            # The check read the file with the county's remembered mapping of that moment
            # and stored it with the job; the import reads it the same way.
            remembered=dry_run,
        )
    except HeaderColumnsMissing as exc:  # the job page offers the mapping step
        _fail(job_id, exc.message, stamp, {"mapping": exc.as_dict()} if dry_run else None)
        return "failed"
    except ImportFileError as exc:
        _fail(job_id, exc.message, stamp)
        return "failed"
    except PermissionDenied:
        _fail(job_id, NO_PERMISSION, stamp)
        return "failed"
    except SoftTimeLimitExceeded:
        _fail(job_id, "超过时间限制，请把文件按乡镇分成几个后分别导入。", stamp)
        return "failed"
    except Exception:
        logger.exception("import job %s failed", job_id)
        _fail(job_id, "服务器内部错误，请稍后重试；如仍失败请联系系统管理员。", stamp)
        return "failed"
    finally:
        progress.close()
        if source is not None and hasattr(source, "close"):
            source.close()
    status, message = _outcome(result, dry_run)
    ImportJob.objects.filter(pk=job_id).update(
        status=status,
        result=_stored(result),
        header_mapping=result.header_mapping,
        message=message[:300],
        done=result.counts.get("rows", 0),
        total=result.counts.get("rows", 0),
        **{stamp: timezone.now()},
    )
    return status


def run_check(job_id: int) -> str:
    return run(job_id, dry_run=True)


def run_import(job_id: int) -> str:
    return run(job_id, dry_run=False)
