"""The API's side resources (flags, spot checks, reconciliation notes, reference data, overdue
snapshots, submissions, report jobs, progress targets): scoped lists, 404 for another
region's object, filters, pagination, refused writes and pinned query counts."""

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone

from rectification.models import OverdueSnapshot
from regions.choices import Role
from reports.models import ProgressTarget, ReportJob, Submission, SubmissionStatus
from surveys.models import (
    FlagKind,
    InspectionFlag,
    ReconciliationNote,
    SpotCheckItem,
    SpotCheckSample,
)
from tests.factories import SurveyRoundFactory, UserFactory
from tests.ledger import open_entry

pytestmark = pytest.mark.django_db


@dataclass
class World:
    """One row of every side resource in county A (``*``) and one in county B (``*_b``)."""

    survey: object
    survey_b: object
    entry: object
    entry_b: object
    flag: object
    flag_b: object
    sample: object
    sample_b: object
    item: object
    item_b: object
    note: object
    note_b: object
    snapshot: object
    snapshot_b: object
    submission: object
    submission_b: object
    job: object
    job_b: object
    target: object
    target_b: object


def _submission(survey, township, user):
    today = timezone.localdate()
    values = {str(col): 0 for col in range(1, 34)}
    return Submission.objects.create(
        survey_round=survey,
        region=township,
        kind="township",
        version=1,
        status=SubmissionStatus.SUBMITTED,
        cutoff=timezone.now(),
        rows=[{"code": township.code, "name": township.name, "values": values}],
        total=values,
        submitted_by=user,
        filler_name="张三",
        filler_phone="0777-1234567",
        filled_on=today,
    )


def build_world(tree, users, register) -> World:
    now, today = timezone.now(), timezone.localdate()
    survey = SurveyRoundFactory(county=tree.county, name="2022年摸排")
    survey_b = SurveyRoundFactory(county=tree.county_b, name="2022年摸排")
    surveyor_b = UserFactory(username="surveyor_b", role=(Role.SURVEYOR, tree.v4))
    entry = open_entry(users.surveyor, survey, register.t1)
    entry_b = open_entry(surveyor_b, survey_b, register.t4)
    inspection, inspection_b = entry.opened_by_inspection, entry_b.opened_by_inspection
    InspectionFlag.objects.all().delete()  # the automatic ones (no photo): one flag each here

    def flag(on):
        return InspectionFlag.objects.get_or_create(
            inspection=on, kind=FlagKind.BURST, defaults={"detail": "10 分钟内连续录入 6 户"}
        )[0]

    def sample(on, creator):
        return SpotCheckSample.objects.create(
            round=on, per_village=1, seed=42, created_by=creator, published_at=now
        )

    sample_a, sample_b = sample(survey, users.county), sample(survey_b, users.outsider)
    inspector_b = UserFactory(username="inspector_b", role=(Role.INSPECTOR, tree.county_b))
    return World(
        survey=survey,
        survey_b=survey_b,
        entry=entry,
        entry_b=entry_b,
        flag=flag(inspection),
        flag_b=flag(inspection_b),
        sample=sample_a,
        sample_b=sample_b,
        item=SpotCheckItem.objects.create(
            sample=sample_a, original=inspection, inspector=users.inspector
        ),
        item_b=SpotCheckItem.objects.create(
            sample=sample_b, original=inspection_b, inspector=inspector_b
        ),
        note=ReconciliationNote.objects.create(
            round=survey,
            village=tree.v1,
            change_key="toilet:1:new",
            reason="新建户厕",
            author=users.surveyor,
        ),
        note_b=ReconciliationNote.objects.create(
            round=survey_b,
            village=tree.v4,
            change_key="toilet:4:new",
            reason="新建户厕",
            author=surveyor_b,
        ),
        snapshot=OverdueSnapshot.objects.create(
            day=today, township=tree.t1, count=1, entry_ids=[entry.pk]
        ),
        snapshot_b=OverdueSnapshot.objects.create(
            day=today, township=tree.t3, count=1, entry_ids=[entry_b.pk]
        ),
        submission=_submission(survey, tree.t1, users.township),
        submission_b=_submission(survey_b, tree.t3, users.outsider),
        job=ReportJob.objects.create(
            kind="summary_xlsx",
            region=tree.county,
            params={"round": survey.pk},
            created_by=users.county,
        ),
        job_b=ReportJob.objects.create(
            kind="summary_xlsx",
            region=tree.county_b,
            params={"round": survey_b.pk},
            created_by=users.outsider,
        ),
        target=ProgressTarget.objects.create(
            year=2024, village=tree.v1, new_builds=3, rectifications=2, updated_by=users.county
        ),
        target_b=ProgressTarget.objects.create(
            year=2024, village=tree.v4, new_builds=1, rectifications=1, updated_by=users.outsider
        ),
    )


@pytest.fixture
def world(tree, users, register):
    return build_world(tree, users, register)


# (list URL, attribute of the county A row, attribute of the county B row)
RESOURCES = [
    ("/api/inspection-flags/", "flag", "flag_b"),
    ("/api/spot-check-samples/", "sample", "sample_b"),
    ("/api/spot-check-items/", "item", "item_b"),
    ("/api/reconciliation-notes/", "note", "note_b"),
    ("/api/overdue-snapshots/", "snapshot", "snapshot_b"),
    ("/api/submissions/", "submission", "submission_b"),
    ("/api/report-jobs/", "job", "job_b"),
    ("/api/progress-targets/", "target", "target_b"),
]

# role assignment, count, page rows (+ prefetches)
LIST_QUERIES = {
    "/api/inspection-flags/": 3,
    "/api/spot-check-samples/": 3,
    "/api/spot-check-items/": 4,  # + the items' categories
    "/api/reconciliation-notes/": 3,
    "/api/overdue-snapshots/": 3,
    "/api/submissions/": 3,
    "/api/report-jobs/": 3,
    "/api/progress-targets/": 3,
    "/api/problem-categories/": 2,  # reference data: no role lookup
    "/api/report-templates/": 2,
}


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("url,own,other", RESOURCES)
def test_lists_hold_only_the_own_county(api, users, world, url, own, other):
    api.force_authenticate(users.county)
    assert ids(api.get(url)) == {getattr(world, own).pk}
    api.force_authenticate(users.outsider)
    assert ids(api.get(url)) == {getattr(world, other).pk}


@pytest.mark.parametrize("url,own,other", RESOURCES)
def test_another_regions_object_is_not_found(api, users, world, url, own, other):
    api.force_authenticate(users.county)
    assert api.get(f"{url}{getattr(world, own).pk}/").status_code == 200
    assert api.get(f"{url}{getattr(world, other).pk}/").status_code == 404


@pytest.mark.parametrize("url,own,other", RESOURCES)
def test_anonymous_requests_are_refused(api, world, url, own, other):
    assert api.get(url).status_code == 401
    assert api.get(f"{url}{getattr(world, own).pk}/").status_code == 401


@pytest.mark.parametrize("url,own,other", RESOURCES)
def test_the_resources_are_read_only(api, users, world, url, own, other):
    api.force_authenticate(users.county)
    detail = f"{url}{getattr(world, own).pk}/"
    assert api.post(url, {}, format="json").status_code == 405
    assert api.put(detail, {}, format="json").status_code == 405
    assert api.patch(detail, {}, format="json").status_code == 405
    assert api.delete(detail).status_code == 405


@pytest.mark.parametrize("url", ["/api/problem-categories/", "/api/report-templates/"])
def test_reference_data_is_global_and_read_only(api, users, url):
    api.force_authenticate(users.outsider)
    response = api.get(url)
    assert response.status_code == 200
    assert response.json()["count"] >= 1
    assert api.post(url, {}, format="json").status_code == 405
    assert api.get(url).status_code == 200
    api.force_authenticate(None)
    assert api.get(url).status_code == 401


def test_reference_detail_and_filters(api, users):
    api.force_authenticate(users.surveyor)
    categories = api.get("/api/problem-categories/").json()
    assert categories["count"] == 8
    code = categories["results"][0]["code"]
    assert api.get(f"/api/problem-categories/{code}/").json()["code"] == code
    assert api.get("/api/problem-categories/nope/").status_code == 404
    templates = api.get("/api/report-templates/", {"is_default": "true"}).json()["results"]
    assert len(templates) == 1 and templates[0]["is_default"]
    assert {"label", "from", "to"} <= set(templates[0]["year_buckets"][0])


@pytest.mark.parametrize("url", sorted(LIST_QUERIES))
def test_list_query_counts_are_pinned(api, users, world, django_assert_num_queries, url):
    api.force_authenticate(users.county)
    api.get(url)  # warm the per-process caches (content types, categories)
    api.force_authenticate(UserFactory(role=(Role.COUNTY, world.survey.county)))
    with django_assert_num_queries(LIST_QUERIES[url]):
        assert api.get(url).status_code == 200


def test_list_query_counts_do_not_grow_with_rows(
    api, users, world, tree, django_assert_num_queries
):
    extra = [
        ReconciliationNote.objects.create(
            round=world.survey,
            village=tree.v2,
            change_key=f"toilet:{n}:gone",
            reason="拆除",
            author=users.surveyor,
        )
        for n in range(5)
    ]
    assert len(extra) == 5
    api.force_authenticate(users.county)
    with django_assert_num_queries(LIST_QUERIES["/api/reconciliation-notes/"]):
        assert ids(api.get("/api/reconciliation-notes/")) == {world.note.pk, *(n.pk for n in extra)}


# Filters ------------------------------------------------------------------------------------


def test_region_filter_is_a_code_prefix_within_scope(api, users, world, tree):
    api.force_authenticate(users.county)
    assert ids(api.get("/api/progress-targets/", {"region": tree.t1.code})) == {world.target.pk}
    assert ids(api.get("/api/progress-targets/", {"region": tree.t2.code})) == set()
    assert ids(api.get("/api/inspection-flags/", {"region": tree.v1.code})) == {world.flag.pk}
    # Another county's code is an invalid choice, not an empty hint.
    response = api.get("/api/progress-targets/", {"region": tree.county_b.code})
    assert response.status_code == 400
    assert "region" in response.json()


def test_round_filters_refuse_another_countys_round(api, users, world):
    api.force_authenticate(users.county)
    for url in ("/api/submissions/", "/api/spot-check-items/", "/api/reconciliation-notes/"):
        assert ids(api.get(url, {"round": world.survey.pk})), url
        assert api.get(url, {"round": world.survey_b.pk}).status_code == 400, url


def test_state_and_date_filters(api, users, world):
    api.force_authenticate(users.county)
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    assert ids(api.get("/api/submissions/", {"status": "submitted"})) == {world.submission.pk}
    assert ids(api.get("/api/submissions/", {"status": "accepted"})) == set()
    assert ids(api.get("/api/submissions/", {"since": today.isoformat()})) == {world.submission.pk}
    assert ids(api.get("/api/overdue-snapshots/", {"until": yesterday.isoformat()})) == set()
    assert api.get("/api/overdue-snapshots/", {"since": "not-a-date"}).status_code == 400
    assert ids(api.get("/api/inspection-flags/", {"cleared": "false"})) == {world.flag.pk}
    assert ids(api.get("/api/inspection-flags/", {"cleared": "true"})) == set()
    assert ids(api.get("/api/spot-check-samples/", {"published": "true"})) == {world.sample.pk}
    assert ids(api.get("/api/spot-check-items/", {"checked": "true"})) == set()
    assert ids(api.get("/api/report-jobs/", {"mine": "true"})) == {world.job.pk}
    assert ids(api.get("/api/report-jobs/", {"status": "done"})) == set()
    assert ids(api.get("/api/progress-targets/", {"year": 2023})) == set()


def test_pagination_with_page_size(api, users, world, tree):
    for n in range(4):
        ProgressTarget.objects.create(year=2020 + n, village=tree.v2, updated_by=users.county)
    api.force_authenticate(users.county)
    page = api.get("/api/progress-targets/", {"page_size": 2}).json()
    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"]
    assert (
        len(api.get("/api/progress-targets/", {"page_size": 2, "page": 3}).json()["results"]) == 1
    )
    assert api.get("/api/progress-targets/", {"page": 9}).status_code == 404
    assert len(api.get("/api/progress-targets/", {"page_size": 10_000}).json()["results"]) == 5


# Who sees the spot-checks -----------------------------------------------------------------


def test_surveyors_see_no_spot_checks(api, users, world):
    api.force_authenticate(users.surveyor)
    assert ids(api.get("/api/spot-check-samples/")) == set()
    assert ids(api.get("/api/spot-check-items/")) == set()


def test_an_unpublished_sample_shows_only_to_the_county_and_the_checker(api, users, world, tree):
    SpotCheckSample.objects.filter(pk=world.sample.pk).update(published_at=None)
    api.force_authenticate(users.county)
    assert ids(api.get("/api/spot-check-items/")) == {world.item.pk}
    api.force_authenticate(users.township)  # the item is in T1, but not published yet
    assert ids(api.get("/api/spot-check-items/")) == set()
    api.force_authenticate(users.inspector)  # assigned to re-check it
    assert ids(api.get("/api/spot-check-items/")) == {world.item.pk}
    assert ids(api.get("/api/spot-check-items/", {"mine": "true"})) == {world.item.pk}


def test_a_township_sees_only_its_own_submissions(api, users, world, tree):
    api.force_authenticate(users.township_t2)
    assert ids(api.get("/api/submissions/")) == set()
    api.force_authenticate(users.township)
    assert ids(api.get("/api/submissions/")) == {world.submission.pk}
    row = api.get(f"/api/submissions/{world.submission.pk}/").json()
    assert row["region"] == tree.t1.code and row["rows"][0]["values"]["1"] == 0
    assert "sources" not in row


# The write actions that go through services ------------------------------------------------


def test_county_accepts_and_returns_submissions_through_the_service(api, users, world):
    url = f"/api/submissions/{world.submission.pk}/"
    api.force_authenticate(users.township)
    assert api.post(url + "accept/", {}, format="json").status_code == 403
    api.force_authenticate(users.county)
    assert api.post(url + "accept/", {"version": 2}, format="json").status_code == 409
    response = api.post(url + "return/", {"version": 1}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    response = api.post(url + "return/", {"version": 1, "reason": "第3列有误"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "returned"
    assert response.json()["return_reason"] == "第3列有误"
    # Already reviewed: the state no longer allows it.
    assert api.post(url + "accept/", {}, format="json").status_code == 409
    other = f"/api/submissions/{world.submission_b.pk}/accept/"
    assert api.post(other, {}, format="json").status_code == 404


def test_flags_are_cleared_through_the_service(api, users, world):
    url = f"/api/inspection-flags/{world.flag.pk}/clear/"
    api.force_authenticate(users.surveyor)
    assert api.post(url, {"note": "已核实"}, format="json").status_code == 403
    api.force_authenticate(users.township)
    assert api.post(url, {}, format="json").status_code == 400
    response = api.post(url, {"note": "已电话核实农户"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["cleared"] is True
    assert response.json()["cleared_by"] == "township"
    assert api.post(url, {"note": "再次核实"}, format="json").status_code == 409
    other = f"/api/inspection-flags/{world.flag_b.pk}/clear/"
    assert api.post(other, {"note": "x"}, format="json").status_code == 404


def test_an_export_job_is_listed_only_to_the_person_who_started_it(api, users, world, tree):
    """Its file holds the rows (and identity numbers) its creator's role may see."""
    export = ReportJob.objects.create(
        kind="export_households", region=tree.t1, params={}, created_by=users.township
    )
    api.force_authenticate(users.county)
    assert export.pk not in ids(api.get("/api/report-jobs/"))
    assert api.get(f"/api/report-jobs/{export.pk}/").status_code == 404
    api.force_authenticate(users.township)
    assert export.pk in ids(api.get("/api/report-jobs/"))
    assert world.job.pk not in ids(api.get("/api/report-jobs/"))  # county's: outside T1
