"""The home page calls out what came back: a surveyor's returned inspections and the ledger
entries sent back for rectification, a township's returned summary submission; never another
region's."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from rectification.models import LedgerEntry, LedgerLog
from reports.models import Submission
from tests.factories import HouseholdFactory, InspectionFactory, SurveyRoundFactory, ToiletFactory

pytestmark = pytest.mark.django_db

HOME = reverse("home")


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2023年摸排")


def returned(survey, village, reason="照片看不清"):
    toilet = ToiletFactory(household=HouseholdFactory(village=village))
    return InspectionFactory(round=survey, toilet=toilet, status="returned", return_reason=reason)


def entry_sent_back(survey, village, actor, action="return", note="整改照片不符合要求"):
    inspection = InspectionFactory(
        round=survey, toilet=ToiletFactory(household=HouseholdFactory(village=village))
    )
    entry = LedgerEntry.objects.create(
        toilet=inspection.toilet,
        found_in=survey,
        opened_by_inspection=inspection,
        last_inspection=inspection,
        usability="unusable",
        state="in_progress",
        state_changed_at=timezone.now(),
    )
    LedgerLog.objects.create(entry=entry, actor=actor, from_state="", to_state="registered")
    LedgerLog.objects.create(
        entry=entry, actor=actor, from_state="rectified", to_state="in_progress", action=action,
        note=note,
    )  # fmt: skip
    return entry


def submission(survey, township, actor, version=1, status="returned", reason="第5列合计不符"):
    return Submission.objects.create(
        survey_round=survey,
        region=township,
        kind="township",
        version=version,
        status=status,
        cutoff=timezone.now(),
        rows=[],
        total={},
        submitted_by=actor,
        filler_name="陈明",
        filler_phone="13900000000",
        filled_on=datetime.date(2023, 5, 1),
        return_reason=reason if status == "returned" else "",
        reviewed_at=timezone.now() if status != "submitted" else None,
    )


def test_the_surveyor_sees_the_returned_count_with_a_working_link(as_user, users, tree, survey):
    mine = [returned(survey, tree.v1), returned(survey, tree.v1, "缺少化粪池照片")]
    returned(survey, tree.v2)  # the neighbouring village's
    InspectionFactory(
        round=survey, toilet=ToiletFactory(household=HouseholdFactory(village=tree.v1))
    )
    client = as_user(users.surveyor)
    response = client.get(HOME)
    html = response.content.decode()
    assert response.context["returned_inspections"]["count"] == 2
    assert "摸排被退回 2 条" in html
    url = response.context["returned_inspections"]["url"]
    assert url == reverse("surveys:worklist") + "?status=returned#list"
    assert f'href="{url}"' in html
    worklist = client.get(reverse("surveys:worklist"), {"status": "returned"})
    assert sorted(t.pk for t in worklist.context["toilets"]) == sorted(i.toilet_id for i in mine)
    assert "缺少化粪池照片" in worklist.content.decode()


def test_nothing_to_call_out_shows_no_callout(as_user, users, tree, survey, register):
    response = as_user(users.surveyor).get(HOME)
    assert response.context["returned_inspections"] is None
    assert response.context["returned_entries"] is None
    assert 'id="returned"' not in response.content.decode()


def test_the_surveyor_sees_ledger_entries_sent_back(as_user, users, tree, survey):
    mine = entry_sent_back(survey, tree.v1, users.township)
    reopened = entry_sent_back(survey, tree.v1, users.county, "reopen", "复核发现仍漏水")
    entry_sent_back(survey, tree.v2, users.township, note="东风村的退回")  # not this village
    # An entry merely started (its last move is not a return) is not called out.
    started = entry_sent_back(survey, tree.v1, users.township, "start", "")
    response = as_user(users.surveyor).get(HOME)
    callout = response.context["returned_entries"]
    assert callout["count"] == 2
    assert {e.pk for e in callout["entries"]} == {mine.pk, reopened.pk}
    html = response.content.decode()
    assert "整改被退回 2 条" in html and "整改照片不符合要求" in html and "复核发现仍漏水" in html
    assert "东风村的退回" not in html
    assert reverse("rectification:entry", args=[started.pk]) not in html
    ledger = reverse("rectification:ledger") + "?state=in_progress#list"
    assert callout["url"] == ledger and f'href="{ledger}"' in html
    listed = as_user(users.surveyor).get(reverse("rectification:ledger"), {"state": "in_progress"})
    assert mine.pk in {e.pk for e in listed.context["object_list"]}


def test_the_township_sees_its_returned_submission_with_the_reason(as_user, users, tree, survey):
    back = submission(survey, tree.t1, users.township)
    submission(survey, tree.t2, users.township_t2, reason="康熙岭镇的退回原因")
    response = as_user(users.township).get(HOME)
    assert response.context["returned_submissions"] == [back]
    html = response.content.decode()
    assert "2023年摸排 汇总表（第1版）被县级退回" in html and "第5列合计不符" in html
    assert reverse("reports:submission", args=[back.pk]) in html
    assert reverse("reports:township", args=[survey.pk, tree.t1.code]) in html
    assert "康熙岭镇的退回原因" not in html


def test_a_submission_sent_again_is_no_longer_called_out(as_user, users, tree, survey):
    submission(survey, tree.t1, users.township)
    submission(survey, tree.t1, users.township, version=2, status="submitted")
    response = as_user(users.township).get(HOME)
    assert response.context["returned_submissions"] == []
    assert "被县级退回" not in response.content.decode()


def test_others_see_nothing_of_other_regions_or_roles(as_user, users, tree, survey):
    returned(survey, tree.v1)
    entry_sent_back(survey, tree.v1, users.township)
    submission(survey, tree.t1, users.township)
    for user in (
        users.surveyor_v2,
        users.township_t2,
        users.county,
        users.inspector,
        users.outsider,
    ):
        response = as_user(user).get(HOME)
        assert response.context["returned_inspections"] is None, user
        assert response.context["returned_entries"] is None, user
        assert response.context["returned_submissions"] == [], user
        assert 'id="returned"' not in response.content.decode(), user
    # The township sees its submission, not its villages' inspections or entries.
    response = as_user(users.township).get(HOME)
    assert response.context["returned_inspections"] is None
    assert response.context["returned_entries"] is None


def test_the_home_pages_queue_links_land_on_the_list(as_user, users, tree, survey):
    html = as_user(users.surveyor).get(HOME).content.decode()
    assert "?queue=to_rectify#list" in html
