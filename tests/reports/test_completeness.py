"""全覆盖、不漏一户 at submission (issue 14): the gate in submit_township / submit_county
(refused while the round is open, with a toilet not inspected, with an inspection not verified;
accepted with an exception covering exactly the village's incomplete toilets, frozen and
printed on the stamped file; a stale exception refused), the county gated the same way, a
re-opened round, the 报送截止 and the pages' coverage."""

import datetime
import io
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.errors import ConflictError
from reports import services
from reports.completeness import ExceptionInput
from reports.models import Submission, SubmissionStatus
from reports.services import Refused
from surveys.choices import InspectionStatus, RoundStatus
from surveys.forms import RoundForm
from surveys.models import SurveyRound
from tests.factories import (
    HouseholdFactory,
    InspectionFactory,
    SurveyRoundFactory,
    ToiletFactory,
)
from tests.reports.complete import close, complete_round, reopen_for_test

pytestmark = pytest.mark.django_db

S = SubmissionStatus


def filler():
    return {
        "filler_name": "陈志明",
        "filler_phone": "0777-1234567",
        "filled_on": timezone.localdate(),
    }


def toilet(village):
    return ToiletFactory(household=HouseholdFactory(village=village))


def inspected(survey, village, status=InspectionStatus.VERIFIED):
    t = toilet(village)
    InspectionFactory(round=survey, toilet=t, status=status)
    return t


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2022年摸排")


@pytest.fixture
def area(tree, survey):
    """Every village with a verified toilet, and in 沙埠村 one toilet nobody inspected."""
    for village in (tree.v1, tree.v2, tree.v3):
        inspected(survey, village)
    return {"missing": toilet(tree.v1)}


def submit_t1(users, survey, tree, exceptions=()):
    return services.submit_township(
        actor=users.township,
        survey_round=survey,
        township=tree.t1,
        exceptions=list(exceptions),
        **filler(),
    )


def vacant(tree, *toilets, reason="vacant", text=""):
    return ExceptionInput(
        village_code=tree.v1.code, reason=reason, text=text, toilets=[t.pk for t in toilets]
    )


# The township's gate ----------------------------------------------------------------------


def test_it_is_refused_while_the_round_is_open(users, survey, tree, area):
    with pytest.raises(Refused) as refused:
        submit_t1(users, survey, tree, [vacant(tree, area["missing"])])
    assert "尚在进行中" in refused.value.message
    assert Submission.objects.count() == 0


def test_a_toilet_nobody_inspected_refuses_naming_the_village_and_the_count(
    users, survey, tree, area
):
    close(survey)
    with pytest.raises(Refused) as refused:
        submit_t1(users, survey, tree)
    assert "1 个村" in refused.value.message and "全覆盖" in refused.value.message
    [detail] = refused.value.details
    assert detail.startswith("沙埠村：未摸排 1 户、已摸排未核查 0 户")
    missing = reverse("surveys:coverage-missing", args=[survey.pk])
    assert detail.url == f"{missing}?village={tree.v1.code}"
    assert Submission.objects.count() == 0


def test_an_inspection_not_verified_refuses(users, survey, tree):
    for village in (tree.v1, tree.v2):
        inspected(survey, village)
    inspected(survey, tree.v2, status=InspectionStatus.SUBMITTED)
    close(survey)
    with pytest.raises(Refused) as refused:
        submit_t1(users, survey, tree)
    [detail] = refused.value.details
    assert detail.startswith("东风村：未摸排 0 户、已摸排未核查 1 户")
    assert reverse("surveys:review", args=[survey.pk]) in detail.url


def test_an_exception_covering_exactly_the_missing_toilet_is_frozen(users, survey, tree, area):
    close(survey)
    submission = submit_t1(users, survey, tree, [vacant(tree, area["missing"])])
    assert submission.status == S.SUBMITTED
    coverage = submission.coverage
    assert coverage["total"] == {
        "registered": 3,
        "inspected": 2,
        "verified": 2,
        "missing": 1,
        "unverified": 0,
        "villages": 2,
        "reached": 2,
    }
    [exception] = coverage["exceptions"]
    assert exception["village"] == tree.v1.code and exception["toilets"] == [area["missing"].pk]
    assert (exception["reason_label"], exception["count"]) == ("无人户无法入户", 1)
    assert [v["name"] for v in coverage["villages"]] == ["沙埠村", "东风村"]


def test_other_needs_a_text(users, survey, tree, area):
    close(survey)
    with pytest.raises(Refused) as refused:
        submit_t1(users, survey, tree, [vacant(tree, area["missing"], reason="other")])
    assert any("须填写具体说明" in d for d in refused.value.details)
    submission = submit_t1(
        users, survey, tree, [vacant(tree, area["missing"], reason="other", text="农户拒绝")]
    )
    assert submission.coverage["exceptions"][0]["text"] == "农户拒绝"


def test_a_stale_exception_is_refused_with_the_village_and_the_numbers(users, survey, tree, area):
    close(survey)
    toilet(tree.v1)  # registered after the page was read: the exception no longer fits
    with pytest.raises(Refused) as refused:
        submit_t1(users, survey, tree, [vacant(tree, area["missing"])])
    [detail] = refused.value.details
    assert detail.startswith("沙埠村：例外说明涵盖 1 户，当前未摸排 2 户")
    assert "已过期" in detail
    assert Submission.objects.count() == 0


def test_an_exception_where_nothing_is_missing_is_stale(users, survey, tree, area):
    close(survey)
    ok = ExceptionInput(village_code=tree.v2.code, reason="demolished", toilets=[])
    with pytest.raises(Refused) as refused:
        submit_t1(users, survey, tree, [vacant(tree, area["missing"]), ok])
    assert any(d.startswith("东风村：例外说明涵盖 0 户") for d in refused.value.details)


def test_another_townships_village_is_refused_without_naming_it(users, survey, tree, area):
    close(survey)
    other = ExceptionInput(village_code=tree.v3.code, reason="vacant", toilets=[])
    with pytest.raises(Refused) as refused:
        submit_t1(users, survey, tree, [vacant(tree, area["missing"]), other])
    text = refused.value.message + "".join(refused.value.details)
    assert "不在本单位范围内" in text and "坪山村" not in text and tree.v3.code not in text
    assert Submission.objects.count() == 0


# The county's gate, the stamped file and the verify page ----------------------------------


def accepted_both(users, survey, tree, area):
    close(survey)
    t1 = submit_t1(users, survey, tree, [vacant(tree, area["missing"])])
    t2 = services.submit_township(
        actor=users.township_t2, survey_round=survey, township=tree.t2, **filler()
    )
    for submission in (t1, t2):
        services.accept_submission(actor=users.county, submission=submission)
    return t1, t2


def submit_county(users, survey, tree):
    return services.submit_county(
        actor=users.county, survey_round=survey, county=tree.county, **filler()
    )


def test_the_exception_and_the_coverage_are_printed_in_the_stamped_file(
    users, survey, tree, area, client
):
    accepted_both(users, survey, tree, area)
    final = submit_county(users, survey, tree)
    assert final.coverage["exceptions"][0]["toilets"] == [area["missing"].pk]
    assert final.coverage["total"]["registered"] == 4

    data = final.file.read()
    workbook = load_workbook(io.BytesIO(data))
    texts = [
        cell
        for row in workbook.active.iter_rows(values_only=True)
        for cell in row
        if isinstance(cell, str)
    ]
    assert (
        "摸排覆盖：在用厕所 4 座，已摸排 3 座，已核查 3 座；已摸排的行政村 3 个（共 3 个）。"
        in texts
    )
    assert "例外说明（1 个村，共 1 户未摸排或未核查）：" in texts
    assert "  1. 沙埠镇沙埠村：无人户无法入户，1 户（未摸排 1、未核查 0）" in texts
    custom = {p.name: p.value for p in workbook.custom_doc_props.props}
    assert "沙埠镇沙埠村：无人户无法入户" in custom["例外说明"]
    assert custom["摸排覆盖"].startswith("摸排覆盖：在用厕所 4 座")
    assert "沙埠镇沙埠村" in workbook.properties.description
    assert re.search(r"核验码：[A-Z0-9]{10}", workbook.properties.description)

    # The verify page shows the frozen coverage of the file it matched.
    body = client.get(reverse("reports:verify"), {"code": final.code}).content.decode()
    assert "核验通过" in body and "沙埠镇沙埠村：无人户无法入户" in body
    assert "在用厕所 4 座" in body


def test_the_county_is_refused_while_the_round_is_open(users, survey, tree, area):
    accepted_both(users, survey, tree, area)
    reopen_for_test(survey)
    with pytest.raises(Refused) as refused:
        submit_county(users, survey, tree)
    assert "尚在进行中" in refused.value.message


def test_the_county_is_gated_over_its_townships(users, survey, tree, area):
    accepted_both(users, survey, tree, area)
    toilet(tree.v3)  # 坪山村 gains a toilet after 康熙岭镇 was accepted
    toilet(tree.v1)  # and 沙埠村 one more than its exception covers
    with pytest.raises(Refused) as refused:
        submit_county(users, survey, tree)
    details = refused.value.details
    assert "请退回相关乡镇" in refused.value.message
    assert any(d.startswith("沙埠镇沙埠村：例外说明涵盖 1 户，当前未摸排 2 户") for d in details)
    assert any(d.startswith("康熙岭镇坪山村：未摸排 1 户") for d in details)
    assert not Submission.objects.filter(kind="county").exists()


# Re-opening a closed round ----------------------------------------------------------------


def test_a_reopened_round_returns_the_townships_versions(users, survey, tree, area):
    t1, t2 = accepted_both(users, survey, tree, area)
    with pytest.raises(PermissionDenied):
        services.reopen_round(actor=users.township, survey_round=survey, reason="补充摸排")
    services.reopen_round(actor=users.county, survey_round=survey, reason="补充摸排沙埠村")
    survey.refresh_from_db()
    assert survey.status == RoundStatus.OPEN
    for submission in (t1, t2):
        submission.refresh_from_db()
        assert submission.status == S.RETURNED
        assert "轮次已重新开启（补充摸排沙埠村）" in submission.return_reason
    # The version made before the reopen does not count: nothing goes up while it is open ...
    with pytest.raises(Refused):
        submit_county(users, survey, tree)
    with pytest.raises(Refused):
        submit_t1(users, survey, tree, [vacant(tree, area["missing"])])
    # ... and once the round is closed again the county waits for new versions.
    InspectionFactory(round=survey, toilet=area["missing"], status=InspectionStatus.VERIFIED)
    close(survey)
    with pytest.raises(Refused) as refused:
        submit_county(users, survey, tree)
    assert "乡镇的上报未接收" in refused.value.message
    again = submit_t1(users, survey, tree)
    assert again.version == 2 and again.coverage["exceptions"] == []


def test_a_round_cannot_be_reopened_after_the_county_submitted(users, survey, tree, area):
    accepted_both(users, survey, tree, area)
    submit_county(users, survey, tree)
    with pytest.raises(ConflictError) as refused:
        services.reopen_round(actor=users.county, survey_round=survey, reason="补充摸排")
    assert "已报送" in refused.value.message
    assert SurveyRound.objects.get(pk=survey.pk).status == RoundStatus.CLOSED


def test_only_a_closed_round_is_reopened(users, survey):
    with pytest.raises(ConflictError):
        services.reopen_round(actor=users.county, survey_round=survey, reason="补充摸排")


def test_the_county_reopens_from_its_page(as_user, users, survey, tree, area):
    close(survey)
    page = county_url(survey, tree)
    client = as_user(users.county)
    assert "重新开启本轮摸排" in client.get(page).content.decode()
    url = reverse("reports:round-reopen", args=[survey.pk])
    assert as_user(users.outsider).post(url, {"reason": "x"}).status_code == 404
    client = as_user(users.county)
    response = client.post(url, {"reason": ""}, follow=True)
    assert "请填写重新开启的原因" in response.content.decode()
    response = client.post(url, {"reason": "补充摸排"}, follow=True)
    assert "已重新开启" in response.content.decode()
    assert SurveyRound.objects.get(pk=survey.pk).status == RoundStatus.OPEN


# Pages -------------------------------------------------------------------------------------


def township_url(survey, tree):
    return reverse("reports:township", args=[survey.pk, tree.t1.code])


def county_url(survey, tree):
    return reverse("reports:county", args=[survey.pk, tree.county.code])


def test_the_township_page_shows_coverage_and_takes_exceptions(as_user, users, survey, tree, area):
    close(survey)
    client = as_user(users.township)
    body = client.get(township_url(survey, tree))
    html = body.content.decode()
    assert f'data-coverage-village="{tree.v1.code}"' in html and "摸排覆盖" in html
    assert f'data-exception="{tree.v1.code}"' in html
    prefix = f"ex-{tree.v1.code}"
    post = {
        **filler(),
        "exception_villages": [tree.v1.code],
        f"{prefix}-village": tree.v1.code,
        f"{prefix}-toilets": str(area["missing"].pk),
        f"{prefix}-reason": "other",
        f"{prefix}-text": "",
    }
    response = client.post(township_url(survey, tree), post)
    assert "例外原因为“其他”时须填写具体说明" in response.content.decode()
    assert Submission.objects.count() == 0
    # Without the exception: refused, naming the village with a link to the missing list.
    response = client.post(township_url(survey, tree), {**post, f"{prefix}-reason": ""})
    html = response.content.decode()
    assert "沙埠村：未摸排 1 户" in html and "查看未摸排清单" in html
    # Another township's village posted along: refused without naming it.
    other = f"ex-{tree.v3.code}"
    response = client.post(
        township_url(survey, tree),
        {
            **post,
            f"{prefix}-reason": "vacant",
            "exception_villages": [tree.v1.code, tree.v3.code],
            f"{other}-village": tree.v3.code,
            f"{other}-reason": "vacant",
        },
    )
    html = response.content.decode()
    assert "不在本单位范围内" in html and "坪山村" not in html
    response = client.post(
        township_url(survey, tree), {**post, f"{prefix}-reason": "vacant"}, follow=True
    )
    assert "已上报第1版" in response.content.decode()
    assert Submission.objects.get().coverage["exceptions"][0]["reason"] == "vacant"
    # The county's accept/return view of it shows the frozen coverage and the exception.
    html = as_user(users.county).get(township_url(survey, tree)).content.decode()
    assert 'id="review"' in html and "沙埠村：无人户无法入户" in html
    assert "上报时的摸排覆盖（已冻结）" in html


def test_the_township_page_says_the_round_is_open(as_user, users, survey, tree, area):
    html = as_user(users.township).get(township_url(survey, tree)).content.decode()
    assert "data-round-open" in html and "尚在进行中" in html


def test_the_county_page_shows_coverage_per_township(as_user, users, survey, tree, area):
    html = as_user(users.county).get(county_url(survey, tree)).content.decode()
    assert 'data-coverage-township="沙埠镇"' in html
    assert 'data-coverage-township="康熙岭镇"' in html
    assert f'data-coverage-village="{tree.v3.code}"' in html


def test_coverage_reads_a_fixed_number_of_queries(
    users, survey, tree, area, django_assert_num_queries
):
    from reports.completeness import coverage_of

    coverage_of(users.county, survey, tree.county)  # warm the scope cache
    with django_assert_num_queries(4):  # villages, registered, inspected, incomplete toilets
        assert coverage_of(users.county, survey, tree.county).total["registered"] == 4
    for village in (tree.v1, tree.v2, tree.v3):
        toilet(village)
        inspected(survey, village, status=InspectionStatus.SUBMITTED)
    with django_assert_num_queries(4):
        assert coverage_of(users.county, survey, tree.county).total["registered"] == 10


def test_the_submission_page_shows_the_frozen_coverage(as_user, users, survey, tree, area):
    close(survey)
    submission = submit_t1(users, survey, tree, [vacant(tree, area["missing"])])
    html = as_user(users.township).get(reverse("reports:submission", args=[submission.pk]))
    assert "沙埠村：无人户无法入户" in html.content.decode()


# Deadlines ---------------------------------------------------------------------------------


def test_the_round_form_takes_a_deadline(tree, survey):
    form = RoundForm(
        {
            "name": "2023年摸排",
            "kind": "survey",
            "start_date": "2023-04-01",
            "end_date": "2023-06-30",
            "submission_deadline": "2023-07-10",
            "template": survey.template_id,
        },
        county=tree.county,
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["submission_deadline"] == datetime.date(2023, 7, 10)
    form = RoundForm(
        {
            "name": "2023年摸排",
            "kind": "survey",
            "start_date": "2023-04-01",
            "end_date": "2023-06-30",
            "submission_deadline": "2023-03-01",
            "template": survey.template_id,
        },
        county=tree.county,
    )
    assert not form.is_valid() and "报送截止日期不能早于开始日期" in str(form.errors)


def test_the_county_sees_the_late_townships(as_user, users, survey, tree, area):
    today = timezone.localdate()
    SurveyRound.objects.filter(pk=survey.pk).update(
        submission_deadline=today - datetime.timedelta(days=3)
    )
    survey.refresh_from_db()
    close(survey)
    submit_t1(users, survey, tree, [vacant(tree, area["missing"])])  # today: after it
    html = as_user(users.county).get(county_url(survey, tree)).content.decode()
    assert "2 个乡镇逾期" in html
    assert "逾期上报" in html and "逾期未上报（已逾期 3 天）" in html
    assert html.count('data-late="1"') == 2


def test_a_township_on_time_is_not_late(as_user, users, survey, tree, area):
    SurveyRound.objects.filter(pk=survey.pk).update(
        submission_deadline=timezone.localdate() + datetime.timedelta(days=5)
    )
    survey.refresh_from_db()
    close(survey)
    submit_t1(users, survey, tree, [vacant(tree, area["missing"])])
    html = as_user(users.county).get(county_url(survey, tree)).content.decode()
    assert "按时上报" in html and "距截止还有 5 天" in html and "逾期" not in html


def test_the_township_sees_its_deadline_on_the_home_page(as_user, users, survey, tree):
    SurveyRound.objects.filter(pk=survey.pk).update(
        submission_deadline=timezone.localdate() + datetime.timedelta(days=4)
    )
    html = as_user(users.township).get(reverse("home")).content.decode()
    assert "汇总表报送截止" in html and "距截止还有 4 天" in html
    assert reverse("reports:township", args=[survey.pk, tree.t1.code]) in html
    SurveyRound.objects.filter(pk=survey.pk).update(
        submission_deadline=timezone.localdate() - datetime.timedelta(days=2)
    )
    html = as_user(users.township).get(reverse("home")).content.decode()
    assert "逾期未上报（已逾期 2 天）" in html
    # Not for the surveyor, who does not submit.
    assert "汇总表报送截止" not in as_user(users.surveyor).get(reverse("home")).content.decode()


# Links a user cannot open ------------------------------------------------------------------


def report_links(html) -> set[str]:
    return set(re.findall(r'href="(/reports/[^"#?]*)', html))


@pytest.mark.parametrize("who", ["surveyor", "inspector", "township", "county"])
def test_the_reports_pages_show_no_link_that_is_forbidden(as_user, users, survey, tree, who):
    """The reports index and every reports page it links to, two levels deep: no link on
    them answers 403 for this user (a link the user may not follow is not shown)."""
    complete_round(survey)
    client = as_user(getattr(users, who))
    seen, todo = set(), [reverse("reports:index")]
    for _depth in range(2):
        found = set()
        for link in todo:
            response = client.get(link)
            assert response.status_code != 403, link
            seen.add(link)
            if response.get("Content-Type", "").startswith("text/html"):
                found |= report_links(response.content.decode())
        todo = sorted(found - seen)
    for link in todo:
        assert client.get(link).status_code != 403, link
    assert len(seen) > 1
