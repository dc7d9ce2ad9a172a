"""Report jobs: started from the progress page, run by Celery (eager in tests, after the job
row is committed), polled by the page, downloaded when done; all through
ReportJob.objects.visible_to."""

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from reports import jobs
from reports.models import JobStatus, ProgressTarget, ReportJob
from reports.services import start_job
from reports.sheet import read_summary
from reports.tasks import run_report_job
from tests.browser import fits_a_phone, log_in, phone_page
from tests.factories import HouseholdFactory, SurveyRoundFactory, ToiletFactory

pytestmark = pytest.mark.django_db

START = reverse("reports:job-start")
PROGRESS = reverse("reports:progress")
YEAR = timezone.localdate().year


def page(pk):
    return reverse("reports:job", args=[pk])


def status(pk):
    return reverse("reports:job-status", args=[pk])


def download(pk):
    return reverse("reports:job-download", args=[pk])


@pytest.fixture
def survey(tree, register):
    return SurveyRoundFactory(county=tree.county, name="2024年摸排")


@pytest.fixture
def targets(tree, users):
    ProgressTarget.objects.create(
        year=YEAR, village=tree.v1, new_builds=5, rectifications=2, updated_by=users.county
    )
    ToiletFactory(household=HouseholdFactory(village=tree.v1), build_year=YEAR)


def start(client, capture, **data):
    """POST to the start endpoint and run what it queued once the job row is committed."""
    with capture(execute=True) as callbacks:
        response = client.post(START, data)
    return response, callbacks


def content_of(response) -> bytes:
    return b"".join(response.streaming_content)


def test_it_runs_a_progress_job_to_a_download(
    as_user, users, tree, targets, django_capture_on_commit_callbacks
):
    client = as_user(users.county)
    response, callbacks = start(
        client,
        django_capture_on_commit_callbacks,
        kind="progress_xlsx",
        region=tree.county.code,
        year=YEAR,
    )
    job = ReportJob.objects.get()
    assert response.status_code == 302
    assert response.url == page(job.pk)
    assert len(callbacks) == 1  # queued only once the job row was committed

    payload = client.get(status(job.pk)).json()
    assert payload["status"] == "done"
    assert payload["status_label"] == "已完成"
    assert payload["percent"] == 100
    assert payload["done"] == payload["total"] == 2
    assert payload["finished"] is True
    assert payload["download_url"] == download(job.pk)
    assert payload["result_name"].startswith(f"钦南区-{YEAR}年整村推进进展-")

    file = client.get(download(job.pk))
    assert file.status_code == 200
    assert "attachment" in file["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(content_of(file))).active
    assert sheet["A1"].value == f"{YEAR}年度农村户厕改造整村推进每周进展情况汇总表"
    assert [sheet.cell(5, c).value for c in range(1, 7)] == ["沙埠镇", "沙埠村", 5, 2, 1, 0]


def test_it_runs_a_summary_job(as_user, users, tree, survey, django_capture_on_commit_callbacks):
    client = as_user(users.county)
    start(
        client,
        django_capture_on_commit_callbacks,
        kind="summary_xlsx",
        region=tree.county.code,
        round=survey.pk,
    )
    job = ReportJob.objects.get()
    assert job.status == JobStatus.DONE, job.message
    parsed = read_summary(content_of(client.get(download(job.pk))))
    assert [label for label, _ in parsed.rows] == ["沙埠镇", "康熙岭镇"]
    # The register's toilets of county A: one in 沙埠镇, one in 康熙岭镇; county B's not.
    assert parsed.total[1][1] == 2
    assert not parsed.errors and not parsed.violations
    assert job.result_name.startswith("钦南区-2024年摸排-汇总表-")


def test_the_job_page_shows_a_progress_bar_and_polls(as_user, users, tree):
    job = start_job(users.county, "progress_xlsx", tree.county, {"year": YEAR})  # not yet run
    response = as_user(users.county).get(page(job.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-status-url="{status(job.pk)}"' in html
    assert 'role="progressbar"' in html
    assert "js/job_progress.js" in html
    assert "排队中" in html
    assert f"钦南区 · {YEAR}年 · 整村推进每周进展情况汇总表 Excel" in html


def test_a_pending_job_reports_no_download(as_user, users, tree):
    job = start_job(users.county, "progress_xlsx", tree.county, {"year": YEAR})
    client = as_user(users.county)
    payload = client.get(status(job.pk)).json()
    assert payload["status"] == "pending"
    assert payload["percent"] == 0
    assert payload["finished"] is False
    assert payload["download_url"] is None
    assert client.get(download(job.pk)).status_code == 404


def test_the_same_job_is_not_queued_twice(users, tree):
    first = start_job(users.county, "progress_xlsx", tree.county, {"year": YEAR})
    again = start_job(users.county, "progress_xlsx", tree.county, {"year": str(YEAR)})
    other = start_job(users.county, "progress_xlsx", tree.county, {"year": YEAR - 1})
    assert again.pk == first.pk
    assert other.pk != first.pk


def test_the_progress_page_offers_the_background_buttons(as_user, users, tree, survey):
    html = as_user(users.county).get(PROGRESS).content.decode()
    assert html.count("后台生成 Excel") == 2
    assert 'value="progress_xlsx"' in html and 'value="summary_xlsx"' in html
    assert f'<option value="{survey.pk}">2024年摸排</option>' in html


# Scoping ----------------------------------------------------------------------------------


@pytest.fixture
def township_job(users, tree, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_job(users.township, "progress_xlsx", tree.t1, {"year": YEAR})
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    return job


def test_it_sends_anonymous_users_to_login(client, township_job):
    for url in (page(township_job.pk), status(township_job.pk), download(township_job.pk)):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("login") in response.url
    assert client.post(START, {"kind": "progress_xlsx"}).status_code == 302


@pytest.mark.parametrize("who", ["outsider", "township_t2", "surveyor"])
def test_another_regions_job_is_not_found(as_user, users, township_job, who):
    client = as_user(getattr(users, who))
    for url in (page(township_job.pk), status(township_job.pk), download(township_job.pk)):
        assert client.get(url).status_code == 404


@pytest.mark.parametrize("who", ["township", "county", "inspector"])
def test_the_region_and_those_above_it_see_the_job(as_user, users, township_job, who):
    client = as_user(getattr(users, who))
    assert client.get(page(township_job.pk)).status_code == 200
    assert client.get(status(township_job.pk)).json()["status"] == "done"
    assert client.get(download(township_job.pk)).status_code == 200


def test_the_job_list_shows_only_visible_jobs(as_user, users, township_job, client):
    html = as_user(users.county).get(reverse("reports:jobs")).content.decode()
    assert page(township_job.pk) in html
    client.logout()
    html = as_user(users.outsider).get(reverse("reports:jobs")).content.decode()
    assert page(township_job.pk) not in html
    assert "还没有报表任务" in html


def test_a_job_for_another_region_cannot_be_started(
    as_user, users, tree, django_capture_on_commit_callbacks
):
    response, _ = start(
        as_user(users.outsider),
        django_capture_on_commit_callbacks,
        kind="progress_xlsx",
        region=tree.t1.code,
        year=YEAR,
    )
    assert response.status_code == 404
    with pytest.raises(PermissionDenied):
        start_job(users.township, "progress_xlsx", tree.county, {"year": YEAR})
    assert not ReportJob.objects.exists()


def test_a_round_of_another_county_is_refused(
    as_user, users, tree, django_capture_on_commit_callbacks
):
    other = SurveyRoundFactory(county=tree.county_b, name="钦北区摸排")
    response, _ = start(
        as_user(users.county),
        django_capture_on_commit_callbacks,
        kind="summary_xlsx",
        region=tree.county.code,
        round=other.pk,
        next=PROGRESS,
    )
    assert response.status_code == 302
    assert response.url == PROGRESS
    assert not ReportJob.objects.exists()
    assert "请选择本县的摸排轮次" in as_user(users.county).get(PROGRESS).content.decode()


@pytest.mark.parametrize(
    ("kind", "region", "params", "message"),
    [
        ("pdf", "county", {}, "不支持的报表类型"),
        ("progress_xlsx", "county", {"year": "明年"}, "年度应在"),
        ("progress_xlsx", "v1", {"year": YEAR}, "请选择县（区）或乡镇（街道）"),
        ("summary_xlsx", "county", {}, "请选择本县的摸排轮次"),
    ],
)
def test_it_refuses_what_it_cannot_build(users, tree, kind, region, params, message):
    with pytest.raises(ValidationError, match=message):
        start_job(users.county, kind, getattr(tree, region), params)


# Failures ---------------------------------------------------------------------------------


def test_a_failure_is_recorded_in_chinese(users, tree, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(jobs, "build_progress", broken)
    job = ReportJob.objects.create(
        kind="progress_xlsx", region=tree.county, params={"year": YEAR}, created_by=users.county
    )
    assert run_report_job.delay(job.pk).get() == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message.startswith("生成失败：服务器内部错误")
    assert "disk full" not in job.message
    assert not job.result
    assert job.finished_at is not None


def test_a_round_that_went_away_fails_the_job(as_user, users, tree):
    job = ReportJob.objects.create(
        kind="summary_xlsx", region=tree.county, params={"round": 99999}, created_by=users.county
    )
    run_report_job.delay(job.pk)
    payload = as_user(users.county).get(status(job.pk)).json()
    assert payload["status"] == "failed"
    assert payload["finished"] is True
    assert payload["message"] == "生成失败：摸排轮次不存在或不在您的管辖范围内。"
    assert payload["download_url"] is None


def test_a_job_whose_creator_lost_the_region_fails(users, tree):
    job = ReportJob.objects.create(
        kind="progress_xlsx", region=tree.county, params={"year": YEAR}, created_by=users.township
    )
    run_report_job.delay(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "无权查看该区划" in job.message


def test_a_job_runs_once(users, tree, township_job):
    modified = township_job.finished_at
    assert run_report_job.delay(township_job.pk).get() == "skipped"
    township_job.refresh_from_db()
    assert township_job.finished_at == modified


# In a real browser, on a phone ------------------------------------------------------------


@pytest.fixture
def phone(live_server):
    with phone_page(has_touch=True) as page:
        yield page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_township_sets_targets_and_watches_a_job_on_a_phone(phone, live_server, users, tree):
    log_in(phone, live_server, "township")

    phone.goto(f"{live_server.url}{PROGRESS}")
    assert fits_a_phone(phone)
    phone.click("text=填写目标任务")
    assert fits_a_phone(phone)
    row = phone.locator(f'tr[data-code="{tree.v1.code}"]')
    row.locator("input[type=checkbox]").check()
    row.locator("input[name$=new_builds]").fill("6")
    row.locator("input[name$=rectifications]").fill("2")
    phone.click("text=保存全部")
    phone.wait_for_url(f"{live_server.url}{PROGRESS}?*")
    assert "6" in phone.locator('tr[data-code="450702100000"]').inner_text()
    assert fits_a_phone(phone)

    # A job queued but not yet run (as with a busy worker): the page polls until it is done.
    job = ReportJob.objects.create(
        kind="progress_xlsx", region=tree.t1, params={"year": YEAR}, created_by=users.township
    )
    phone.goto(f"{live_server.url}{page(job.pk)}")
    assert phone.locator("#job-state").inner_text() == "排队中"
    assert phone.locator("#job-download").is_hidden()
    assert fits_a_phone(phone)
    run_report_job.delay(job.pk)
    phone.locator("#job-download-link").wait_for(state="visible")
    assert phone.locator("#job-state").inner_text() == "已完成"
    assert phone.locator("#job-percent").inner_text() == "100%"
    with phone.expect_download() as info:
        phone.click("#job-download-link")
    assert info.value.suggested_filename.startswith(f"沙埠镇-{YEAR}年整村推进进展-")
