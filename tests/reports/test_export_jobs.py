"""Big exports become report jobs: the export URL starts a job (filed under the user's own
region, with the page's filters as its parameters) and sends the user to the job's progress
page; the job rebuilds the same filtered, scoped rows for its creator; only the creator sees
the job and downloads its file. Celery runs eagerly; the task is queued on commit."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse
from openpyxl import load_workbook

from core.exports import exports
from reports import jobs, services
from reports.models import JobStatus, ReportJob
from tests.conftest import login
from tests.factories import HouseholdFactory, InspectionFactory, SurveyRoundFactory, ToiletFactory
from tests.ledger import open_entry

pytestmark = pytest.mark.django_db

SMALL = 1  # the sync limit in these tests: two rows or more become a job
BIG = 10**6


@pytest.fixture
def survey(tree, register):
    return SurveyRoundFactory(county=tree.county, name="2022年摸排")


@pytest.fixture
def data(users, tree, register, survey):
    """Three toilets in T1 (two in V1, one in V2), inspected and with ledger entries; two
    more not yet inspected."""
    toilets = [
        register.t1,
        ToiletFactory(household=HouseholdFactory(village=tree.v1, head_name="陈一")),
        ToiletFactory(household=HouseholdFactory(village=tree.v2, head_name="赵六")),
    ]
    surveyors = [users.surveyor, users.surveyor, users.surveyor_v2]
    for toilet, surveyor in zip(toilets, surveyors, strict=True):
        open_entry(surveyor, survey, toilet)
    ToiletFactory(household=HouseholdFactory(village=tree.v1, head_name="未摸排"))
    ToiletFactory(household=HouseholdFactory(village=tree.v2, head_name="未摸排二"))
    return toilets


@pytest.fixture
def limit(settings):
    settings.EXPORT_SYNC_MAX_ROWS = SMALL
    return settings


def export_urls(survey):
    def on_round(name):
        return reverse(f"surveys:{name}", args=[survey.pk])

    return {
        "export_households": reverse("toilets:household-export"),
        "export_toilets": reverse("toilets:toilet-export"),
        "export_inspections": on_round("review-export"),
        "export_ledger": reverse("rectification:ledger-export"),
        "export_ledger_log": reverse("rectification:log-export"),
        "export_coverage": on_round("coverage-export"),
        "export_missing": on_round("coverage-missing-export"),
    }


def rows_of(content: bytes) -> list[list]:
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    try:
        return [list(row) for row in workbook.active.iter_rows(values_only=True)]
    finally:
        workbook.close()


def download(client, job) -> list[list]:
    response = client.get(reverse("reports:job-download", args=[job.pk]))
    assert response.status_code == 200
    return rows_of(b"".join(response.streaming_content))


def run_export(client, capture, path, params=None):
    with capture(execute=True) as callbacks:
        response = client.get(path, params or {})
    return response, callbacks


def _params_for(kind, tree):
    return {"township": tree.t1.code} if kind in ("export_households", "export_toilets") else {}


@pytest.mark.parametrize("kind", exports.kinds())
def test_a_big_export_runs_as_a_job_with_the_pages_rows(
    as_user, users, tree, survey, data, settings, django_capture_on_commit_callbacks, kind
):
    path = export_urls(survey)[kind]
    params = _params_for(kind, tree)
    client = as_user(users.township)
    settings.EXPORT_SYNC_MAX_ROWS = BIG
    at_once = rows_of(client.get(path, params).content)
    assert len(at_once) > 2  # a header and at least two rows: more than the small limit

    settings.EXPORT_SYNC_MAX_ROWS = SMALL
    response, callbacks = run_export(client, django_capture_on_commit_callbacks, path, params)
    job = ReportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:job", args=[job.pk])
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.message
    assert (job.kind, job.region, job.created_by) == (kind, tree.t1, users.township)
    assert job.done == job.total == len(at_once) - (2 if kind == "export_coverage" else 1)
    assert job.message.startswith("已完成")
    assert job.result_name.startswith("沙埠镇-") and job.result_name.endswith(".xlsx")
    assert download(client, job) == at_once


def test_the_job_keeps_the_pages_filters(
    as_user, users, tree, survey, data, limit, django_capture_on_commit_callbacks
):
    client = as_user(users.township)
    path = reverse("toilets:toilet-export")
    run_export(client, django_capture_on_commit_callbacks, path, {"village": tree.v1.code})
    job = ReportJob.objects.get()
    assert job.params == {"village": tree.v1.code}
    names = {row[5] for row in download(client, job)[1:]}
    assert names == {"王建国", "陈一", "未摸排"}

    review = reverse("surveys:review-export", args=[survey.pk])
    run_export(client, django_capture_on_commit_callbacks, review, {"village": tree.v1.code})
    job = ReportJob.objects.filter(kind="export_inspections").get()
    assert job.params == {"round": str(survey.pk), "village": tree.v1.code}
    assert [row[4] for row in download(client, job)[1:]] == ["王建国", "陈一"]
    page = client.get(reverse("reports:job", args=[job.pk])).content.decode()
    assert "沙埠镇 · 2022年摸排 · 待核查摸排记录 Excel 导出" in page
    assert "只有您本人可以下载" in page


def test_a_small_export_is_sent_at_once(as_user, users, survey, data, settings):
    settings.EXPORT_SYNC_MAX_ROWS = 5  # the township's five toilets
    response = as_user(users.township).get(reverse("toilets:toilet-export"))
    assert response.status_code == 200
    assert not ReportJob.objects.exists()


def test_the_job_file_is_masked_for_the_county(
    as_user, users, register, survey, data, limit, django_capture_on_commit_callbacks
):
    client = as_user(users.county)
    run_export(client, django_capture_on_commit_callbacks, reverse("toilets:household-export"))
    job = ReportJob.objects.get()
    assert job.region == users.county.role_assignment.region
    cells = {str(c) for row in download(client, job) for c in row}
    assert register.h1.id_number not in cells and "13812345678" not in cells
    assert "138****5678" in cells
    assert "张志强" not in cells  # county B


@pytest.mark.parametrize("who", ["county", "inspector", "township_t2", "outsider", "surveyor"])
def test_nobody_else_sees_or_downloads_the_job(
    as_user, client, users, survey, data, limit, django_capture_on_commit_callbacks, who
):
    creator = as_user(users.township)
    run_export(creator, django_capture_on_commit_callbacks, reverse("toilets:household-export"))
    job = ReportJob.objects.get()
    assert job.status == JobStatus.DONE
    jobs_page = creator.get(reverse("reports:jobs")).content.decode()
    assert "农户台账 Excel 导出" in jobs_page
    client.logout()
    other = login(client, getattr(users, who))
    for name in ("reports:job", "reports:job-status", "reports:job-download"):
        assert other.get(reverse(name, args=[job.pk])).status_code == 404
    assert "农户台账 Excel 导出" not in other.get(reverse("reports:jobs")).content.decode()


def test_the_same_export_is_not_queued_twice(as_user, users, tree, survey, data, limit):
    client = as_user(users.township)
    first = client.get(reverse("toilets:toilet-export"), {"village": tree.v1.code, "page": "2"})
    again = client.get(reverse("toilets:toilet-export"), {"village": tree.v1.code})
    assert first["Location"] == again["Location"]
    assert ReportJob.objects.count() == 1
    client.get(reverse("toilets:toilet-export"))
    assert ReportJob.objects.count() == 2


def test_exports_cannot_be_started_from_the_job_form(as_user, users, tree):
    response = as_user(users.township).post(
        reverse("reports:job-start"), {"kind": "export_toilets", "region": tree.t1.code}
    )
    assert response.status_code == 302
    assert not ReportJob.objects.exists()


def test_start_job_checks_the_filters_and_the_region(users, tree, register):
    with pytest.raises(ValidationError, match="筛选条件无效"):
        services.start_job(users.township, "export_toilets", tree.t1, {"village": tree.v3.code})
    with pytest.raises(ValidationError, match="本人的管辖范围"):
        services.start_job(users.county, "export_toilets", tree.t1, {})
    with pytest.raises(ValidationError, match="摸排轮次"):
        services.start_job(users.county, "export_coverage", tree.county, {"round": "999"})
    assert not ReportJob.objects.exists()


def test_a_superuser_without_a_role_files_the_job_at_the_top(
    client, tree, register, limit, django_capture_on_commit_callbacks
):
    admin = get_user_model().objects.create_superuser("root", password="pass-for-tests-1")
    client.force_login(admin)
    run_export(client, django_capture_on_commit_callbacks, reverse("toilets:household-export"))
    job = ReportJob.objects.get()
    assert job.region == tree.province and job.status == JobStatus.DONE
    names = {row[4] for row in download(client, job)[1:]}
    assert names == {"王建国", "李秀英", "张志强"}
    assert job.result_name.startswith("农户台账-")


def test_the_job_reports_progress(
    as_user, users, tree, survey, data, limit, monkeypatch, django_capture_on_commit_callbacks
):
    steps = []
    step = jobs._step
    monkeypatch.setattr("core.xlsx.PROGRESS_EVERY", 1)
    monkeypatch.setattr(jobs, "_step", lambda job, *args: (steps.append(args), step(job, *args)))
    run_export(
        as_user(users.township),
        django_capture_on_commit_callbacks,
        reverse("toilets:toilet-export"),
    )
    assert [done for done, _, _ in steps] == [0, 1, 2, 3, 4, 5]
    assert {total for _, total, _ in steps} == {5}
    assert steps[2][2] == "已导出 2 / 5 行…"
    job = ReportJob.objects.get()
    assert (job.done, job.total, job.message) == (5, 5, "已完成，共 5 行。")


def test_a_job_whose_filter_no_longer_applies_fails_politely(users, tree, register):
    job = ReportJob.objects.create(
        kind="export_toilets",
        region=tree.t1,
        params={"village": tree.v3.code},
        created_by=users.township,
    )
    assert jobs.run_job(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message == "生成失败：筛选条件无效或超出您的管辖范围。"


def test_the_inspection_job_rows_match_the_sync_export(
    as_user, users, tree, survey, settings, django_capture_on_commit_callbacks
):
    for _ in range(3):
        toilet = ToiletFactory(household=HouseholdFactory(village=tree.v1))
        InspectionFactory(round=survey, toilet=toilet, surveyor=users.surveyor)
    client = as_user(users.township)
    path = reverse("surveys:review-export", args=[survey.pk])
    settings.EXPORT_SYNC_MAX_ROWS = BIG
    at_once = rows_of(client.get(path).content)
    settings.EXPORT_SYNC_MAX_ROWS = SMALL
    run_export(client, django_capture_on_commit_callbacks, path)
    assert download(client, ReportJob.objects.get()) == at_once
