"""The pages of one ledger entry: the detail with its evidence and history, the form of each
workflow move, the printable 整改告知单, bulk acceptance and the evidence files, all through
HTTP as the users of each role see them."""

import base64
import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from rectification.checklists import checklist_for
from rectification.choices import LedgerState, LocationSource
from rectification.models import Consent, EvidencePhoto, LedgerEntry
from regions.choices import Role
from tests.factories import HouseholdFactory, SurveyRoundFactory, ToiletFactory, UserFactory
from tests.images import jpeg
from tests.ledger import after_photo, drive, move, open_entry, paper_photo, signature_png
from toilets.identity import mask_id_number

pytestmark = pytest.mark.django_db

S = LedgerState


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2024年问题摸排")


@pytest.fixture
def entry(users, register, survey):
    """王建国's toilet in V1 (township T1), just registered as a problem."""
    return open_entry(users.surveyor, survey, register.t1)


@pytest.fixture
def entry_in(entry, users):
    def make(state):
        return drive(entry, township=users.township, surveyor=users.surveyor, to=state)

    return make


@pytest.fixture
def far_entry(users, register, survey):
    """The entry of county B's toilet t4 (another county)."""
    surveyor_v4 = UserFactory(username="surveyor_v4", role=(Role.SURVEYOR, register.h4.village))
    return open_entry(
        surveyor_v4, SurveyRoundFactory(county=register.h4.village.parent.parent), register.t4
    )


def page(response) -> str:
    """The page's text as a user reads it (tags removed, whitespace collapsed)."""
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", text)


def entry_url(entry):
    return reverse("rectification:entry", args=[entry.pk])


def move_url(entry, action):
    return reverse("rectification:transition", args=[entry.pk, action])


def fresh(entry):
    return LedgerEntry.objects.get(pk=entry.pk)


def signature_url(*, blank=False) -> str:
    return "data:image/png;base64," + base64.b64encode(signature_png(blank=blank)).decode()


def plan_post(entry, **overrides):
    data = {
        "version": fresh(entry).version,
        "problem_class": "guidance",
        "cause": "construction",
        "measures": "更换破损化粪池盖板，重新连接过粪管",
        "tech_route": "三格化粪池式",
        "funding_source": "township",
        "deadline": (timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
        "target_year": "",
        "responsible_person": "陈志明",
        "responsible_phone": "0777-1234567",
        "note": "",
    }
    data.update(overrides)
    return data


def checklist_post(entry, *, failing=(), missing=()):
    data = {"version": fresh(entry).version}
    for item in checklist_for(entry.toilet.tech_type):
        if item.code not in missing:
            data[f"check-{entry.pk}-{item.code}"] = "fail" if item.code in failing else "pass"
    return data


def consent_post(entry, **overrides):
    data = {
        "version": fresh(entry).version,
        "method": "screen",
        "signature": signature_url(),
        "signer_name": "王建国",
        "signed_on": timezone.localdate().isoformat(),
        "note": "",
    }
    data.update(overrides)
    return data


# Who sees an entry ----------------------------------------------------------------------


def test_it_sends_an_anonymous_visitor_to_log_in(client, entry):
    for url in [
        entry_url(entry),
        move_url(entry, "plan"),
        reverse("rectification:notice", args=[entry.pk]),
        reverse("rectification:bulk-accept"),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("who", ["township_t2", "outsider", "surveyor_v2"])
def test_it_is_not_found_for_another_region(as_user, users, entry_in, who):
    entry = entry_in(S.RECTIFIED)
    client = as_user(getattr(users, who))
    photo = EvidencePhoto.objects.get(entry=entry)
    for url in [
        entry_url(entry),
        move_url(entry, "accept"),
        reverse("rectification:notice", args=[entry.pk]),
        reverse("rectification:evidence-photo", args=[photo.pk, "thumb"]),
        reverse("rectification:evidence-photo", args=[photo.pk, "full"]),
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(move_url(entry, "accept"), checklist_post(entry)).status_code == 404
    assert fresh(entry).state == S.RECTIFIED


@pytest.mark.parametrize("who", ["county", "inspector"])
def test_the_county_and_the_inspector_see_it_with_the_id_number_masked(as_user, users, entry, who):
    response = as_user(getattr(users, who)).get(entry_url(entry))
    assert response.status_code == 200
    text = page(response)
    household = entry.toilet.household
    assert "王建国" in text and "沙埠村" in text and "粪池问题" in text and "不能使用" in text
    assert household.id_number not in text and household.phone not in text
    assert mask_id_number(household.id_number) in text


def test_the_township_sees_the_full_id_number(as_user, users, entry):
    text = page(as_user(users.township).get(entry_url(entry)))
    assert entry.toilet.household.id_number in text and "13812345678" in text


def action_links(response, entry) -> set[str]:
    prefix = reverse("rectification:entry", args=[entry.pk])
    found = re.findall(rf'href="{re.escape(prefix)}(\w+)/"', response.content.decode())
    return set(found) - {"notice"}


@pytest.mark.parametrize(
    ("state", "who", "expected"),
    [
        (S.REGISTERED, "township", {"plan"}),
        (S.REGISTERED, "surveyor", {"quick_fix"}),
        (S.IN_PROGRESS, "surveyor", {"rectify"}),
        (S.IN_PROGRESS, "township", {"replan"}),
        (S.RECTIFIED, "township", {"accept", "return"}),
        (S.RECTIFIED, "surveyor", set()),
        (S.ACCEPTED, "township", {"close", "return"}),
        (S.CLOSED, "county", {"review", "reopen"}),
        (S.CLOSED, "township", set()),
        (S.CLOSED, "inspector", set()),
    ],
)
def test_it_offers_only_the_moves_the_user_may_make_now(
    as_user, users, entry_in, state, who, expected
):
    entry = entry_in(state)
    response = as_user(getattr(users, who)).get(entry_url(entry))
    assert action_links(response, entry) == expected


def test_the_surveyor_is_offered_to_record_the_rectification_and_the_township_is_not(
    as_user, users, entry_in
):
    entry = entry_in(S.IN_PROGRESS)
    assert "登记已整改" in page(as_user(users.surveyor).get(entry_url(entry)))
    assert "登记已整改" not in page(as_user(users.township).get(entry_url(entry)))


def test_a_move_of_another_role_is_forbidden(as_user, users, entry_in):
    entry = entry_in(S.IN_PROGRESS)
    township = as_user(users.township)
    assert township.get(move_url(entry, "rectify")).status_code == 403
    assert township.post(move_url(entry, "rectify"), {"version": 3}).status_code == 403
    assert as_user(users.inspector).get(move_url(entry, "replan")).status_code == 403
    assert fresh(entry).state == S.IN_PROGRESS


def test_an_unknown_move_is_not_found(as_user, users, entry):
    assert as_user(users.township).get(move_url(entry, "delete")).status_code == 404


def test_a_move_not_possible_in_this_state_goes_back_with_the_reason(as_user, users, entry):
    response = as_user(users.township).get(move_url(entry, "accept"), follow=True)
    assert response.redirect_chain[-1][0] == entry_url(entry)
    assert "该问题当前为“登记”，不能执行“验收通过”" in page(response)


@pytest.mark.parametrize(
    ("state", "action", "who", "shown"),
    [
        (
            S.REGISTERED,
            "plan",
            "township",
            ["整改类别", "计划完成年度", "仅“重点难点”问题需要填写"],
        ),
        (S.REGISTERED, "quick_fix", "surveyor", ["整改后照片", "整改情况说明", "data-geo-status"]),
        (S.PLANNED, "start", "township", ["确认该户已开始整改", "确认开始整改"]),
        (S.IN_PROGRESS, "rectify", "surveyor", ["js/geolocate.js", 'name="latitude"']),
        (S.RECTIFIED, "accept", "township", ["满水试验无渗漏", "GB/T 38837-2020", "不合格"]),
        (S.RECTIFIED, "return", "township", ["退回整改原因"]),
        (
            S.ACCEPTED,
            "close",
            "township",
            ["手机屏幕签字", "纸质签字拍照", "清除", "js/signature.js"],
        ),
        (S.CLOSED, "review", "county", ["确认复核通过"]),
        (S.CLOSED, "reopen", "county", ["重新打开原因"]),
    ],
)
def test_each_move_has_its_form(as_user, users, entry_in, state, action, who, shown):
    entry = entry_in(state)
    response = as_user(getattr(users, who)).get(move_url(entry, action))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'name="version" value="{fresh(entry).version}"' in html
    for text in shown:
        assert text in html


# The whole close-out through the forms ----------------------------------------------------


def test_each_form_moves_the_entry_on_and_the_timeline_shows_every_step(
    as_user, users, entry, client
):
    township = as_user(users.township)
    form = township.get(move_url(entry, "plan"))
    assert form.context["form"].initial["problem_class"] == "guidance"  # 粪池问题
    response = township.post(move_url(entry, "plan"), plan_post(entry), follow=True)
    assert fresh(entry).state == S.PLANNED
    assert "整改方案已制定。下一步：打印整改告知单" in page(response)

    response = township.post(
        move_url(entry, "start"), {"version": fresh(entry).version}, follow=True
    )
    assert fresh(entry).state == S.IN_PROGRESS
    assert "已开始整改" in page(response)

    surveyor = as_user(users.surveyor)
    form = surveyor.get(move_url(entry, "rectify"))
    html = form.content.decode()
    assert 'name="photos"' in html and 'capture="environment"' in html and "multiple" in html
    response = surveyor.post(
        move_url(entry, "rectify"),
        {
            "version": fresh(entry).version,
            "photos": [after_photo()],
            "note": "已更换盖板",
            "latitude": "21.912345",
            "longitude": "108.612345",
        },
        follow=True,
    )
    assert fresh(entry).state == S.RECTIFIED
    assert "已登记整改完成。下一步：乡镇对照验收清单验收" in page(response)
    photo = EvidencePhoto.objects.get(entry=entry)
    assert photo.location_source == LocationSource.BROWSER
    assert photo.latitude == Decimal("21.912345")

    township = as_user(users.township)
    response = township.post(move_url(entry, "accept"), checklist_post(entry), follow=True)
    assert fresh(entry).state == S.ACCEPTED
    assert "已验收。下一步：请户主签字后销号。" in page(response)

    form = township.get(move_url(entry, "close"))
    assert form.context["form"].initial["signer_name"] == "王建国"
    assert "<canvas" in form.content.decode()
    response = township.post(move_url(entry, "close"), consent_post(entry), follow=True)
    assert fresh(entry).state == S.CLOSED
    assert "已销号" in page(response)
    consent = Consent.objects.get(entry=entry)
    assert consent.method == "screen" and consent.signer_name == "王建国"

    text = page(as_user(users.county).get(entry_url(entry)))
    steps = [
        "登记问题：登记",
        "制定整改方案：登记 → 已制定方案",
        "开始整改：已制定方案 → 整改中",
        "登记已整改：整改中 → 已整改",
        "验收通过：已整改 → 已验收",
        "销号：已验收 → 已销号",
    ]
    assert all(step in text for step in steps), text[text.index("处理记录") :]
    positions = [text.index(step) for step in steps]
    assert positions == sorted(positions)  # oldest first
    assert "已更换盖板" in text and "验收 13 项全部合格" in text
    assert "户主 王建国 签字同意销号" in text
    # The evidence is on the page: after photo, checklist results, the signature.
    html = as_user(users.county).get(entry_url(entry)).content.decode()
    assert reverse("rectification:evidence-photo", args=[photo.pk, "thumb"]) in html
    assert reverse("rectification:consent-image", args=[consent.pk]) in html
    assert "✔ 合格" in html and "满水试验无渗漏" in html and "GB/T 38836-2020" in html
    assert "手机屏幕签字" in html and "手机定位" in html


def test_a_close_out_with_a_photo_of_the_signed_paper(as_user, users, entry_in):
    entry = entry_in(S.ACCEPTED)
    response = as_user(users.township).post(
        move_url(entry, "close"),
        consent_post(entry, method="paper", signature="", paper_photo=paper_photo()),
        follow=True,
    )
    assert fresh(entry).state == S.CLOSED
    consent = Consent.objects.get(entry=entry)
    assert consent.method == "paper"
    assert "纸质签字拍照" in page(response)
    image = as_user(users.county).get(reverse("rectification:consent-image", args=[consent.pk]))
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert b"".join(image.streaming_content)[:2] == b"\xff\xd8"


def test_the_county_reviews_and_the_stamp_shows(as_user, users, entry_in):
    entry = entry_in(S.CLOSED)
    county = as_user(users.county)
    response = county.post(
        move_url(entry, "review"), {"version": fresh(entry).version}, follow=True
    )
    assert "复核通过" in page(response) and "县级复核通过" in page(response)
    assert fresh(entry).reviewed_by == users.county


def test_the_county_reopens_with_a_reason(as_user, users, entry_in):
    entry = entry_in(S.CLOSED)
    county = as_user(users.county)
    response = county.post(move_url(entry, "reopen"), {"version": fresh(entry).version, "note": ""})
    assert "请填写重新打开原因" in page(response)
    assert fresh(entry).state == S.CLOSED
    county.post(move_url(entry, "reopen"), {"version": fresh(entry).version, "note": "盖板仍破损"})
    assert fresh(entry).state == S.IN_PROGRESS


def test_a_replan_form_starts_from_the_current_plan(as_user, users, entry_in):
    entry = entry_in(S.PLANNED)
    form = as_user(users.township).get(move_url(entry, "replan")).context["form"]
    assert form.initial["measures"] == "更换破损化粪池盖板，重新连接过粪管"
    assert form.initial["responsible_phone"] == "0777-1234567"
    assert form.initial["deadline"] == fresh(entry).deadline


# Refusals shown on the form ---------------------------------------------------------------


def test_a_plan_without_measures_is_refused_next_to_the_field(as_user, users, entry):
    response = as_user(users.township).post(move_url(entry, "plan"), plan_post(entry, measures=""))
    assert response.status_code == 200
    text = page(response)
    assert "整改措施：请填写整改措施。" in text
    assert fresh(entry).state == S.REGISTERED
    assert response.context["form"].errors["measures"] == ["请填写整改措施。"]


def test_a_hard_problem_without_a_target_year_is_refused(as_user, users, entry):
    response = as_user(users.township).post(
        move_url(entry, "plan"), plan_post(entry, problem_class="hard")
    )
    assert "计划完成年度：重点难点问题请填写计划完成年度" in page(response)
    assert fresh(entry).state == S.REGISTERED


def test_a_rectification_without_a_photo_is_refused(as_user, users, entry_in):
    entry = entry_in(S.IN_PROGRESS)
    response = as_user(users.surveyor).post(
        move_url(entry, "rectify"), {"version": fresh(entry).version}
    )
    assert "整改后照片：请拍摄或上传至少一张整改后照片。" in page(response)
    assert fresh(entry).state == S.IN_PROGRESS


def test_an_acceptance_with_a_failed_item_stays_rectified_and_offers_a_return(
    as_user, users, entry_in
):
    entry = entry_in(S.RECTIFIED)
    township = as_user(users.township)
    response = township.post(
        move_url(entry, "accept"), checklist_post(entry, failing={"3836-leak"})
    )
    text = page(response)
    assert fresh(entry).state == S.RECTIFIED
    assert "有不合格项，不能验收" in text and "第 4 项“满水试验无渗漏”" in text
    assert 'class="failed" data-item="3836-leak"' in response.content.decode()
    return_url = response.context["return_url"]
    assert return_url.startswith(move_url(entry, "return"))

    form = township.get(return_url)
    assert form.context["form"].initial["note"] == "验收不合格：第 4 项“满水试验无渗漏”"
    township.post(return_url, {"version": fresh(entry).version, "note": "验收不合格：满水试验渗漏"})
    assert fresh(entry).state == S.IN_PROGRESS


def test_an_acceptance_with_an_item_left_out_names_it(as_user, users, entry_in):
    entry = entry_in(S.RECTIFIED)
    response = as_user(users.township).post(
        move_url(entry, "accept"), checklist_post(entry, missing={"3836-vent"})
    )
    assert "未检查：第 6 项“第一格设置排气管”" in page(response)
    assert fresh(entry).state == S.RECTIFIED


def test_a_close_out_with_an_empty_signature_pad_is_refused(as_user, users, entry_in):
    entry = entry_in(S.ACCEPTED)
    township = as_user(users.township)
    response = township.post(
        move_url(entry, "close"), consent_post(entry, signature=signature_url(blank=True))
    )
    assert "签字区为空白" in page(response)
    assert fresh(entry).state == S.ACCEPTED
    response = township.post(move_url(entry, "close"), consent_post(entry, signature=""))
    assert "户主签字：请户主在屏幕上签字。" in page(response)
    assert fresh(entry).state == S.ACCEPTED and not Consent.objects.exists()


@pytest.mark.parametrize(
    "signature",
    [
        "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8").decode(),
        "data:image/png;base64,@@not-base64@@",
        "data:image/png;base64," + "A" * 3_000_000,
    ],
    ids=["not-png", "not-base64", "too-large"],
)
def test_a_signature_that_is_not_a_drawn_png_is_refused(as_user, users, entry_in, signature):
    entry = entry_in(S.ACCEPTED)
    # The too-large one exceeds Django's request limit unless raised for this test.
    from django.test import override_settings

    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000_000):
        response = as_user(users.township).post(
            move_url(entry, "close"), consent_post(entry, signature=signature)
        )
    assert response.status_code == 200
    assert "请清除后重新签字" in page(response)
    assert fresh(entry).state == S.ACCEPTED


def test_a_paper_close_out_without_the_photo_is_refused_at_the_photo(as_user, users, entry_in):
    entry = entry_in(S.ACCEPTED)
    response = as_user(users.township).post(
        move_url(entry, "close"), consent_post(entry, method="paper", signature="")
    )
    assert "签字纸质件照片：请上传签字纸质件照片。" in page(response)
    assert fresh(entry).state == S.ACCEPTED


def test_a_return_needs_a_reason(as_user, users, entry_in):
    entry = entry_in(S.RECTIFIED)
    response = as_user(users.township).post(
        move_url(entry, "return"), {"version": fresh(entry).version, "note": "  "}
    )
    assert "退回整改原因：请填写退回整改原因。" in page(response)
    assert fresh(entry).state == S.RECTIFIED


def test_a_form_opened_before_someone_else_moved_the_entry_changes_nothing(
    as_user, users, entry_in, tree
):
    entry = entry_in(S.PLANNED)
    seen = fresh(entry).version
    colleague = UserFactory(username="township_b", role=(Role.TOWNSHIP, tree.t1))
    move(entry, "replan", colleague, plan={**plan_post(entry), "deadline": fresh(entry).deadline})
    response = as_user(users.township).post(
        move_url(entry, "replan"),
        {**plan_post(entry, measures="我的方案"), "version": seen},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == entry_url(entry)
    assert "该问题台账刚刚被他人处理过，请刷新后查看最新状态" in page(response)
    assert fresh(entry).measures != "我的方案"


def test_a_move_posted_twice_only_happens_once(as_user, users, entry_in):
    entry = entry_in(S.PLANNED)
    township = as_user(users.township)
    data = {"version": fresh(entry).version}
    township.post(move_url(entry, "start"), data)
    response = township.post(move_url(entry, "start"), data, follow=True)
    assert "不能执行“开始整改”" in page(response)
    assert fresh(entry).log.filter(action="start").count() == 1


def test_a_far_after_photo_is_flagged_for_the_township(as_user, users, entry_in, register):
    register.t1.latitude, register.t1.longitude = Decimal("21.900000"), Decimal("108.600000")
    register.t1.save()
    entry = entry_in(S.IN_PROGRESS)
    move(entry, "rectify", users.surveyor, photos=[jpeg("far.jpg", gps=(21.92, 108.60))])
    text = page(as_user(users.township).get(entry_url(entry)))
    photo = EvidencePhoto.objects.get(entry=entry)
    assert photo.distance_m > 2000
    assert f"距厕所登记位置 {photo.distance_m} 米，请核实" in text
    assert "照片自带定位" in text


def test_before_and_after_photos_are_shown_side_by_side(as_user, users, survey, register):
    from surveys.models import Inspection, InspectionPhoto, ProblemCategory
    from surveys.services import save_inspection

    inspection = Inspection(
        round=survey,
        toilet=register.t1,
        usability="unusable",
        check_method="on_site",
        partner_name="李四",
        inspected_at=timezone.now(),
        signed=True,
    )
    save_inspection(
        actor=users.surveyor,
        inspection=inspection,
        categories=list(ProblemCategory.objects.filter(code="tank")),
        photos=[jpeg("before.jpg", gps=(21.9, 108.6))],
    )
    entry = drive(
        LedgerEntry.objects.get(opened_by_inspection=inspection),
        township=users.township,
        surveyor=users.surveyor,
        to=S.RECTIFIED,
    )
    html = as_user(users.inspector).get(entry_url(entry)).content.decode()
    before = InspectionPhoto.objects.get(inspection=inspection)
    after = EvidencePhoto.objects.get(entry=entry)
    assert html.index(reverse("surveys:photo", args=[before.pk, "thumb"])) < html.index(
        reverse("rectification:evidence-photo", args=[after.pk, "thumb"])
    )
    assert "整改前" in html and "整改后" in html


def test_the_entry_page_needs_the_same_queries_however_long_its_history(
    as_user, users, entry_in, register, survey
):
    short = entry_in(S.PLANNED)
    other = open_entry(users.surveyor, survey, ToiletFactory(household=register.h1))
    other = drive(other, township=users.township, surveyor=users.surveyor, to=S.CLOSED)
    move(other, "reopen", users.county, note="复核不合格")
    move(other, "rectify", users.surveyor, photos=[after_photo("a.jpg"), after_photo("b.jpg")])
    client = as_user(users.county)

    def queries(entry):
        client.get(entry_url(entry))  # warm the session and the user's scope
        with CaptureQueriesContext(connection) as captured:
            assert client.get(entry_url(entry)).status_code == 200
        return len(captured)

    assert queries(other) == queries(short)


# Evidence files -------------------------------------------------------------------------


def test_evidence_photos_are_served_in_the_region_only(as_user, users, entry_in):
    entry = entry_in(S.RECTIFIED)
    photo = EvidencePhoto.objects.get(entry=entry)
    for who in ["surveyor", "township", "county", "inspector"]:
        client = as_user(getattr(users, who))
        for size in ["full", "thumb"]:
            response = client.get(reverse("rectification:evidence-photo", args=[photo.pk, size]))
            assert response.status_code == 200
            assert response["Content-Type"] == "image/jpeg"
            assert response["Cache-Control"] == "private, max-age=3600"
    bad = reverse("rectification:evidence-photo", args=[photo.pk, "huge"])
    assert as_user(users.township).get(bad).status_code == 404
    assert (
        as_user(users.outsider)
        .get(reverse("rectification:evidence-photo", args=[photo.pk, "full"]))
        .status_code
        == 404
    )


def test_the_signature_is_served_in_the_region_only(as_user, users, entry_in):
    entry = entry_in(S.CLOSED)
    consent = Consent.objects.get(entry=entry)
    url = reverse("rectification:consent-image", args=[consent.pk])
    response = as_user(users.county).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert as_user(users.township_t2).get(url).status_code == 404
    assert as_user(users.outsider).get(url).status_code == 404


# 整改告知单 ---------------------------------------------------------------------------------


def test_the_notice_tells_the_household_what_will_be_done_by_whom_and_when(
    as_user, users, entry_in
):
    entry = entry_in(S.PLANNED)
    response = as_user(users.township).get(reverse("rectification:notice", args=[entry.pk]))
    text = page(response)
    deadline = fresh(entry).deadline
    assert "农村户厕问题整改告知单" in text
    assert "王建国" in text and "沙埠村" in text and "三格化粪池式" in text
    assert "不能使用：粪池问题" in text
    assert "更换破损化粪池盖板，重新连接过粪管" in text
    assert f"{deadline.year}年{deadline.month}月{deadline.day}日前完成" in text
    assert "陈志明" in text and "0777-1234567" in text
    assert "户主签收" in text and "打印" in text


def test_the_notice_waits_for_a_plan(as_user, users, entry):
    response = as_user(users.township).get(
        reverse("rectification:notice", args=[entry.pk]), follow=True
    )
    assert response.redirect_chain[-1][0] == entry_url(entry)
    assert "尚未制定整改方案" in page(response)


def test_the_villages_notices_are_one_per_page_and_scoped(as_user, users, tree, survey, entry):
    planned = drive(entry, township=users.township, surveyor=users.surveyor, to=S.PLANNED)
    h2 = HouseholdFactory(village=tree.v1, head_name="赵六")
    rectified = drive(
        open_entry(users.surveyor, survey, ToiletFactory(household=h2)),
        township=users.township,
        surveyor=users.surveyor,
        to=S.RECTIFIED,
    )
    url = reverse("rectification:notices")
    response = as_user(users.township).get(url, {"village": tree.v1.code})
    html = response.content.decode()
    assert f'data-entry="{planned.pk}"' in html
    assert f'data-entry="{rectified.pk}"' not in html  # nothing left to notify
    assert html.count('class="notice"') == 1
    assert "page-break-after" in open("static/css/ledger.css", encoding="utf-8").read()

    assert as_user(users.township).get(url, {"village": tree.v3.code}).status_code == 404
    assert as_user(users.outsider).get(url, {"village": tree.v1.code}).status_code == 404
    assert as_user(users.township).get(url, {"village": "999999999999"}).status_code == 404
    assert as_user(users.township).get(url).status_code == 404


# Bulk acceptance --------------------------------------------------------------------------


@pytest.fixture
def two_rectified(users, tree, survey, entry):
    h2 = HouseholdFactory(village=tree.v2, head_name="赵六")
    surveyor_v2 = users.surveyor_v2
    second = open_entry(surveyor_v2, survey, ToiletFactory(household=h2))
    first = drive(entry, township=users.township, surveyor=users.surveyor, to=S.RECTIFIED)
    second = drive(second, township=users.township, surveyor=surveyor_v2, to=S.RECTIFIED)
    return first, second


def bulk_post(entries, *, failing=None, missing=None):
    data = {"ids": [e.pk for e in entries], "note": "现场验收"}
    for e in entries:
        data.update(
            checklist_post(
                e,
                failing=(failing or {}).get(e.pk, ()),
                missing=(missing or {}).get(e.pk, ()),
            )
        )
        data[f"version-{e.pk}"] = data.pop("version")
    return data


BULK = reverse("rectification:bulk-accept")


def test_bulk_acceptance_accepts_every_selected_entry(as_user, users, two_rectified):
    first, second = two_rectified
    township = as_user(users.township)
    form = township.get(BULK, {"ids": [first.pk, second.pk]})
    html = form.content.decode()
    assert f'name="check-{first.pk}-3836-leak"' in html
    assert f'name="check-{second.pk}-3836-leak"' in html
    assert " checked" not in html  # no item is preselected
    for e in two_rectified:
        photo = EvidencePhoto.objects.get(entry=e)
        assert reverse("rectification:evidence-photo", args=[photo.pk, "thumb"]) in html

    response = township.post(BULK, bulk_post(two_rectified))
    assert response.status_code == 302
    assert response["Location"] == reverse("rectification:ledger") + "?queue=to_close"
    assert {fresh(e).state for e in two_rectified} == {S.ACCEPTED}
    assert "已验收 2 户" in page(township.get(response["Location"]))
    assert fresh(first).log.last().note == "验收 13 项全部合格。现场验收"


def test_bulk_acceptance_accepts_none_when_one_fails(as_user, users, two_rectified):
    first, second = two_rectified
    response = as_user(users.township).post(
        BULK, bulk_post(two_rectified, failing={second.pk: {"3836-vent"}})
    )
    assert response.status_code == 200
    text = page(response)
    assert "本批没有验收任何一户" in text
    assert "赵六：有不合格项，不能验收，请退回整改：第 6 项“第一格设置排气管”" in text
    assert "王建国：" not in text  # the good one is not blamed
    assert {fresh(e).state for e in two_rectified} == {S.RECTIFIED}
    assert not first.log.filter(action="accept").exists()


def test_bulk_acceptance_accepts_none_when_an_item_is_left_out(as_user, users, two_rectified):
    first, _ = two_rectified
    response = as_user(users.township).post(
        BULK, bulk_post(two_rectified, missing={first.pk: {"3836-room"}})
    )
    assert "王建国：请逐项检查后再验收" in page(response)
    assert {fresh(e).state for e in two_rectified} == {S.RECTIFIED}


def test_bulk_acceptance_accepts_none_when_one_was_moved_meanwhile(as_user, users, two_rectified):
    first, second = two_rectified
    data = bulk_post(two_rectified)
    move(second, "return", users.township, note="照片不清楚")
    response = as_user(users.township).post(BULK, data)
    assert "赵六：当前为“整改中”，不在待验收中" in page(response)
    assert fresh(first).state == S.RECTIFIED


def test_bulk_acceptance_skips_what_cannot_be_accepted(as_user, users, two_rectified, far_entry):
    first, second = two_rectified
    move(second, "return", users.township, note="照片不清楚")
    response = as_user(users.township).get(BULK, {"ids": [first.pk, second.pk, far_entry.pk]})
    text = page(response)
    assert [f.entry for f in response.context["forms"]] == [first]
    assert "赵六：当前为“整改中”，不在待验收中" in text
    assert f"编号 {far_entry.pk}：不存在或不在您的管辖范围内" in text
    assert "张志强" not in text


def test_bulk_acceptance_is_for_the_township_only(as_user, users, two_rectified):
    first, _ = two_rectified
    for who in ["surveyor", "county", "inspector"]:
        client = as_user(getattr(users, who))
        assert client.get(BULK, {"ids": [first.pk]}).status_code == 403
        assert client.post(BULK, bulk_post([first])).status_code == 403
    assert fresh(first).state == S.RECTIFIED


def test_bulk_acceptance_of_another_townships_entry_accepts_nothing(as_user, users, two_rectified):
    first, _ = two_rectified
    response = as_user(users.township_t2).post(BULK, bulk_post([first]))
    assert "不存在或不在您的管辖范围内" in page(response)
    assert fresh(first).state == S.RECTIFIED


# The household's page (一户一档) ------------------------------------------------------------


def test_the_household_page_lists_the_entry_and_its_history(as_user, users, entry_in, register):
    entry = entry_in(S.IN_PROGRESS)
    response = as_user(users.township).get(
        reverse("toilets:household-detail", args=[register.h1.pk])
    )
    html = response.content.decode()
    text = page(response)
    assert f'href="{entry_url(entry)}"' in html
    assert "问题台账（1）" in text and "整改中" in text
    assert "问题台账：登记 → 已制定方案（技术指导整改" in text
    assert "问题台账：已制定方案 → 整改中" in text
    assert "township" in text  # who made the move
