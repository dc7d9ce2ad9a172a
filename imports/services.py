"""Ledger imports as the user starts them: upload → check (a dry run, queued as a job) → the
user confirms → the import (queued once). The work itself is in ``imports.jobs``."""

import uuid

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from core.uploads import sniff_spreadsheet
from regions.scoping import scope_of

from .jobs import NO_PERMISSION, can_import
from .models import ImportJob, ImportStatus
from .reader import FORMATS
from .tasks import run_check_task, run_import_task


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
        transaction.on_commit(lambda: run_check_task.delay(job.pk))
    return job


def confirm_import(actor, job: ImportJob) -> bool:
    """Queue the real import of a job whose check passed. False when the job is not (or no
    longer) waiting for confirmation: a second click, or a failed or finished job."""
    if not can_import(actor):
        raise PermissionDenied(NO_PERMISSION)
    queued = ImportJob.objects.filter(
        pk=job.pk, created_by=actor, status=ImportStatus.CHECKED, confirmed_at__isnull=True
    ).update(confirmed_at=timezone.now(), done=0, total=0, message="已确认，排队等待导入…")
    if queued:
        transaction.on_commit(lambda: run_import_task.delay(job.pk))
    return bool(queued)
