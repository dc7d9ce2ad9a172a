"""The briefing job's page in real headless Chromium: queued while the city manager watches,
its bar follows the worker, and the finished briefing opens by itself."""

import re

import pytest

from dispatch.models import UnitBriefing, UnitBriefingJob
from dispatch.tasks import unit_briefing_task
from tests.browser import fits_a_phone, log_in, phone_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_job_page_follows_the_job_and_opens_the_briefing(live_server, world, tree):
    # Queued, with no worker on it yet (as after 立即生成 with the workers busy).
    job = UnitBriefingJob.objects.create(
        region=tree.city, kind="week", created_by=world["city"], message="排队等待中…"
    )
    with phone_page() as page:
        log_in(page, live_server, world["city"].username)
        page.goto(f"{live_server.url}/dispatch/units/jobs/{job.pk}/")
        assert page.locator("#job-state").inner_text() == "排队中"
        assert "排队等待中" in page.locator("#job-message").inner_text()
        assert fits_a_phone(page)

        assert unit_briefing_task(job.pk) == "done"  # a worker takes it and counts
        page.wait_for_url(re.compile(r"/dispatch/units/\d+/$"))
        briefing = UnitBriefing.objects.get(region=tree.city)
        assert page.url.endswith(f"/dispatch/units/{briefing.pk}/")
        body = page.locator("body").inner_text()
        assert f"已生成“{briefing.title}”" in body
        assert "钦南区" in body and "钦北区" in body


def test_the_page_stops_asking_once_the_job_is_not_the_users(live_server, world, tree):
    job = UnitBriefingJob.objects.create(
        region=tree.city, kind="week", created_by=world["city"], message="排队等待中…"
    )
    with phone_page() as page:
        log_in(page, live_server, world["city"].username)
        page.goto(f"{live_server.url}/dispatch/units/jobs/{job.pk}/")
        UnitBriefingJob.objects.filter(pk=job.pk).delete()  # e.g. cleaned away meanwhile
        message = page.locator("#job-message")
        message.filter(has_text="无法查看该任务的进度").wait_for()
        asked = []
        page.on("request", lambda request: asked.append(request.url))
        page.wait_for_timeout(3000)  # past the next two polls' delays
        assert not [url for url in asked if "/status/" in url]
