"""Fault: the Celery worker killed in the middle of a big export, and redelivered tasks.

A redelivered report job does nothing the second time. A worker killed mid-export leaves
its job 进行中 with no file; the sweeper (beat, every 5 minutes) ends it as failed with
"生成失败：任务执行中断，请重新提交。" once no worker can still be running it, and the export
started again gives the whole file. A job whose message was lost is queued again."""

import datetime
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from core import xlsx
from reports import jobs
from reports.jobs import run_job
from reports.models import JobStatus, ReportJob
from reports.services import start_job
from reports.tasks import run_report_job, sweep_jobs_task
from tests.factories import HouseholdFactory, ToiletFactory

pytestmark = pytest.mark.django_db
ROWS = 6


class Killed(BaseException):
    """The worker process dying: not an Exception, so the job's own handler never sees it."""


@pytest.fixture
def toilets(tree):
    return [ToiletFactory(household=HouseholdFactory(village=tree.v1)) for _ in range(ROWS)]


def export(users, tree) -> ReportJob:
    """A toilet export job of the county user (its task is queued on commit, which the test
    transaction never reaches: the tests run it themselves, as the worker would)."""
    return start_job(users.county, "export_toilets", tree.county, {})


def state(job: ReportJob) -> tuple:
    job.refresh_from_db()
    return (job.status, job.message, job.result.name, job.done, job.finished_at, job.claimed_at)


def rows_in(job: ReportJob) -> int:
    with job.result.open("rb") as handle:
        return load_workbook(io.BytesIO(handle.read())).active.max_row - 1


def test_a_redelivered_export_does_nothing_twice(users, tree, toilets):
    job = export(users, tree)
    assert run_report_job(job.pk) == "done"
    done = state(job)
    assert rows_in(job) == ROWS
    assert run_report_job(job.pk) == "skipped"
    assert run_report_job.delay(job.pk).get() == "skipped"
    assert state(job) == done
    assert ReportJob.objects.count() == 1


# openpyxl's abandoned row generator complains when it is collected after the "kill".
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_worker_killed_mid_export_ends_failed_and_the_export_can_start_again(
    users, tree, toilets, monkeypatch
):
    monkeypatch.setattr(xlsx, "PROGRESS_EVERY", 2)  # a progress step every two rows
    job = export(users, tree)
    steps = []
    real_step = jobs._step

    def killed_on_the_second_step(job, done, total, message):
        steps.append(message)
        if len(steps) == 3:  # 正在导出 …, 已导出 2 / 6 行, then killed at 4 / 6
            raise Killed()
        real_step(job, done, total, message)

    monkeypatch.setattr(jobs, "_step", killed_on_the_second_step)
    with pytest.raises(Killed):
        run_job(job.pk)
    monkeypatch.undo()
    assert steps[-1] == f"已导出 4 / {ROWS} 行…"
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING  # what a dead worker leaves behind
    assert not job.result
    # Until it is swept, asking for the same export shows the same (stuck) job …
    assert export(users, tree).pk == job.pk
    assert jobs.sweep_interrupted() == []
    assert run_report_job(job.pk) == "skipped"  # a redelivery does not run it a second time

    later = job.claimed_at + jobs.STALE_AFTER + datetime.timedelta(seconds=1)
    assert jobs.sweep_interrupted(now=later) == [job.pk]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message == "生成失败：任务执行中断，请重新提交。"
    assert job.finished_at is not None
    assert not job.result

    # … after it, the same export starts a new job, which writes every row.
    again = export(users, tree)
    assert again.pk != job.pk
    assert run_report_job(again.pk) == "done"
    again.refresh_from_db()
    assert again.status == JobStatus.DONE
    assert rows_in(again) == ROWS


def test_a_pending_job_whose_message_was_lost_is_queued_again(users, tree, toilets):
    job = export(users, tree)
    assert sweep_jobs_task() == {"failed": [], "queued": []}  # just queued: left alone
    long_ago = timezone.now() - jobs.REQUEUE_AFTER - datetime.timedelta(minutes=1)
    ReportJob.objects.filter(pk=job.pk).update(created_at=long_ago)
    assert sweep_jobs_task()["queued"] == [job.pk]  # eager here: it runs at once
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert rows_in(job) == ROWS
    assert sweep_jobs_task()["queued"] == []
