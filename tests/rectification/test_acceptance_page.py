"""The acceptance (验收) page: the evidence the township weighs while it accepts (the
inspection's photos, its uncleared 疑似办公室摸排 flags and the surveyor's reason, the after
photos), the checklist's refusals shown all at once, and the 全部合格 shortcut on a phone."""

import re

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rectification.checklists import checklist_for
from rectification.choices import LedgerState
from rectification.models import AcceptanceCheck, LedgerEntry
from surveys.models import FlagKind, Inspection, InspectionFlag, InspectionPhoto
from tests.browser import fits_a_phone, log_in, phone_page
from tests.factories import SurveyRoundFactory
from tests.ledger import drive, open_entry

S = LedgerState

# Inspection.evidence_reason is being added alongside this page; its test runs once it exists.
HAS_EVIDENCE_REASON = "evidence_reason" in [f.name for f in Inspection._meta.fields]

# The acceptance page's queries, pinned: session, user, the user's roles, the entry; then the
# evidence: the inspections, their photos, their uncleared flags, the after photos. The number
# does not grow with the photos or flags shown.
ACCEPT_PAGE_QUERIES = 8


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2024年问题摸排")


@pytest.fixture
def rectified(db, users, register, survey):
    """王建国's toilet in V1 (township T1), rectified and waiting for acceptance."""
    entry = open_entry(users.surveyor, survey, register.t1)
    return drive(entry, township=users.township, surveyor=users.surveyor, to=S.RECTIFIED)


def accept_url(entry):
    return reverse("rectification:transition", args=[entry.pk, "accept"])


def page(response) -> str:
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", text)


def add_photo(inspection, user, name="site.jpg"):
    from tests.images import jpeg

    data = jpeg(name).read()
    return InspectionPhoto.objects.create(
        inspection=inspection,
        image=ContentFile(data, name=name),
        thumbnail=ContentFile(data, name=f"thumb-{name}"),
        sha256=f"{name:0>64}"[:64],
        uploaded_by=user,
    )


def add_flag(inspection, kind, detail, cleared_by=None):
    return InspectionFlag.objects.update_or_create(
        inspection=inspection,
        kind=kind,
        defaults={"detail": detail, "cleared_by": cleared_by},
    )[0]


def checklist_post(entry, *, failing=(), missing=()):
    entry = LedgerEntry.objects.get(pk=entry.pk)
    data = {"version": entry.version}
    for item in checklist_for(entry.toilet.tech_type):
        if item.code not in missing:
            data[f"check-{entry.pk}-{item.code}"] = "fail" if item.code in failing else "pass"
    return data


# The evidence -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_shows_the_inspections_photos_and_its_uncleared_flags(as_user, users, rectified):
    inspection = rectified.last_inspection
    photo = add_photo(inspection, users.surveyor)
    add_flag(inspection, FlagKind.FAR_FROM_TOILET, "照片位置距厕所登记位置 1234 米")
    add_flag(inspection, FlagKind.FAR_FROM_VILLAGE, "照片位置距本村最近的已定位厕所 2345 米")
    add_flag(inspection, FlagKind.BURST, "5 分钟内连续录入 12 户", cleared_by=users.township)

    response = as_user(users.township).get(accept_url(rectified))
    assert response.status_code == 200
    html, text = response.content.decode(), page(response)
    # The inspection photo: a thumbnail linking to the full image, through the scoped view.
    thumb = reverse("surveys:photo", args=[photo.pk, "thumb"])
    full = reverse("surveys:photo", args=[photo.pk, "full"])
    assert re.search(rf'<a href="{full}"[^>]*><img src="{thumb}"', html)
    # The after photo recorded with the rectification.
    assert 'alt="整改后照片"' in html
    # Every uncleared flag with its detail; a cleared one is not a warning any more.
    assert "照片位置远离厕所 ：照片位置距厕所登记位置 1234 米" in text
    assert "照片位置远离本村其他厕所 ：照片位置距本村最近的已定位厕所 2345 米" in text
    assert "5 分钟内连续录入" not in text
    # The flag the inspection got for having no photo was never cleared, so it still shows.
    assert "问题厕所没有照片 ：问题厕所（不能使用）没有现场照片" in text
    # The checklist comes after the evidence, with the shortcut's script.
    assert html.index('id="evidence"') < html.index("data-checklist")
    assert "js/checklist.js" in html and "css/checklist.css" in html
    # 全部合格 is made by the script (progressive enhancement), not in the page itself.
    assert "全部合格" not in html


@pytest.mark.django_db
def test_a_no_photo_flag_shows_with_no_photos(as_user, users, rectified):
    inspection = rectified.last_inspection
    assert not inspection.photos.exists()
    assert inspection.flags.filter(kind=FlagKind.NO_PHOTO, cleared_by=None).exists()
    text = page(as_user(users.township).get(accept_url(rectified)))
    assert "问题厕所没有照片" in text and "这次摸排没有照片。" in text


@pytest.mark.django_db
@pytest.mark.skipif(not HAS_EVIDENCE_REASON, reason="Inspection.evidence_reason not there yet")
def test_it_shows_the_surveyors_reason_for_missing_or_far_photos(as_user, users, rectified):
    Inspection.objects.filter(pk=rectified.last_inspection_id).update(
        evidence_reason="户主外出务工，厕屋上锁无法拍照"
    )
    text = page(as_user(users.township).get(accept_url(rectified)))
    assert "摸排员说明的原因：户主外出务工，厕屋上锁无法拍照" in text


@pytest.mark.django_db
def test_another_townships_entry_acceptance_page_is_not_found(as_user, users, rectified):
    other = as_user(users.township_t2)
    assert other.get(accept_url(rectified)).status_code == 404
    assert other.post(accept_url(rectified), checklist_post(rectified)).status_code == 404
    assert LedgerEntry.objects.get(pk=rectified.pk).state == S.RECTIFIED


@pytest.mark.django_db
def test_the_query_count_is_bounded_and_pinned(as_user, users, rectified):
    township = as_user(users.township)
    township.get(accept_url(rectified))  # warm caches (content types, sessions)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert township.get(accept_url(rectified)).status_code == 200
        return len(queries)

    few = count()
    inspection = rectified.last_inspection
    for n in range(4):
        add_photo(inspection, users.surveyor, name=f"site{n}.jpg")
    add_flag(inspection, FlagKind.FAR_FROM_TOILET, "照片位置距厕所登记位置 900 米")
    add_flag(inspection, FlagKind.REUSED_PHOTO, "同一照片用于另一户")
    assert count() == few
    assert few == ACCEPT_PAGE_QUERIES


# The checklist's refusals -----------------------------------------------------------------


@pytest.mark.django_db
def test_an_unanswered_item_is_refused_by_name_and_nothing_is_saved(as_user, users, rectified):
    before = LedgerEntry.objects.get(pk=rectified.pk)
    logs = before.log.count()
    response = as_user(users.township).post(
        accept_url(rectified), checklist_post(rectified, missing={"3836-vent", "3837-cover"})
    )
    assert response.status_code == 200
    text, html = page(response), response.content.decode()
    assert "未保存，请按提示修改后重新提交。" in text
    assert "未检查：第 6 项“第一格设置排气管”；第 10 项“化粪池盖板完好、密闭，无破损”" in text
    # The banner links to each item to fix; each such item says so where it is.
    vent = f"row-check-{rectified.pk}-3836-vent"
    assert f'href="#{vent}"' in html and f'id="{vent}"' in html
    assert "第 6 项未选择，请选择“合格”或“不合格”。" in text
    after = LedgerEntry.objects.get(pk=rectified.pk)
    assert (after.state, after.version, after.log.count()) == (S.RECTIFIED, before.version, logs)
    assert not AcceptanceCheck.objects.filter(entry=rectified).exists()


@pytest.mark.django_db
def test_an_unanswered_and_a_failed_item_are_both_reported_at_once(as_user, users, rectified):
    response = as_user(users.township).post(
        accept_url(rectified),
        checklist_post(rectified, missing={"3836-vent"}, failing={"3836-leak"}),
    )
    text = page(response)
    assert "未检查：第 6 项“第一格设置排气管”" in text
    assert "有不合格项，不能验收，请退回整改：第 4 项“满水试验无渗漏”" in text
    assert "第 4 项：不合格" in text and "第 6 项：未选择" in text
    assert response.context["return_url"]
    assert LedgerEntry.objects.get(pk=rectified.pk).state == S.RECTIFIED


# On a phone -------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_all_pass_then_one_override_on_a_phone(live_server, users, register, tree):
    survey = SurveyRoundFactory(county=tree.county, name="2024年问题摸排")
    entry = open_entry(users.surveyor, survey, register.t1)
    entry = drive(entry, township=users.township, surveyor=users.surveyor, to=S.RECTIFIED)
    add_flag(entry.last_inspection, FlagKind.FAR_FROM_TOILET, "照片位置距厕所登记位置 1234 米")
    url = f"{live_server.url}{accept_url(entry)}"
    entry_url = f"{live_server.url}{reverse('rectification:entry', args=[entry.pk])}"
    items = checklist_for(entry.toilet.tech_type)
    failing = items[3]  # 满水试验无渗漏

    with phone_page(has_touch=True) as page_:
        log_in(page_, live_server, "township")
        page_.goto(url)
        assert fits_a_phone(page_)
        assert "照片位置距厕所登记位置 1234 米" in page_.inner_text("#evidence")
        assert page_.locator("#evidence img[alt=整改后照片]").count() == 1

        page_.tap("button[data-all-pass]")
        assert page_.locator("ul.checklist input[value=pass]:checked").count() == len(items)
        page_.tap(f"li[data-item='{failing.code}'] label.bad")
        assert page_.locator("ul.checklist input[value=pass]:checked").count() == len(items) - 1
        assert page_.locator(f"li[data-item='{failing.code}'] input[value=fail]").is_checked()
        page_.click("button:has-text('提交')")

        # Refused: nothing saved, every other item kept as answered, the failed one in view.
        page_.wait_for_selector("[data-form-errors]")
        assert f"第 4 项“{failing.text}”" in page_.inner_text("[data-form-errors]")
        stored = LedgerEntry.objects.get(pk=entry.pk)
        assert stored.state == S.RECTIFIED and stored.version == entry.version
        assert not AcceptanceCheck.objects.filter(entry=entry).exists()
        assert page_.locator("ul.checklist input[value=pass]:checked").count() == len(items) - 1
        row = page_.locator(f"li[data-item='{failing.code}']")
        assert "failed" in row.get_attribute("class")
        assert page_.evaluate(
            "(el) => { const r = el.getBoundingClientRect();"
            " return r.top >= 0 && r.bottom <= window.innerHeight; }",
            row.element_handle(),
        )
        assert page_.locator(".errors a.button:has-text('退回整改')").count() == 1
        assert fits_a_phone(page_)

        # Set back to 合格 after a second look: accepted, each item stored as answered.
        page_.tap(f"li[data-item='{failing.code}'] label:not(.bad)")
        page_.click("button:has-text('提交')")
        page_.wait_for_url(entry_url)
        assert "已验收" in page_.inner_text(".messages")

    stored = LedgerEntry.objects.get(pk=entry.pk)
    assert stored.state == S.ACCEPTED
    checks = list(AcceptanceCheck.objects.filter(entry=entry).order_by("id"))
    assert [(c.code, c.passed) for c in checks] == [(item.code, True) for item in items]
