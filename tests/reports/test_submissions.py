"""Township → county submission of the summary table: the services (guards, refusals, versions,
races, frozen snapshots) and the pages (the summary table, the township's and the county's
pages, accept/return, the stamped download, the seal and the public verify page)."""

import datetime
import hashlib
import io
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from PIL import Image, ImageDraw

from core.errors import ConflictError
from regions.choices import Role
from reports import services
from reports.build import build_summary
from reports.models import Seal, Submission, SubmissionStatus
from reports.services import Refused
from surveys.models import ReportTemplate
from tests.factories import HouseholdFactory, SurveyRoundFactory, ToiletFactory, UserFactory
from tests.ledger import drive, open_entry
from tests.reports.complete import complete_round, reopen_for_test

pytestmark = pytest.mark.django_db

S = SubmissionStatus
QUERIES_COUNTY_PAGE = (
    # session, user, scope, round, county, versions, townships, submissions, seal, and the
    # coverage: villages, registered, inspected, incomplete toilets; the 一村一册 form's villages
    14
)


def filler(**overrides):
    data = {
        "filler_name": "陈志明",
        "filler_phone": "0777-1234567",
        "filled_on": timezone.localdate(),
    }
    data.update(overrides)
    return data


def seal_png(size=300) -> bytes:
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, size - 10, size - 10), outline=(200, 20, 20), width=12)
    draw.text((size // 3, size // 2), "SEAL", fill=(200, 20, 20))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2022年摸排")


@pytest.fixture
def surveyor_v3(tree):
    return UserFactory(username="surveyor_v3", role=(Role.SURVEYOR, tree.v3))


def problem(surveyor, survey, village, **toilet):
    """A problem toilet found in ``village`` (its ledger entry); a closed round is re-opened
    for it (the next submission closes it again)."""
    if not survey.is_open:
        reopen_for_test(survey)
    return open_entry(
        surveyor, survey, ToiletFactory(household=HouseholdFactory(village=village), **toilet)
    )


@pytest.fixture
def data(tree, users, survey, surveyor_v3):
    """T1: two problems in V1 (one closed out), one in V2; T2: one in
    V3. Plus healthy toilets so column 1 is more than the problems."""
    closed = problem(users.surveyor, survey, tree.v1)
    drive(closed, township=users.township, surveyor=users.surveyor, to="closed")
    open_one = problem(users.surveyor, survey, tree.v1, build_year=2010, funding="self")
    v2 = problem(users.surveyor_v2, survey, tree.v2, build_year=2020)
    t2 = problem(surveyor_v3, survey, tree.v3, build_year=2017)
    ToiletFactory(household=HouseholdFactory(village=tree.v1))
    return {"closed": closed, "open": open_one, "v2": v2, "t2": t2}


def submit_t1(users, survey, tree, **kwargs):
    complete_round(survey)
    return services.submit_township(
        actor=users.township, survey_round=survey, township=tree.t1, **filler(**kwargs)
    )


def submit_t2(users, survey, tree):
    complete_round(survey)
    return services.submit_township(
        actor=users.township_t2, survey_round=survey, township=tree.t2, **filler()
    )


def accept(users, submission):
    return services.accept_submission(actor=users.county, submission=submission)


def submit_county(users, survey, tree):
    complete_round(survey)
    return services.submit_county(
        actor=users.county, survey_round=survey, county=tree.county, **filler()
    )


@pytest.fixture
def both_accepted(data, users, survey, tree):
    return accept(users, submit_t1(users, survey, tree)), accept(
        users, submit_t2(users, survey, tree)
    )


def footprint():
    return list(
        Submission.objects.order_by("pk").values_list(
            "pk", "version", "status", "reviewed_by", "return_reason", "code", "sha256"
        )
    )


# The township submits ---------------------------------------------------------------------


def test_it_submits_the_townships_rows_with_the_ids_behind_the_numbers(data, users, survey, tree):
    submission = submit_t1(users, survey, tree)

    assert (submission.version, submission.status, submission.kind) == (1, S.SUBMITTED, "township")
    assert [row["name"] for row in submission.rows] == ["沙埠村", "东风村"]
    total = submission.total
    assert (total["1"], total["5"], total["6"], total["9"], total["29"], total["33"]) == (
        4, 2, 3, 0, 1, 2,
    )  # fmt: skip
    entries = submission.sources["entries"]
    assert sorted(entries["6"]) == sorted([data["closed"].pk, data["open"].pk, data["v2"].pk])
    assert entries["29"] == [data["closed"].pk]
    assert data["t2"].pk not in entries["6"]  # the other township's problem is not here
    assert submission.sources["villages"] == [tree.v1.code, tree.v2.code]
    assert submission.submitted_by == users.township
    assert submission.filler_name == "陈志明"


def test_the_township_row_is_its_row_in_the_county_table(data, users, survey, tree):
    submission = submit_t1(users, survey, tree)
    county_row = next(r for r in build_summary(survey, tree.county).rows if r.code == tree.t1.code)
    assert services.values_of(submission.total) == county_row.values


def test_it_refuses_while_a_data_error_exists(data, users, survey, tree):
    problem(users.surveyor, survey, tree.v1, build_year=2023)  # outside every bucket
    with pytest.raises(Refused) as refused:
        submit_t1(users, survey, tree)
    assert "数据问题" in refused.value.message
    assert any("建造年份不在本轮模板" in d for d in refused.value.details)
    assert Submission.objects.count() == 0


def test_it_refuses_while_a_rule_is_broken(tree, users):
    # A template whose 2013–2018 bucket overlaps 2018: a 2018 toilet counts twice in 22–28.
    template = ReportTemplate.objects.create(
        name="有误的模板",
        year_buckets=[
            {"label": "2013以前", "from": None, "to": 2012},
            {"label": "2013至2018", "from": 2013, "to": 2018},
            {"label": "2018", "from": 2018, "to": 2018},
            {"label": "2019", "from": 2019, "to": 2019},
            {"label": "2020", "from": 2020, "to": 2020},
            {"label": "2021", "from": 2021, "to": 2021},
            {"label": "2022", "from": 2022, "to": 2022},
        ],
    )
    survey = SurveyRoundFactory(county=tree.county, template=template)
    problem(users.surveyor, survey, tree.v1, build_year=2018)
    with pytest.raises(Refused) as refused:
        submit_t1(users, survey, tree)
    assert any("6+9=22+23+24+25+26+27+28" in d for d in refused.value.details)
    assert not any(d.startswith("数据问题") for d in refused.value.details)
    assert Submission.objects.count() == 0


@pytest.mark.parametrize("who", ["county", "inspector", "surveyor", "township_t2"])
def test_it_refuses_anyone_but_the_townships_own_staff(data, users, survey, tree, who):
    with pytest.raises(PermissionDenied):
        services.submit_township(
            actor=getattr(users, who), survey_round=survey, township=tree.t1, **filler()
        )
    assert Submission.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("filler_name", " "),
        ("filler_phone", "abc"),
        ("filled_on", timezone.localdate() + datetime.timedelta(days=1)),
    ],
)
def test_it_needs_the_footer_filled_in(data, users, survey, tree, field, value):
    with pytest.raises(ValidationError) as error:
        submit_t1(users, survey, tree, **{field: value})
    assert field in error.value.error_dict


def test_it_refuses_a_round_that_has_not_opened(tree, users):
    survey = SurveyRoundFactory(county=tree.county, status="draft")
    with pytest.raises(ConflictError):
        services.submit_township(
            actor=users.township, survey_round=survey, township=tree.t1, **filler()
        )


def test_a_new_version_supersedes_the_pending_one(data, users, survey, tree):
    first = submit_t1(users, survey, tree)
    second = submit_t1(users, survey, tree)
    first.refresh_from_db()
    assert (first.status, second.status, second.version) == (S.SUPERSEDED, S.SUBMITTED, 2)
    with pytest.raises(ConflictError):  # the county can no longer accept the replaced one
        accept(users, first)


# The county reviews -----------------------------------------------------------------------


def test_the_county_accepts_and_returns_with_a_reason(data, users, survey, tree):
    t1 = accept(users, submit_t1(users, survey, tree))
    assert (t1.status, t1.reviewed_by) == (S.ACCEPTED, users.county)
    assert t1.reviewed_at is not None

    t2 = services.return_submission(
        actor=users.county, submission=submit_t2(users, survey, tree), reason="第5列与实际不符"
    )
    assert (t2.status, t2.return_reason) == (S.RETURNED, "第5列与实际不符")


def test_a_return_needs_a_reason(data, users, survey, tree):
    submission = submit_t1(users, survey, tree)
    with pytest.raises(ValidationError):
        services.return_submission(actor=users.county, submission=submission, reason="  ")
    submission.refresh_from_db()
    assert submission.status == S.SUBMITTED


@pytest.mark.parametrize("who", ["township", "inspector", "outsider"])
def test_only_the_county_reviews(data, users, survey, tree, who):
    submission = submit_t1(users, survey, tree)
    with pytest.raises(PermissionDenied):
        services.accept_submission(actor=getattr(users, who), submission=submission)
    submission.refresh_from_db()
    assert submission.status == S.SUBMITTED


def test_a_double_or_stale_review_is_refused(data, users, survey, tree):
    submission = submit_t1(users, survey, tree)
    stale = Submission.objects.get(pk=submission.pk)
    accept(users, submission)
    before = footprint()
    with pytest.raises(ConflictError):
        accept(users, stale)
    with pytest.raises(ConflictError):
        services.return_submission(actor=users.county, submission=stale, reason="迟到的退回")
    with pytest.raises(ConflictError):  # the page showed another version
        services.accept_submission(actor=users.county, submission=stale, expected_version=7)
    assert footprint() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite locks the whole database for a writer, so the race between two row "
    "updates cannot happen there; CI runs this on PostgreSQL",
)
@pytest.mark.parametrize("second", ["accept", "return"])
def test_two_simultaneous_reviews_on_postgresql_exactly_one_wins(data, users, survey, tree, second):
    submission = submit_t1(users, survey, tree)
    colleague = UserFactory(username="county_b", role=(Role.COUNTY, tree.county))
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(actor, action):
        try:
            mine = Submission.objects.get(pk=submission.pk)
            barrier.wait(timeout=10)
            if action == "accept":
                services.accept_submission(actor=actor, submission=mine, expected_version=1)
            else:
                services.return_submission(
                    actor=actor, submission=mine, reason="不一致", expected_version=1
                )
            outcomes.append(action)
        except ConflictError:
            outcomes.append("conflict")
        except Exception as exc:  # surfaced by the assertion below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=attempt, args=(users.county, "accept")),
        threading.Thread(target=attempt, args=(colleague, second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) in (sorted(["accept", "conflict"]), sorted([second, "conflict"]))
    stored = Submission.objects.get(pk=submission.pk)
    winner = next(o for o in outcomes if o != "conflict")
    assert stored.status == (S.ACCEPTED if winner == "accept" else S.RETURNED)


# The county submits -----------------------------------------------------------------------


def test_the_county_cannot_submit_before_every_township_is_accepted(data, users, survey, tree):
    accept(users, submit_t1(users, survey, tree))
    with pytest.raises(Refused) as refused:
        submit_county(users, survey, tree)
    assert refused.value.details == ["康熙岭镇（未上报）"]

    services.return_submission(
        actor=users.county, submission=submit_t2(users, survey, tree), reason="请核对"
    )
    with pytest.raises(Refused) as refused:
        submit_county(users, survey, tree)
    assert refused.value.details == ["康熙岭镇（已退回，待重新上报）"]
    assert not Submission.objects.filter(kind="county").exists()


def test_a_township_resubmitting_after_acceptance_must_be_accepted_again(
    both_accepted, users, survey, tree
):
    submit_t1(users, survey, tree)  # v2, pending
    with pytest.raises(Refused) as refused:
        submit_county(users, survey, tree)
    assert refused.value.details == ["沙埠镇（已上报，待接收）"]


def test_the_county_submits_the_accepted_rows_stamped(both_accepted, users, survey, tree):
    t1, t2 = both_accepted
    final = submit_county(users, survey, tree)

    assert (final.kind, final.status, final.version) == ("county", S.FINAL, 1)
    assert [r["name"] for r in final.rows] == ["沙埠镇", "康熙岭镇"]
    assert final.rows[0]["values"] == t1.total and final.rows[1]["values"] == t2.total
    assert final.total["6"] == 4 and final.total["29"] == 1
    assert len(final.code) == services.CODE_LENGTH
    assert set(final.code) <= set(services.CODE_ALPHABET)
    stored = final.file.read()
    assert hashlib.sha256(stored).hexdigest() == final.sha256
    assert [t["submission"] for t in final.sources["townships"]] == [t1.pk, t2.pk]


def test_the_county_table_uses_the_frozen_numbers_not_a_fresh_build(
    both_accepted, users, survey, tree, data
):
    t1, _ = both_accepted
    drive(data["open"], township=users.township, surveyor=users.surveyor, to="closed")
    problem(users.surveyor, survey, tree.v1)  # a new problem after acceptance
    final = submit_county(users, survey, tree)
    assert final.rows[0]["values"] == t1.total
    assert final.total["29"] == 1 and final.total["6"] == 4
    live = next(r for r in build_summary(survey, tree.county).rows if r.code == tree.t1.code)
    assert (live.values[6], live.values[29]) == (4, 2)


def test_the_county_refuses_a_table_that_breaks_a_rule(data, users, survey, tree):
    accept(users, submit_t1(users, survey, tree))
    t2 = submit_t2(users, survey, tree)
    # Frozen rows from an older release whose numbers do not add up.
    bad = dict(t2.total, **{"10": t2.total["10"] + 1})
    Submission.objects.filter(pk=t2.pk).update(total=bad)
    accept(users, t2)
    with pytest.raises(Refused) as refused:
        submit_county(users, survey, tree)
    assert any("6+9=10+11" in d for d in refused.value.details)
    assert not Submission.objects.filter(kind="county").exists()


@pytest.mark.parametrize("who", ["township", "inspector", "outsider"])
def test_only_the_countys_own_staff_submit_the_county_table(
    both_accepted, users, survey, tree, who
):
    with pytest.raises(PermissionDenied):
        services.submit_county(
            actor=getattr(users, who), survey_round=survey, county=tree.county, **filler()
        )
    assert not Submission.objects.filter(kind="county").exists()


def test_versions_each_get_their_own_code_and_file(both_accepted, users, survey, tree):
    first = submit_county(users, survey, tree)
    second = submit_county(users, survey, tree)
    assert (first.version, second.version) == (1, 2)
    assert first.code != second.code
    assert first.file.name != second.file.name and first.sha256 != second.sha256
    assert Submission.objects.get(pk=first.pk).status == S.FINAL


def test_later_ledger_changes_never_change_a_submitted_snapshot(
    both_accepted, users, survey, tree, data
):
    final = submit_county(users, survey, tree)
    t1 = Submission.objects.get(pk=both_accepted[0].pk)
    frozen = {
        s.pk: (s.rows, s.total, s.sources, s.cutoff, s.sha256) for s in Submission.objects.all()
    }
    file_bytes = final.file.read()

    drive(data["open"], township=users.township, surveyor=users.surveyor, to="closed")
    problem(users.surveyor, survey, tree.v1)
    ToiletFactory(household=HouseholdFactory(village=tree.v2))

    assert {
        s.pk: (s.rows, s.total, s.sources, s.cutoff, s.sha256) for s in Submission.objects.all()
    } == frozen
    final.refresh_from_db()
    assert final.file.read() == file_bytes
    live = services.township_summary(users.township, survey, tree.t1)
    assert services.stored_values(live.total) != t1.total


# Pages: the summary table -----------------------------------------------------------------


def summary_url(survey, code=None):
    if code:
        return reverse("reports:summary-region", args=[survey.pk, code])
    return reverse("reports:summary", args=[survey.pk])


def test_the_summary_page_needs_a_login(client, survey, data):
    response = client.get(summary_url(survey))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_summary_page_shows_the_users_own_region(as_user, users, survey, data):
    response = as_user(users.township).get(summary_url(survey))
    assert response.status_code == 200
    assert response.context["region"].name == "沙埠镇"
    body = response.content.decode()
    assert "沙埠村" in body and "东风村" in body and "康熙岭镇" not in body
    assert "全部约束规则检查通过" in body
    assert 'colspan="23"' in body  # 问题厕所情况 spans columns 6–28


def test_a_surveyor_sees_the_own_villages_row(as_user, users, survey, tree, data):
    response = as_user(users.surveyor).get(summary_url(survey))
    assert response.status_code == 200
    assert [row["name"] for row in response.context["table"]] == ["沙埠村", "合计"]
    assert as_user(users.surveyor).get(summary_url(survey, tree.t1.code)).status_code == 404


def test_another_regions_summary_is_a_404(as_user, users, survey, tree, data):
    assert as_user(users.township).get(summary_url(survey, tree.t2.code)).status_code == 404
    assert as_user(users.outsider).get(summary_url(survey)).status_code == 404
    county = as_user(users.county).get(summary_url(survey, tree.t3.code))
    assert county.status_code == 404


def test_data_errors_come_before_the_table_with_links(as_user, users, survey, tree, data):
    bad = problem(users.surveyor, survey, tree.v1, build_year=2023)
    body = as_user(users.county).get(summary_url(survey)).content.decode()
    assert body.index("数据问题 1 条") < body.index("data-summary-table")
    assert reverse("rectification:entry", args=[bad.pk]) in body
    # The uncounted toilet breaks the year-bucket rule: listed, and its cells marked.
    assert "违反约束规则" in body and "6+9=22+23+24+25+26+27+28" in body
    assert 'class="bad"' in body


# Pages: the township and the county -------------------------------------------------------


def township_url(survey, township):
    return reverse("reports:township", args=[survey.pk, township.code])


def county_url(survey, tree):
    return reverse("reports:county", args=[survey.pk, tree.county.code])


def test_the_township_submits_on_its_page(as_user, users, survey, tree, data):
    complete_round(survey)
    client = as_user(users.township)
    page = client.get(township_url(survey, tree.t1))
    assert page.status_code == 200 and "上报第1版" in page.content.decode()
    response = client.post(township_url(survey, tree.t1), filler(), follow=True)
    assert "已上报第1版" in response.content.decode()
    assert Submission.objects.get().status == S.SUBMITTED


def test_the_township_page_blocks_submission_on_a_data_error(as_user, users, survey, tree, data):
    problem(users.surveyor, survey, tree.v1, build_year=2023)
    client = as_user(users.township)
    body = client.get(township_url(survey, tree.t1)).content.decode()
    assert "暂不能上报" in body and '<button type="submit" class="primary">上报' not in body
    response = client.post(township_url(survey, tree.t1), filler())
    assert "未上报" in response.content.decode()
    assert Submission.objects.count() == 0


def test_township_page_access(as_user, users, survey, tree, data):
    assert as_user(users.township).get(township_url(survey, tree.t2)).status_code == 404
    assert as_user(users.outsider).get(township_url(survey, tree.t1)).status_code == 404
    assert as_user(users.surveyor).get(township_url(survey, tree.t1)).status_code == 404
    assert as_user(users.county).get(township_url(survey, tree.t1)).status_code == 200
    # The county reads the page but does not submit for the township.
    assert as_user(users.county).post(township_url(survey, tree.t1), filler()).status_code == 403


def test_the_county_returns_and_the_township_sees_why(as_user, users, survey, tree, data):
    submission = submit_t1(users, survey, tree)
    county = as_user(users.county)
    page = county.get(county_url(survey, tree)).content.decode()
    assert "已上报" in page and "未上报" in page  # T1 pending, T2 not yet
    response = county.post(
        reverse("reports:submission-return", args=[submission.pk]),
        {"reason": "第5列行政村数偏少", "version": 1, "next": county_url(survey, tree)},
    )
    assert response.status_code == 302
    body = as_user(users.township).get(township_url(survey, tree.t1)).content.decode()
    assert "第1版已被县级退回" in body and "第5列行政村数偏少" in body


def test_review_by_http(as_user, users, survey, tree, data):
    submission = submit_t1(users, survey, tree)
    url = reverse("reports:submission-accept", args=[submission.pk])
    assert as_user(users.outsider).post(url, {"version": 1}).status_code == 404
    assert as_user(users.township).post(url, {"version": 1}).status_code == 403
    response = as_user(users.county).post(url, {"version": 1}, follow=True)
    assert "已接收沙埠镇第1版" in response.content.decode()
    again = as_user(users.county).post(url, {"version": 1}, follow=True)
    assert "不能再接收或退回" in again.content.decode()
    assert Submission.objects.get().status == S.ACCEPTED


def test_the_county_page_submits_and_lists_versions(as_user, users, survey, tree, both_accepted):
    client = as_user(users.county)
    page = client.get(county_url(survey, tree)).content.decode()
    assert "报送第1版" in page and "尚未上传本单位印章" in page
    response = client.post(county_url(survey, tree), filler(), follow=True)
    final = Submission.objects.get(kind="county")
    body = response.content.decode()
    assert f"核验码 {final.code}" in body and final.sha256 in body
    page = client.get(county_url(survey, tree)).content.decode()
    assert "已报送第1版" in page and final.code in page and "报送第2版" in page


def test_the_county_page_lists_the_townships_still_missing(as_user, users, survey, tree, data):
    accept(users, submit_t1(users, survey, tree))
    body = as_user(users.county).get(county_url(survey, tree)).content.decode()
    assert "康熙岭镇（未上报）" in body and "报送并生成盖章汇总表" not in body


def test_county_page_access(as_user, users, survey, tree, both_accepted):
    assert as_user(users.outsider).get(county_url(survey, tree)).status_code == 404
    assert as_user(users.township).get(county_url(survey, tree)).status_code == 404
    assert as_user(users.inspector).get(county_url(survey, tree)).status_code == 200
    assert as_user(users.inspector).post(county_url(survey, tree), filler()).status_code == 403


# The stamped download ---------------------------------------------------------------------


def test_the_stamped_file_is_served_only_through_the_scoping(
    client, as_user, users, survey, tree, both_accepted
):
    final = submit_county(users, survey, tree)
    url = reverse("reports:submission-download", args=[final.pk])
    assert client.get(url).status_code == 302  # anonymous: log in first
    for outsider in (users.outsider, users.township):
        assert as_user(outsider).get(url).status_code == 404
    response = as_user(users.county).get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    data = b"".join(response.streaming_content)
    assert hashlib.sha256(data).hexdigest() == final.sha256
    assert "attachment" in response["Content-Disposition"]


def test_the_submission_page_shows_the_frozen_numbers_and_the_hash(
    as_user, users, survey, tree, both_accepted
):
    final = submit_county(users, survey, tree)
    body = as_user(users.inspector).get(reverse("reports:submission", args=[final.pk]))
    text = body.content.decode()
    assert final.sha256 in text and final.code in text and "已冻结" in text
    t1 = both_accepted[0]
    assert (
        as_user(users.township).get(reverse("reports:submission", args=[t1.pk])).status_code == 200
    )
    other = as_user(users.township_t2).get(reverse("reports:submission", args=[t1.pk]))
    assert other.status_code == 404


# The seal ---------------------------------------------------------------------------------


def upload(data: bytes, name="seal.png", content_type="image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_a_unit_uploads_and_replaces_its_seal(
    as_user, users, tree, django_capture_on_commit_callbacks
):
    client = as_user(users.county)
    response = client.post(reverse("reports:seal"), {"image": upload(seal_png())}, follow=True)
    assert "印章已保存" in response.content.decode()
    seal = Seal.objects.get(region=tree.county)
    first_name = seal.image.name
    image = client.get(reverse("reports:seal-image", args=[tree.county.code]))
    assert image.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reports:seal"), {"image": upload(seal_png(400))})
    seal.refresh_from_db()
    assert seal.image.name != first_name
    assert not seal.image.storage.exists(first_name)  # the old image is gone
    assert (
        as_user(users.outsider)
        .get(reverse("reports:seal-image", args=[tree.county.code]))
        .status_code
        == 404
    )


def test_a_township_uploads_its_own_seal(as_user, users, tree):
    as_user(users.township).post(reverse("reports:seal"), {"image": upload(seal_png())})
    assert Seal.objects.get().region == tree.t1


def test_the_seal_must_be_a_small_png_or_jpeg(as_user, users, tree):
    client = as_user(users.county)
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(buffer, "GIF")
    for bad, message in [
        (upload(buffer.getvalue(), "seal.gif", "image/gif"), "只能是 PNG 或 JPEG"),
        (upload(b"not an image"), "无法识别"),
        (upload(b"0" * (2 * 1024 * 1024 + 1)), "不能超过 2 MB"),
        (upload(seal_png(50)), "太小"),
    ]:
        response = client.post(reverse("reports:seal"), {"image": bad})
        assert message in response.content.decode()
    assert not Seal.objects.exists()


@pytest.mark.parametrize("who", ["surveyor", "inspector"])
def test_only_a_units_administrator_uploads_a_seal(as_user, users, who):
    assert as_user(getattr(users, who)).get(reverse("reports:seal")).status_code == 403


# Verify (public) --------------------------------------------------------------------------


VERIFY = reverse("reports:verify")


@pytest.fixture
def final(both_accepted, users, survey, tree):
    Seal.objects.create(
        region=tree.county,
        uploaded_by=users.county,
        image=SimpleUploadedFile("seal.png", seal_png()),
    )
    return submit_county(users, survey, tree)


def test_verify_by_code_needs_no_login_and_shows_only_the_summary(client, final):
    response = client.get(VERIFY, {"code": final.code.lower()[:5] + "-" + final.code[5:]})
    body = response.content.decode()
    assert response.status_code == 200
    assert "核验通过" in body and "钦南区" in body and "第1版" in body
    assert "合计行" in body and "沙埠镇" not in body  # the township rows are not revealed


def test_verify_an_unknown_code(client, final):
    body = client.get(VERIFY, {"code": "ABCDEFGHJK"}).content.decode()
    assert "未找到" in body and "合计行" not in body


def test_verify_the_downloaded_file(client, final):
    data = final.file.read()
    body = client.post(VERIFY, {"file": upload(data, "汇总表.xlsx", "application/octet-stream")})
    text = body.content.decode()
    assert "核验通过" in text and "文件指纹一致" in text


def resaved(data: bytes, change=None) -> bytes:
    workbook = load_workbook(io.BytesIO(data))
    if change:
        change(workbook.active)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_verify_a_resaved_file_by_its_code_and_numbers(client, final):
    data = resaved(final.file.read())
    assert hashlib.sha256(data).hexdigest() != final.sha256
    text = client.post(VERIFY, {"file": upload(data, "a.xlsx")}).content.decode()
    assert "核验通过" in text and "重新保存" in text


def test_a_tampered_file_does_not_match(client, final):
    def change(sheet):
        sheet["G7"] = sheet["G7"].value + 1  # 沙埠镇, column 6

    text = client.post(VERIFY, {"file": upload(resaved(final.file.read(), change), "a.xlsx")})
    body = text.content.decode()
    assert "文件内容与报送记录不一致" in body and "沙埠镇 第6列" in body


def test_a_file_that_is_not_a_summary_is_not_found(client, final):
    body = client.post(VERIFY, {"file": upload(b"hello", "a.xlsx")}).content.decode()
    assert "未找到" in body


def test_a_newer_version_is_mentioned(client, final, users, survey, tree):
    submit_county(users, survey, tree)
    body = client.get(VERIFY, {"code": final.code}).content.decode()
    assert "核验通过" in body and "已有更新的第2版" in body


# The index --------------------------------------------------------------------------------


def test_the_index_links_each_round_to_the_own_units_page(as_user, users, survey, tree, data):
    submit_t1(users, survey, tree)
    body = as_user(users.township).get(reverse("reports:index")).content.decode()
    assert survey.name in body and township_url(survey, tree.t1) in body and "已上报" in body
    body = as_user(users.county).get(reverse("reports:index")).content.decode()
    assert county_url(survey, tree) in body and reverse("reports:seal") in body
    assert "报表" in as_user(users.surveyor).get("/").content.decode()


# Query counts -----------------------------------------------------------------------------


def test_the_county_page_reads_in_a_fixed_number_of_queries(
    as_user, users, survey, tree, both_accepted, django_assert_num_queries
):
    from tests.factories import region

    client = as_user(users.county)
    client.get(county_url(survey, tree))  # warm the session and the scope cache
    with django_assert_num_queries(QUERIES_COUNTY_PAGE) as captured:
        client.get(county_url(survey, tree))
    # Another township with a submission of its own costs nothing more.
    t4 = region("450702102000", "久隆镇", tree.county)
    v5 = region("450702102201", "久隆村", t4)
    township_t4 = UserFactory(username="township_t4", role=(Role.TOWNSHIP, t4))
    surveyor_v5 = UserFactory(username="surveyor_v5", role=(Role.SURVEYOR, v5))
    problem(surveyor_v5, survey, v5)
    complete_round(survey)
    services.submit_township(actor=township_t4, survey_round=survey, township=t4, **filler())
    with django_assert_num_queries(len(captured)):
        client.get(county_url(survey, tree))
