"""Fault: Redis down. Pages and the API keep working (sessions are in the database, the cache
degrades to empty); starting a job (a ledger upload or its confirmation, a report, a big
export) says "后台任务服务暂时不可用，请稍后再试。" instead of a 500 and leaves no job waiting for a
task that was never queued; once Redis is back the same action queues the job, and a real
worker runs it.

Redis "down" is a closed port on loopback (nothing listens on 6390): a refused connection, as
when redis-server is stopped. "Back" is the local Redis at 6379, on a database of its own."""

import json
import os
import subprocess
import sys
import time

import pytest
import redis
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from core.queue import QUEUE_UNAVAILABLE, QueueUnavailable, QueueUnavailableMiddleware
from imports.models import ImportJob, ImportStatus
from reports.models import JobStatus, ReportJob
from tests.factories import HouseholdFactory, ToiletFactory
from tests.imports.test_import_page import ROUND, UPLOAD, good_rows, job_url, xlsx
from toilets.models import Household

DOWN = "redis://127.0.0.1:6390/0"
BACK = "redis://127.0.0.1:6379/14"
QUEUE = "celery"  # the default queue's list in the broker's database
START = reverse("reports:job-start")
PROGRESS = reverse("reports:progress")
YEAR = timezone.localdate().year
# A refused request must answer well within this (the publish retries are bounded).
FAST = 5.0


def redis_back_available() -> bool:
    try:
        return bool(redis.Redis.from_url(BACK, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _reset(app):
    """Drop the app's cached broker pools and result backend, so a new URL takes effect."""
    from kombu import pools

    pools.reset()  # closes kombu's connection and producer pools (keyed by broker URL)
    app._after_fork()
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)


@pytest.fixture
def broker():
    """``broker(url)`` points the Celery app at ``url`` as production does (eager off, no
    result backend); ``broker(None)`` goes back to the eager in-process default."""
    from config.celery import app

    keys = ("broker_url", "task_always_eager", "result_backend")
    saved = {key: app.conf[key] for key in keys}

    def use(url):
        if url is None:
            app.conf.update(saved)
        else:
            app.conf.update(broker_url=url, task_always_eager=False, result_backend=None)
        _reset(app)
        return app

    yield use
    app.conf.update(saved)
    _reset(app)


@pytest.fixture
def queue_back():
    """The local Redis database used as "Redis is back"; its default queue emptied before
    and after (only that key: other people's data in Redis is left alone)."""
    if not redis_back_available():
        pytest.skip("no local Redis at 127.0.0.1:6379")
    client = redis.Redis.from_url(BACK)
    client.delete(QUEUE)
    yield client
    client.delete(QUEUE)
    client.close()


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def shown(client, response) -> str:
    assert response.status_code == 302, response.status_code
    return client.get(response.url).content.decode()


# Pages and the API ------------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_and_the_api_answer_with_redis_down(client, api, settings, users, register):
    settings.CACHES = {
        "default": {
            **django_settings.CACHES["default"],
            "BACKEND": "core.cache.ForgivingRedisCache",
            "LOCATION": DOWN,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    settings.API_THROTTLE_RATES = {"user": "600/min", "anon": "60/min"}
    client.force_login(users.county)
    for url in (reverse("home"), reverse("toilets:household-list"), PROGRESS):
        response, seconds = timed(lambda url=url: client.get(url))
        assert response.status_code == 200, url
        assert seconds < FAST
    api.force_authenticate(users.county)
    response, seconds = timed(lambda: api.get("/api/households/"))
    assert response.status_code == 200  # throttled through the cache: it degrades, no 500
    assert response.json()["count"] == Household.objects.visible_to(users.county).count()
    assert seconds < FAST
    # The public verify page counts requests per IP in the same cache.
    response = client.post(reverse("reports:verify"), {})
    assert response.status_code < 500


def test_the_redis_cache_is_the_forgiving_one():
    """Production's cache (REDIS_URL set) degrades rather than failing (settings, read in a
    fresh interpreter with the variable set)."""
    out = _in_production("from django.conf import settings; print(settings.CACHES)")
    assert "core.cache.ForgivingRedisCache" in out


def _in_production(code: str, timeout: float = 30) -> str:
    env = {**os.environ, "REDIS_URL": DOWN, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=django_settings.BASE_DIR,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_with_production_settings_a_dead_broker_is_refused_within_seconds():
    """With REDIS_URL set the way production sets it, queueing against a dead Redis fails in
    a few seconds with QueueUnavailable (a Redis result backend would block ~20 s and raise
    RuntimeError "The Celery application must be restarted")."""
    out = _in_production(
        "import time\n"
        "from core.queue import enqueue, QueueUnavailable\n"
        "from reports.tasks import run_report_job\n"
        "t = time.monotonic()\n"
        "try:\n"
        "    enqueue(run_report_job, 1)\n"
        "except QueueUnavailable as exc:\n"
        "    print('refused', round(time.monotonic() - t, 2), exc)\n"
    )
    assert out.startswith("refused"), out
    seconds = float(out.split()[1])
    assert seconds < FAST
    assert QUEUE_UNAVAILABLE in out


# Starting jobs ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_report_cannot_start_with_redis_down_and_starts_when_it_is_back(
    client, users, tree, broker, queue_back
):
    client.force_login(users.county)
    broker(DOWN)
    data = {"kind": "progress_xlsx", "region": tree.county.code, "year": YEAR}
    response, seconds = timed(lambda: client.post(START, data, HTTP_REFERER=PROGRESS))
    assert seconds < FAST
    assert response.url == PROGRESS
    assert QUEUE_UNAVAILABLE in shown(client, response)
    job = ReportJob.objects.get()
    assert job.status == JobStatus.FAILED  # not left 排队等待中 with no task behind it
    assert job.message == f"生成失败：{QUEUE_UNAVAILABLE}"
    assert job.finished_at is not None

    broker(BACK)
    response = client.post(START, data, HTTP_REFERER=PROGRESS)
    again = ReportJob.objects.exclude(pk=job.pk).get()
    assert response.url == reverse("reports:job", args=[again.pk])
    assert again.status == JobStatus.PENDING
    assert queue_back.llen(QUEUE) == 1  # queued in Redis, waiting for a worker
    _run_a_worker(broker(BACK), lambda: again.refresh_from_db() or again.status == "done")
    assert again.status == JobStatus.DONE
    assert queue_back.llen(QUEUE) == 0


def _run_a_worker(app, finished, seconds=30):
    """A real worker (in a thread, solo pool) on the Redis broker until ``finished()``."""
    from celery.contrib.testing.worker import start_worker

    deadline = time.monotonic() + seconds
    with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
        while not finished():
            assert time.monotonic() < deadline, "the worker did not finish the job in time"
            time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_a_big_export_cannot_start_with_redis_down(client, users, tree, settings, broker):
    settings.EXPORT_SYNC_MAX_ROWS = 1
    for _ in range(3):
        ToiletFactory(household=HouseholdFactory(village=tree.v1))
    client.force_login(users.county)
    broker(DOWN)
    page = reverse("toilets:toilet-list")
    response, seconds = timed(
        lambda: client.get(
            reverse("toilets:toilet-export"), HTTP_REFERER=f"http://testserver{page}"
        )
    )
    assert seconds < FAST
    assert response.url == f"http://testserver{page}"
    assert QUEUE_UNAVAILABLE in shown(client, response)
    assert ReportJob.objects.get().status == JobStatus.FAILED


@pytest.mark.django_db(transaction=True)
def test_an_upload_cannot_be_checked_with_redis_down_and_can_be_uploaded_again(
    client, users, tree, broker, queue_back
):
    client.force_login(users.county)
    broker(DOWN)

    def post():
        upload = SimpleUploadedFile("台账.xlsx", xlsx(good_rows(tree)))
        return client.post(UPLOAD, {"file": upload, "round_name": ROUND}, HTTP_REFERER=UPLOAD)

    response, seconds = timed(post)
    assert seconds < FAST
    assert response.url == UPLOAD
    assert QUEUE_UNAVAILABLE in shown(client, response)
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED
    assert job.message.startswith(QUEUE_UNAVAILABLE)
    assert "重新上传" in job.message

    broker(BACK)
    response = post()
    again = ImportJob.objects.exclude(pk=job.pk).get()
    assert response.url == job_url(again)
    assert again.status == ImportStatus.UPLOADED
    assert queue_back.llen(QUEUE) == 1
    _run_a_worker(
        # Until the check has ended (not merely started: 检查中 is a job still busy).
        broker(BACK),
        lambda: again.refresh_from_db() or not again.busy,
    )
    assert again.status == ImportStatus.CHECKED, again.message


@pytest.mark.django_db(transaction=True)
def test_a_confirmation_refused_with_redis_down_can_be_given_again(
    client, users, tree, broker, queue_back
):
    client.force_login(users.county)
    upload = SimpleUploadedFile("台账.xlsx", xlsx(good_rows(tree)))
    client.post(UPLOAD, {"file": upload, "round_name": ROUND})  # eager: checked at once
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.CHECKED, job.message

    broker(DOWN)
    page = job_url(job)
    response, seconds = timed(lambda: client.post(job_url(job, "confirm"), HTTP_REFERER=page))
    assert seconds < FAST
    assert QUEUE_UNAVAILABLE in shown(client, response)
    job.refresh_from_db()
    assert job.status == ImportStatus.CHECKED
    assert job.confirmed_at is None  # waiting for a confirmation again, not for a lost task
    assert not job.busy
    assert Household.objects.count() == 0

    broker(BACK)
    client.post(job_url(job, "confirm"), HTTP_REFERER=page)
    job.refresh_from_db()
    assert job.confirmed_at is not None
    assert queue_back.llen(QUEUE) == 1
    _run_a_worker(broker(BACK), lambda: job.refresh_from_db() or not job.busy)
    assert job.status == ImportStatus.DONE, job.message
    assert Household.objects.count() == 2


def test_the_api_answers_503_in_chinese():
    request = RequestFactory().post("/api/v1/anything/")
    response = QueueUnavailableMiddleware(lambda r: None).process_exception(
        request, QueueUnavailable()
    )
    assert response.status_code == 503
    assert json.loads(response.content) == {"detail": QUEUE_UNAVAILABLE}
