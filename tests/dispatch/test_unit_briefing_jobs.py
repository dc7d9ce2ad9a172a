"""A city's or the province's briefing is generated in the background: the page queues a job
(``dispatch.jobs``), follows its progress county by county and then opens the briefing; a
refusal ends the job with the reason in Chinese; the job is its creator's alone; a worker that
died or a lost message is dealt with by the sweeper, and a redelivered task does nothing."""

import datetime

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.urls import reverse
from django.utils import timezone

from core.jobs import JobStatus
from core.queue import QUEUE_UNAVAILABLE
from dispatch import jobs
from dispatch.jobs import start_unit_briefing
from dispatch.models import UnitBriefing, UnitBriefingJob
from dispatch.tasks import sweep_jobs_task, unit_briefing_task
from tests.config.test_redis_down import DOWN

pytestmark = pytest.mark.django_db

GENERATE = reverse("dispatch:unit-generate")


def job_page(job):
    return reverse("dispatch:unit-job", args=[job.pk])


def job_status(job):
    return reverse("dispatch:unit-job-status", args=[job.pk])


def generate(client, capture, kind="week"):
    """POST the form, and run what it queued once the job row is committed."""
    with capture(execute=True) as callbacks:
        response = client.post(GENERATE, {"kind": kind})
    return response, callbacks


def test_the_page_queues_the_briefing_follows_it_and_opens_it(
    as_user,
    world,
    tree,
    django_capture_on_commit_callbacks,
):
    client = as_user(world["city"])
    response, callbacks = generate(client, django_capture_on_commit_callbacks)
    job = UnitBriefingJob.objects.get()
    assert response.status_code == 302 and response.url == job_page(job)
    assert len(callbacks) == 1  # queued once the job row was committed

    payload = client.get(job_status(job)).json()
    assert payload["status"] == "done" and payload["finished"] is True
    assert payload["percent"] == 100
    # Counted county by county: the city's two counties with a round (贵港市's is not its).
    assert payload["done"] == payload["total"] == 2
    briefing = UnitBriefing.objects.get(region=tree.city)
    assert payload["message"] == f"已生成“{briefing.title}”。"

    opened = client.get(job_page(job))
    assert opened.status_code == 302 and opened.url == reverse("dispatch:unit", args=[briefing.pk])
    page = client.get(opened.url).content.decode()
    assert "钦南区" in page and "钦北区" in page and f"已生成“{briefing.title}”" in page


def test_a_job_not_yet_done_shows_its_progress(as_user, world, tree):
    client = as_user(world["city"])
    response = client.post(GENERATE, {"kind": "week"})  # the test's transaction never commits
    job = UnitBriefingJob.objects.get()
    page = client.get(response.url)
    body = page.content.decode()
    assert page.status_code == 200
    assert "生成钦州市周通报" in body and "排队中" in body and "排队等待中" in body
    assert 'data-reload="1"' in body and "job_progress.js" in body
    # Asking again while it waits gives the same job, not a second one.
    assert client.post(GENERATE, {"kind": "week"}).url == job_page(job)
    assert UnitBriefingJob.objects.count() == 1


def test_a_refusal_ends_the_job_with_the_reason(
    as_user,
    world,
    django_capture_on_commit_callbacks,
):
    client = as_user(world["city2_user"])  # 贵港市: no county has a round
    response, _ = generate(client, django_capture_on_commit_callbacks)
    job = UnitBriefingJob.objects.get()
    assert job.status == JobStatus.FAILED and job.briefing is None
    page = client.get(response.url).content.decode()
    assert "贵港市下辖各县（区）都还没有开始摸排轮次，无法生成调度通报。" in page
    assert "失败" in page and reverse("dispatch:units") in page and "job_progress.js" not in page
    assert not UnitBriefing.objects.exists()


def test_only_a_unit_manager_queues_and_only_its_creator_follows_it(
    as_user,
    world,
    users,
    django_capture_on_commit_callbacks,
):
    assert as_user(users.county).post(GENERATE, {"kind": "week"}).status_code == 403
    assert as_user(world["city"]).post(GENERATE, {"kind": "year"}).status_code == 302
    assert not UnitBriefingJob.objects.exists()  # an unknown kind: refused on the form
    _, _ = generate(as_user(world["city"]), django_capture_on_commit_callbacks)
    job = UnitBriefingJob.objects.get()
    # Somebody else, even above the city or in it, does not see the job (the briefing, yes).
    for user in (world["province"], world["city2_user"], users.county, users.surveyor):
        client = as_user(user)
        assert client.get(job_page(job)).status_code in (403, 404)
        assert client.get(job_status(job)).status_code in (403, 404)
    assert as_user(world["province"]).get(job_page(job)).status_code == 404


def test_a_redelivered_task_does_nothing_and_a_dead_worker_is_swept(world, tree):
    job = start_unit_briefing(actor=world["city"], kind="week")
    assert unit_briefing_task(job.pk) == "done"
    assert unit_briefing_task(job.pk) == "skipped"
    assert UnitBriefing.objects.count() == 1

    # A worker killed while counting: the job stays 进行中 until the sweeper ends it.
    stuck = start_unit_briefing(actor=world["province"], kind="week")
    UnitBriefingJob.objects.filter(pk=stuck.pk).update(
        status=JobStatus.RUNNING, claimed_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    assert sweep_jobs_task() == {"failed": [], "queued": []}  # it may still be running
    UnitBriefingJob.objects.filter(pk=stuck.pk).update(
        claimed_at=timezone.now() - jobs.STALE_AFTER - datetime.timedelta(seconds=1)
    )
    assert sweep_jobs_task() == {"failed": [stuck.pk], "queued": []}
    stuck.refresh_from_db()
    assert stuck.status == JobStatus.FAILED and stuck.message == jobs.INTERRUPTED

    # A job whose message was lost is queued again and runs (eager here).
    lost = start_unit_briefing(actor=world["province"], kind="month")
    UnitBriefingJob.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - jobs.REQUEUE_AFTER - datetime.timedelta(seconds=1)
    )
    assert sweep_jobs_task() == {"failed": [], "queued": [lost.pk]}
    lost.refresh_from_db()
    assert lost.status == JobStatus.DONE and lost.briefing.region == tree.province


def test_a_creator_who_no_longer_manages_the_unit_gets_no_briefing(world):
    job = start_unit_briefing(actor=world["city"], kind="week")
    world["city"].is_active = False
    world["city"].save()
    assert unit_briefing_task(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "不再管理" in job.message
    assert not UnitBriefing.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_with_the_queue_down_the_job_is_not_left_waiting(
    client,
    world,
    broker,
):
    client.force_login(world["city"])
    broker(DOWN)
    units = reverse("dispatch:units")
    response = client.post(GENERATE, {"kind": "week"}, HTTP_REFERER=units)
    assert response.status_code == 302 and response.url == units
    assert QUEUE_UNAVAILABLE in client.get(units).content.decode()
    job = UnitBriefingJob.objects.get()
    assert job.status == JobStatus.FAILED  # not left 排队中 with no task behind it
    assert job.message == f"生成失败：{QUEUE_UNAVAILABLE}"
    assert not UnitBriefing.objects.exists()


def test_a_generation_that_failed_after_the_user_left_is_listed_with_its_reason(as_user, world):
    job = start_unit_briefing(actor=world["city2_user"], kind="week")  # no round below
    assert unit_briefing_task(job.pk) == "failed"
    page = as_user(world["city2_user"]).get(reverse("dispatch:units")).content.decode()
    assert "我的生成任务（未完成或失败）" in page and job_page(job) in page
    assert "都还没有开始摸排轮次" in page


@pytest.mark.parametrize(
    "error, message",
    [
        (RuntimeError("the database gave out"), jobs.FAILED),
        (SoftTimeLimitExceeded(), jobs.INTERRUPTED),
    ],
    ids=["fault", "time-limit"],
)
def test_a_job_that_breaks_ends_as_failed_with_a_message_for_people(
    world, monkeypatch, error, message
):
    job = start_unit_briefing(actor=world["city"], kind="week")

    def breaks(**kwargs):
        raise error

    monkeypatch.setattr(jobs.services, "generate_unit_briefing", breaks)
    assert unit_briefing_task(job.pk) == "failed"  # the task itself does not raise
    job.refresh_from_db()
    assert (job.status, job.message) == (JobStatus.FAILED, message)
    assert job.finished_at is not None and not UnitBriefing.objects.exists()
