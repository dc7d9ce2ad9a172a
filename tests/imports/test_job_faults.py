"""Fault: the Celery worker killed in the middle of an import, and redelivered tasks.

A redelivered check or import does nothing the second time. A worker killed during the
import's write leaves no part of the ledger (the write is one transaction), and its job does
not stay 导入中 for ever: the sweeper (beat, every 5 minutes) ends it as failed with
"任务执行中断，请重新提交…", after which the same file imports completely. A job whose queue
message was lost (Redis restarted without its data) is queued again by the sweeper.

The kill is simulated in-process by a BaseException raised from the engine's progress
report in the middle of the write (a ``kill -9`` gives the same database state: the open
transaction is rolled back); the real drill with a worker process is scripts/drill_worker_kill.py.
"""

import datetime

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from imports import engine, jobs
from imports.models import ImportJob, ImportStatus
from imports.tasks import run_check_task, run_import_task, sweep_jobs_task
from surveys.models import Inspection, SurveyRound
from tests.imports.test_import_page import ROUND, UPLOAD, good_rows, job_url, xlsx
from toilets.models import Household, Toilet


class Killed(BaseException):
    """What the worker process "receives" mid-write: not an Exception, so nothing catches it."""


@pytest.fixture
def upload(client, django_capture_on_commit_callbacks):
    """``upload(user, data)``: the upload page, and the check it queues (eager)."""

    def post(user, data: bytes):
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            file = SimpleUploadedFile("台账.xlsx", data)
            return client.post(UPLOAD, {"file": file, "round_name": ROUND})

    return post


@pytest.fixture
def confirm(client, django_capture_on_commit_callbacks):
    """``confirm(user, job)``: the confirm button, and the import it queues (eager)."""

    def post(user, job):
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(job_url(job, "confirm"))

    return post


def ledger_counts() -> dict:
    return {
        "rounds": SurveyRound.objects.count(),
        "households": Household.objects.count(),
        "toilets": Toilet.objects.count(),
        "inspections": Inspection.objects.count(),
    }


def job_state(job: ImportJob) -> tuple:
    job.refresh_from_db()
    return (
        job.status,
        job.message,
        job.result,
        job.done,
        job.total,
        job.checked_at,
        job.confirmed_at,
        job.finished_at,
        job.claimed_at,
    )


@pytest.mark.django_db
def test_a_redelivered_check_or_import_does_nothing_twice(upload, confirm, users, tree):
    upload(users.county, xlsx(good_rows(tree)))
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.CHECKED
    checked = job_state(job)
    assert run_check_task(job.pk) == "skipped"  # the check's message delivered again
    assert job_state(job) == checked

    confirm(users.county, job)
    done = job_state(job)
    assert job.status == ImportStatus.DONE, job.message
    counts = ledger_counts()
    assert counts["households"] == 2 and counts["toilets"] == 3

    for task in (run_import_task, run_check_task, run_import_task):
        assert task(job.pk) == "skipped"
    assert ledger_counts() == counts  # no duplicate rows
    assert job_state(job) == done  # and the job is untouched


@pytest.mark.django_db
def test_a_redelivery_while_the_import_runs_leaves_it_to_its_worker(upload, users, tree):
    upload(users.county, xlsx(good_rows(tree)))
    job = ImportJob.objects.get()
    now = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.IMPORTING, confirmed_at=now, claimed_at=now
    )
    running = job_state(job)
    assert run_import_task(job.pk) == "skipped"
    assert job_state(job) == running
    assert ledger_counts()["households"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_import_leaves_no_half_ledger_and_the_job_ends_failed(
    upload, confirm, users, tree, monkeypatch
):
    upload(users.county, xlsx(good_rows(tree)))
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.CHECKED, job.message
    empty = ledger_counts()

    # Confirmed; the worker takes the import and is killed after two rows are written.
    ImportJob.objects.filter(pk=job.pk).update(confirmed_at=timezone.now())
    monkeypatch.setattr(engine, "CHUNK", 1)
    seen = {}

    def killed_mid_write(self, done, total, message=""):
        if message.startswith("正在写入") and done == 2:
            seen["households"] = Household.objects.count()  # inside the write transaction
            raise Killed()

    monkeypatch.setattr(jobs.ProgressWriter, "__call__", killed_mid_write)
    with pytest.raises(Killed):
        jobs.run_import(job.pk)
    assert seen["households"] == 2  # half of the ledger was written when the worker died …
    assert ledger_counts() == empty  # … and none of it is saved
    job.refresh_from_db()
    assert job.status == ImportStatus.IMPORTING  # what a dead worker leaves behind

    # The sweeper leaves a job alone while its worker may still be running …
    assert jobs.sweep_interrupted() == []
    assert sweep_jobs_task()["failed"] == []
    # … and ends it once no worker can be (past the hard time limit).
    later = job.claimed_at + jobs.STALE_AFTER + datetime.timedelta(seconds=1)
    assert jobs.sweep_interrupted(now=later) == [job.pk]
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.message.startswith("任务执行中断，请重新提交")
    assert job.finished_at is not None
    assert not job.busy
    assert jobs.sweep_interrupted(now=later) == []
    assert run_import_task(job.pk) == "skipped"  # a late redelivery changes nothing
    assert ledger_counts() == empty

    # Submitted again, the same file imports completely.
    monkeypatch.undo()
    upload(users.county, xlsx(good_rows(tree)))
    again = ImportJob.objects.exclude(pk=job.pk).get()
    confirm(users.county, again)
    again.refresh_from_db()
    assert again.status == ImportStatus.DONE, again.message
    counts = ledger_counts()
    assert (counts["households"], counts["toilets"], counts["inspections"]) == (2, 3, 3)


@pytest.mark.django_db
def test_a_job_whose_message_was_lost_is_queued_again_once_and_checked(upload, users, tree):
    # Queued, but its message never reached a worker (Redis restarted without its data).
    upload(users.county, xlsx(good_rows(tree)))
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.UPLOADED, claimed_at=None, message="已上传，排队等待检查…"
    )
    assert jobs.waiting_too_long() == ([], [])  # just queued: left alone
    long_ago = timezone.now() - jobs.REQUEUE_AFTER - datetime.timedelta(minutes=1)
    ImportJob.objects.filter(pk=job.pk).update(created_at=long_ago)
    swept = sweep_jobs_task()  # eager here: the queued check runs at once
    assert swept["checks"] == [job.pk]
    job.refresh_from_db()
    assert job.status == ImportStatus.CHECKED, job.message
    assert sweep_jobs_task()["checks"] == []


@pytest.mark.django_db
def test_a_confirmed_import_whose_message_was_lost_is_queued_again(upload, users, tree):
    upload(users.county, xlsx(good_rows(tree)))
    job = ImportJob.objects.get()
    long_ago = timezone.now() - jobs.REQUEUE_AFTER - datetime.timedelta(minutes=1)
    # Checked, then confirmed long ago; no worker has taken the import since.
    ImportJob.objects.filter(pk=job.pk).update(
        claimed_at=long_ago - datetime.timedelta(minutes=1), confirmed_at=long_ago
    )
    assert sweep_jobs_task()["imports"] == [job.pk]
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, job.message
    assert ledger_counts()["households"] == 2
    assert sweep_jobs_task()["imports"] == []


def test_the_sweepers_run_on_beat():
    tasks = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks["imports.sweep_jobs"] <= 300
    assert tasks["reports.sweep_jobs"] <= 300
    assert jobs.STALE_AFTER.total_seconds() > jobs.TIME_LIMIT
