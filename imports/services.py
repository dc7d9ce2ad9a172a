"""Ledger imports as the user starts them: upload → check (a dry run, queued as a job) → the
user confirms → the import (queued once). When the header lacks required columns, the user
maps the file's columns to the template's (``map_headers``) and the check runs again. The work
itself is in ``imports.jobs``."""

import logging
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core.queue import enqueue_on_commit
from core.uploads import sniff_spreadsheet
from regions.scoping import scope_of

from .columns import COLUMN_BY_KEY, missing_headers
from .engine import importer_county
from .jobs import NO_PERMISSION, can_import
from .models import HeaderMapping, ImportJob, ImportStatus
from .reader import FORMATS, header_name
from .tasks import run_check_task, run_import_task

logger = logging.getLogger(__name__)
NOT_MAPPABLE = "只有因表头缺少列而检查失败的文件才能设置表头对应。"


def stored_extension(upload) -> str:
    """The extension the upload is stored under: its real format, told from its first bytes
    (a renamed file keeps the name the user gave it only in ``original_name``)."""
    head = upload.read(120)
    upload.seek(0)
    found = sniff_spreadsheet(head)
    if found is None:
        named = upload.name.rsplit(".", 1)[-1].lower()
        found = named if named in FORMATS else "xlsx"
    return found


def start_check(actor, upload, round_name: str) -> ImportJob:
    """Store the upload as a new job of ``actor`` and queue its check (dry run)."""
    if not can_import(actor):
        raise PermissionDenied(NO_PERMISSION)
    scope = scope_of(actor)
    with transaction.atomic():
        job = ImportJob(
            original_name=upload.name[-255:],
            round_name=round_name,
            region=scope.region,
            created_by=actor,
            message="已上传，排队等待检查…",
        )
        job.file.save(f"{uuid.uuid4().hex}.{stored_extension(upload)}", upload, save=False)
        job.save()
        enqueue_on_commit(run_check_task, job.pk, on_failure=lambda why: _not_queued(job, why))
    return job


def _not_queued(job: ImportJob, message: str):
    """The check of a new upload could not be queued: the job ends as failed with the
    reason, so that nothing waits for a task that will never come; the user uploads again."""
    failed = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.UPLOADED).update(
        status=ImportStatus.FAILED,
        message=f"{message}本次上传未检查，请重新上传。"[:300],
        checked_at=timezone.now(),
    )
    logger.warning("import job %s: check not queued (broker down), failed=%s", job.pk, failed)


def confirm_import(actor, job: ImportJob) -> bool:
    """Queue the real import of a job whose check passed. False when the job is not (or no
    longer) waiting for confirmation: a second click, or a failed or finished job."""
    if not can_import(actor):
        raise PermissionDenied(NO_PERMISSION)
    queued = ImportJob.objects.filter(
        pk=job.pk, created_by=actor, status=ImportStatus.CHECKED, confirmed_at__isnull=True
    ).update(confirmed_at=timezone.now(), done=0, total=0, message="已确认，排队等待导入…")
    if queued:
        enqueue_on_commit(run_import_task, job.pk, on_failure=lambda why: _unconfirm(job, why))
    return bool(queued)


def _unconfirm(job: ImportJob, message: str):
    """The import could not be queued: the job goes back to waiting for confirmation (its
    check still stands), so that the user can confirm again once the service is back."""
    ImportJob.objects.filter(
        pk=job.pk, status=ImportStatus.CHECKED, confirmed_at__isnull=False
    ).update(confirmed_at=None, message=f"{message}尚未导入任何数据，可稍后重新确认导入。"[:300])
    logger.warning("import job %s: import not queued (broker down), confirmation undone", job.pk)


def _unmap(job: ImportJob, before: dict, message: str):
    """The new check could not be queued: the job is failed again with its mapping step
    offered as before (the county's mapping is remembered), to be submitted again later."""
    ImportJob.objects.filter(pk=job.pk, status=ImportStatus.UPLOADED).update(
        status=ImportStatus.FAILED, **{**before, "message": message}
    )
    logger.warning("import job %s: new check not queued (broker down), mapping step back", job.pk)


def mapping_problems(columns: list[dict], chosen: dict[int, str]) -> list[str]:
    """What is wrong with ``chosen`` (file column index → column key, "" = 不导入) for the
    file ``columns`` (``HeaderColumnsMissing.columns``), in Chinese: two file columns for one
    of ours, one header text chosen two ways, required columns still missing."""
    problems = []
    by_key: dict[str, list[str]] = {}
    by_header: dict[str, set[str]] = {}
    for column in columns:
        key = chosen.get(column["index"], "")
        if key and key not in COLUMN_BY_KEY:
            problems.append(f"“{column['header']}”选择的列不存在。")
            continue
        if key:
            by_key.setdefault(key, []).append(column["header"])
        by_header.setdefault(header_name(column["header"]), set()).add(key)
    for key, headers in by_key.items():
        if len(headers) > 1:
            names = "”和“".join(headers)
            problems.append(
                f"文件中的“{names}”都对应“{COLUMN_BY_KEY[key].name}”，一列只能对应文件中的一列。"
            )
    for header, keys in by_header.items():
        if len(keys) > 1:
            problems.append(
                f"文件中有几列都叫“{header}”，无法分别对应；请在 Excel 中改成不同的列名后重新上传。"
            )
    found = {COLUMN_BY_KEY[key].name for key in by_key}
    missing = missing_headers(found, required_only=True)
    if missing:
        problems.append(f"还没有选择对应“{'”“'.join(missing)}”的列，这些列必须有。")
    return problems


def map_headers(*, actor, job: ImportJob, chosen: dict[int, str]) -> ImportJob:
    """Check ``job`` again with the user's mapping of its file columns (index → column key,
    "" = 不导入) and remember it for the importer's county: its next files are read with it.
    Only the job's uploader, an importer, and only a job whose check found the header lacking
    columns. ValidationError (Chinese messages) for a mapping that cannot work."""
    if not can_import(actor):
        raise PermissionDenied(NO_PERMISSION)
    if job.created_by_id != actor.pk:
        raise PermissionDenied(NOT_MAPPABLE)
    offered = job.result.get("mapping") if isinstance(job.result, dict) else None
    if job.status != ImportStatus.FAILED or not offered:
        raise ValidationError(NOT_MAPPABLE)
    columns = offered["columns"]
    problems = mapping_problems(columns, chosen)
    if problems:
        raise ValidationError(problems)
    mapping = {header_name(column["header"]): chosen.get(column["index"], "") for column in columns}
    # Remembered: what differs from how the file was read (built-in names, earlier mapping).
    changed = {
        header_name(column["header"]): chosen.get(column["index"], "")
        for column in columns
        if chosen.get(column["index"], "") != column["column"]
    }
    county = importer_county(actor)
    before = {"result": job.result, "message": job.message, "checked_at": job.checked_at}
    with transaction.atomic():
        queued = ImportJob.objects.filter(
            pk=job.pk, created_by=actor, status=ImportStatus.FAILED
        ).update(
            status=ImportStatus.UPLOADED,
            header_mapping=mapping,
            result={},
            done=0,
            total=0,
            checked_at=None,
            message="已按您选择的表头对应，排队重新检查…",
        )
        if not queued:
            raise ValidationError(NOT_MAPPABLE)
        if county is not None:
            for header, key in changed.items():
                HeaderMapping.objects.update_or_create(
                    county=county,
                    header=header[:100],
                    defaults={"column": key, "created_by": actor},
                )
        enqueue_on_commit(run_check_task, job.pk, on_failure=lambda why: _unmap(job, before, why))
    logger.info(
        "import job %s: headers mapped by %s for county %s: %s",
        job.pk,
        actor,
        county.code if county is not None else "-",
        changed,
    )
    job.refresh_from_db()
    return job
