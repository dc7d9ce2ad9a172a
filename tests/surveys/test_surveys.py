"""Survey rounds, on-site inspections, township verification, coverage: the write paths
through the pages, and what each user sees."""

import pytest
from django.urls import reverse
from django.utils import timezone

from rectification.models import LedgerEntry, LedgerLog
from regions.choices import Role
from surveys import services
from surveys.models import Inspection, ProblemCategory, SurveyRound
from tests.factories import (
    HouseholdFactory,
    InspectionFactory,
    SurveyRoundFactory,
    ToiletFactory,
    UserFactory,
)
from tests.images import gif, jpeg, png

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2022年回头看")


def inspect_url(survey, toilet):
    return reverse("surveys:inspect", args=[survey.pk, toilet.pk])


def form_data(**overrides):
    data = {
        "household_present": "True",
        "check_method": "on_site",
        "usability": "unusable",
        "categories": ["tank", "water"],
        "minor_fixes": "",
        "notes": "",
        "partner_name": "李四",
        "inspected_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "signed": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def categories(*codes):
    return list(ProblemCategory.objects.filter(code__in=codes))


# Rounds -----------------------------------------------------------------------------------


def round_form(tree, **overrides):
    data = {
        "name": "2022年摸排",
        "kind": "survey",
        "start_date": "2022-04-01",
        "end_date": "2022-04-30",
        "template": "1",
    }
    from surveys.models import ReportTemplate

    data["template"] = ReportTemplate.objects.get(is_default=True).pk
    data.update(overrides)
    return data


def test_county_creates_opens_and_closes_a_round(as_user, users, tree):
    client = as_user(users.county)
    response = client.post(reverse("surveys:round-create"), round_form(tree))
    survey = SurveyRound.objects.get(name="2022年摸排")
    assert response["Location"] == reverse("surveys:round-detail", args=[survey.pk])
    assert survey.county == tree.county and survey.status == "draft"
    assert survey.template.bucket_of(2012) == "2013以前"
    assert survey.template.bucket_of(2022) is None

    client.post(reverse("surveys:round-open", args=[survey.pk]))
    survey.refresh_from_db()
    assert survey.status == "open" and survey.opened_at is not None
    client.post(reverse("surveys:round-close", args=[survey.pk]))
    survey.refresh_from_db()
    assert survey.status == "closed"


def test_a_look_back_round_needs_its_previous_round(as_user, users, tree):
    response = as_user(users.county).post(
        reverse("surveys:round-create"), round_form(tree, kind="look_back")
    )
    assert "上一轮" in response.context["form"].errors["previous"][0]


def test_only_one_round_is_open_per_county(as_user, users, tree, survey):
    other = SurveyRoundFactory(county=tree.county, status="draft", name="第二轮")
    client = as_user(users.county)
    response = client.post(reverse("surveys:round-open", args=[other.pk]), follow=True)
    assert "已有进行中的摸排轮次" in response.content.decode()
    other.refresh_from_db()
    assert other.status == "draft"


@pytest.mark.parametrize("who", ["surveyor", "township", "inspector"])
def test_only_the_county_manages_rounds(as_user, users, tree, survey, who):
    client = as_user(getattr(users, who))
    assert client.get(reverse("surveys:round-create")).status_code == 403
    client.post(reverse("surveys:round-close", args=[survey.pk]))
    survey.refresh_from_db()
    assert survey.status == "open"


def test_rounds_are_visible_in_their_county_only(as_user, users, survey):
    for who in ["surveyor", "township", "county", "inspector"]:
        client = as_user(getattr(users, who))
        assert client.get(reverse("surveys:round-detail", args=[survey.pk])).status_code == 200
    client = as_user(users.outsider)
    assert client.get(reverse("surveys:round-detail", args=[survey.pk])).status_code == 404
    assert survey.name not in client.get(reverse("surveys:round-list")).content.decode()


# Inspections ------------------------------------------------------------------------------


def test_a_problem_inspection_is_saved_with_photos_and_opens_a_ledger_entry(
    as_user, users, register, survey
):
    client = as_user(users.surveyor)
    data = form_data(photos=[jpeg("a.jpg", gps=(21.91, 108.61)), png("b.png")])
    response = client.post(inspect_url(survey, register.t1), data)
    assert response.status_code == 302, response.context["form"].errors
    inspection = Inspection.objects.get(round=survey, toilet=register.t1)
    assert inspection.surveyor == users.surveyor and inspection.status == "submitted"
    assert {c.code for c in inspection.categories.all()} == {"tank", "water"}
    photos = list(inspection.photos.all())
    assert len(photos) == 2
    assert str(photos[0].latitude) == "21.910000" and photos[0].taken_at is not None
    assert photos[1].latitude is None and photos[1].thumbnail.name.endswith("_thumb.jpg")

    entry = LedgerEntry.objects.get(toilet=register.t1)
    assert entry.state == "registered" and entry.usability == "unusable"
    assert {c.code for c in entry.categories.all()} == {"tank", "water"}
    assert LedgerLog.objects.filter(entry=entry).count() == 1


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"categories": None}, "categories", "至少选择一项问题类型"),
        ({"usability": "normal"}, "categories", "正常使用的厕所不选问题类型"),
        ({"signed": None}, None, "本人对摸排结果真实性负责"),
        ({"partner_name": ""}, "partner_name", "不少于 2 人"),
        ({"usability": "broken"}, "usability", "选择一个有效的选项"),
    ],
)
def test_a_bad_inspection_is_refused_inline_and_nothing_is_saved(
    as_user, users, register, survey, overrides, field, message
):
    response = as_user(users.surveyor).post(
        inspect_url(survey, register.t1), form_data(**overrides)
    )
    assert response.status_code == 200
    form = response.context["form"]
    errors = form.errors.get(field or "__all__", [])
    assert any(message in e for e in errors), form.errors
    assert message in response.content.decode()
    assert not Inspection.objects.exists()
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize(
    "upload,message",
    [(gif(), "只接受 JPEG"), (None, "不是可识别的照片文件")],
)
def test_a_bad_photo_refuses_the_whole_inspection(
    as_user, users, register, survey, upload, message
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = upload or SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")
    response = as_user(users.surveyor).post(
        inspect_url(survey, register.t1), form_data(photos=[upload])
    )
    assert any(message in e for e in response.context["form"].errors["photos"])
    assert not Inspection.objects.exists()


def test_a_photo_over_the_size_limit_is_refused(as_user, users, register, survey, settings):
    from surveys import choices

    old = choices.PHOTO_MAX_BYTES
    choices.PHOTO_MAX_BYTES = 1000
    try:
        import surveys.photos

        surveys.photos.PHOTO_MAX_BYTES = 1000
        response = as_user(users.surveyor).post(
            inspect_url(survey, register.t1), form_data(photos=[jpeg()])
        )
    finally:
        choices.PHOTO_MAX_BYTES = old
        surveys.photos.PHOTO_MAX_BYTES = old
    assert "超过" in response.context["form"].errors["photos"][0]
    assert not Inspection.objects.exists()


def test_a_surveyor_cannot_inspect_another_villages_toilet(as_user, users, register, survey, tree):
    neighbour = ToiletFactory(household=HouseholdFactory(village=tree.v2))
    client = as_user(users.surveyor)
    assert client.get(inspect_url(survey, neighbour)).status_code == 404
    assert client.post(inspect_url(survey, neighbour), form_data()).status_code == 404
    assert not Inspection.objects.exists()


@pytest.mark.parametrize("who", ["township", "county", "inspector"])
def test_only_surveyors_inspect(as_user, users, register, survey, who):
    client = as_user(getattr(users, who))
    assert client.post(inspect_url(survey, register.t1), form_data()).status_code == 403
    assert not Inspection.objects.exists()


def test_a_closed_round_takes_no_entries(as_user, users, register, survey):
    SurveyRound.objects.filter(pk=survey.pk).update(status="closed")
    response = as_user(users.surveyor).post(inspect_url(survey, register.t1), form_data())
    assert response.status_code == 200
    assert "本轮已结束，不能录入" in response.content.decode()
    assert not Inspection.objects.exists()


def test_a_demolished_toilet_cannot_be_inspected(as_user, users, register, survey):
    register.t1.status = "demolished"
    register.t1.save()
    response = as_user(users.surveyor).post(inspect_url(survey, register.t1), form_data())
    assert "已登记为拆除" in response.content.decode()


def save(actor, survey, toilet, usability="unusable", cats=("tank",), inspection=None):
    inspection = inspection or Inspection(round=survey, toilet=toilet)
    inspection.usability = usability
    inspection.check_method = "on_site"
    inspection.partner_name = "李四"
    inspection.inspected_at = timezone.now()
    inspection.signed = True
    return services.save_inspection(
        actor=actor,
        inspection=inspection,
        categories=categories(*cats) if usability != "normal" else [],
    )


def test_a_correction_updates_the_single_open_entry(users, register, survey):
    inspection = save(users.surveyor, survey, register.t1, cats=("tank",))
    save(users.surveyor, survey, register.t1, "not_year_round", ("frost",), inspection)
    entries = LedgerEntry.objects.filter(toilet=register.t1)
    assert entries.count() == 1
    assert entries[0].usability == "not_year_round"
    assert [c.code for c in entries[0].categories.all()] == ["frost"]
    assert entries[0].log.count() == 2


def test_a_correction_to_normal_withdraws_the_entry_it_opened(users, register, survey):
    inspection = save(users.surveyor, survey, register.t1)
    save(users.surveyor, survey, register.t1, "normal", (), inspection)
    entry = LedgerEntry.objects.get()
    assert entry.state == "withdrawn"
    assert not LedgerEntry.objects.open().exists()
    assert [log.to_state for log in entry.log.all()] == ["registered", "withdrawn"]
    # Corrected back to a problem: the withdrawn entry is registered again (one open entry).
    save(users.surveyor, survey, register.t1, "unusable", ("room",), inspection)
    assert LedgerEntry.objects.open().count() == 1


def test_an_entry_from_an_earlier_round_stays_open_when_the_recheck_finds_it_usable(
    users, register, tree, survey
):
    first = save(users.surveyor, survey, register.t1)
    SurveyRound.objects.filter(pk=survey.pk).update(status="closed")
    look_back = SurveyRoundFactory(county=tree.county, kind="look_back", previous=survey)
    save(users.surveyor, look_back, register.t1, "normal", ())
    entry = LedgerEntry.objects.get(toilet=register.t1)
    assert entry.state == "registered" and entry.opened_by_inspection == first
    assert "使用正常" in entry.log.last().note


def test_a_later_round_updates_the_open_entry_instead_of_opening_another(
    users, register, tree, survey
):
    save(users.surveyor, survey, register.t1)
    SurveyRound.objects.filter(pk=survey.pk).update(status="closed")
    look_back = SurveyRoundFactory(county=tree.county, kind="look_back", previous=survey)
    save(users.surveyor, look_back, register.t1, "unusable", ("room", "fixture"))
    assert LedgerEntry.objects.filter(toilet=register.t1).count() == 1


def test_two_surveyors_editing_at_once_the_second_gets_a_conflict(
    as_user, users, register, survey, client
):
    inspection = save(users.surveyor, survey, register.t1)
    second = UserFactory(username="surveyor_b", role=(Role.SURVEYOR, register.h1.village))
    client_a = as_user(users.surveyor)
    version = client_a.get(inspect_url(survey, register.t1)).context["form"]["version"].value()
    assert (
        client_a.post(
            inspect_url(survey, register.t1),
            form_data(version=version, notes="A", evidence_reason="农户不同意拍照"),
        ).status_code
        == 302
    )
    client.logout()
    client_b = as_user(second)
    response = client_b.post(
        inspect_url(survey, register.t1),
        form_data(version=version, notes="B", evidence_reason="农户不同意拍照"),
    )
    assert "已被他人修改" in response.content.decode()
    inspection.refresh_from_db()
    assert inspection.notes == "A"


def test_a_form_opened_before_someone_else_recorded_the_toilet_does_not_overwrite(
    as_user, users, register, survey
):
    client = as_user(users.surveyor)
    client.get(inspect_url(survey, register.t1))  # opened while nothing was recorded
    save(users.surveyor, survey, register.t1, cats=("tank",))
    response = client.post(inspect_url(survey, register.t1), form_data(categories=["room"]))
    assert "已有他人录入" in response.content.decode()
    assert [c.code for c in Inspection.objects.get().categories.all()] == ["tank"]


# Township verification --------------------------------------------------------------------


def test_township_verifies_and_the_record_is_then_final(as_user, users, register, survey):
    inspection = save(users.surveyor, survey, register.t1)
    client = as_user(users.township)
    client.post(reverse("surveys:verify", args=[inspection.pk]))
    inspection.refresh_from_db()
    assert inspection.status == "verified" and inspection.verified_by == users.township
    response = client.post(reverse("surveys:verify", args=[inspection.pk]), follow=True)
    assert "不能重复操作" in response.content.decode()
    client.logout()
    response = as_user(users.surveyor).post(
        inspect_url(survey, register.t1), form_data(version=inspection.version)
    )
    assert "已经乡镇核查" in response.content.decode()


def test_a_returned_inspection_tops_the_worklist_with_its_reason(
    as_user, users, register, survey, tree
):
    others = [ToiletFactory(household=HouseholdFactory(village=tree.v1)) for _ in range(2)]
    inspection = save(users.surveyor, survey, others[1])
    client = as_user(users.township)
    response = client.post(reverse("surveys:return", args=[inspection.pk]), {"reason": ""})
    inspection.refresh_from_db()
    assert inspection.status == "submitted"  # a reason is required
    client.post(reverse("surveys:return", args=[inspection.pk]), {"reason": "照片看不清粪池"})
    inspection.refresh_from_db()
    assert inspection.status == "returned"
    client.logout()
    page = as_user(users.surveyor).get(reverse("surveys:worklist"))
    rows = page.context["toilets"]
    assert rows[0].pk == others[1].pk and rows[0].return_reason == "照片看不清粪池"
    assert "照片看不清粪池" in page.content.decode()
    assert page.context["remaining"] == 2 and page.context["returned"] == 1
    # Correcting it sends it back to the township's queue.
    save(users.surveyor, survey, others[1], inspection=inspection)
    inspection.refresh_from_db()
    assert inspection.status == "submitted" and inspection.return_reason == ""
    assert response.status_code == 302


def test_a_surveyor_cannot_verify(as_user, users, register, survey):
    inspection = save(users.surveyor, survey, register.t1)
    as_user(users.surveyor).post(reverse("surveys:verify", args=[inspection.pk]))
    inspection.refresh_from_db()
    assert inspection.status == "submitted"


def test_another_townships_staff_cannot_reach_the_inspection(as_user, users, register, survey):
    inspection = save(users.surveyor, survey, register.t1)
    client = as_user(users.township_t2)
    assert client.post(reverse("surveys:verify", args=[inspection.pk])).status_code == 404
    url = reverse("surveys:inspection-detail", args=[inspection.pk])
    assert client.get(url).status_code == 404


def test_the_review_queue_lists_submitted_inspections_per_village(
    as_user, users, register, survey, tree
):
    save(users.surveyor, survey, register.t1)
    page = as_user(users.township).get(reverse("surveys:review", args=[survey.pk]))
    assert [i.toilet_id for i in page.context["queue"]] == [register.t1.pk]
    counts = {v.code: n for v, n in page.context["village_rows"]}
    assert counts == {tree.v1.code: 1, tree.v2.code: 0}
    page = as_user(users.township).get(
        reverse("surveys:review", args=[survey.pk]), {"village": tree.v2.code}
    )
    assert list(page.context["queue"]) == []


# Worklist, coverage -----------------------------------------------------------------------


def test_the_worklist_puts_unsurveyed_first_and_flags_open_problems_from_earlier_rounds(
    as_user, users, register, tree, survey
):
    done = ToiletFactory(household=HouseholdFactory(village=tree.v1))
    save(users.surveyor, survey, register.t1)  # a problem found in the first round
    save(users.surveyor, survey, done, "normal", ())
    SurveyRound.objects.filter(pk=survey.pk).update(status="closed")
    look_back = SurveyRoundFactory(
        county=tree.county, kind="look_back", previous=survey, opened_at=timezone.now()
    )
    fresh = ToiletFactory(household=HouseholdFactory(village=tree.v1))
    save(users.surveyor, look_back, done, "normal", ())
    page = as_user(users.surveyor).get(reverse("surveys:worklist"))
    rows = page.context["toilets"]
    assert [t.pk for t in rows] == [register.t1.pk, fresh.pk, done.pk]
    assert rows[0].recheck and not rows[1].recheck
    assert "上轮问题待复查" in page.content.decode()


def test_the_worklist_without_an_open_round_says_so(as_user, users, register):
    page = as_user(users.surveyor).get(reverse("surveys:worklist"))
    assert "没有进行中的摸排轮次" in page.content.decode()


@pytest.mark.parametrize("extra", [2, 12])
def test_worklist_query_count_is_pinned(
    as_user, users, tree, survey, django_assert_num_queries, extra
):
    for _ in range(extra):
        ToiletFactory(household=HouseholdFactory(village=tree.v1))
    client = as_user(users.surveyor)
    # session, user, role, open round, the groups with the round's counts (the page's count
    # too), its toilets with their status (tests/surveys/test_worklist.py pins the paged cases)
    with django_assert_num_queries(6):
        response = client.get(reverse("surveys:worklist"))
    assert len(response.context["toilets"]) == extra


def test_coverage_counts_registered_inspected_verified_and_lists_the_missing(
    as_user, users, register, tree, survey
):
    extra = ToiletFactory(household=HouseholdFactory(village=tree.v1))
    inspection = save(users.surveyor, survey, register.t1)
    services.verify_inspection(actor=users.township, inspection=inspection)
    page = as_user(users.county).get(reverse("surveys:coverage", args=[survey.pk]))
    assert page.context["total"]["registered"] == 3  # t1, extra, t3 (county A)
    assert page.context["total"]["inspected"] == 1
    assert page.context["total"]["verified"] == 1
    missing = as_user(users.county).get(reverse("surveys:coverage-missing", args=[survey.pk]))
    assert {t.pk for t in missing.context["object_list"]} == {extra.pk, register.t3.pk}
    missing = as_user(users.county).get(
        reverse("surveys:coverage-missing", args=[survey.pk]), {"village": tree.v4.code}
    )
    assert missing.status_code == 404


@pytest.mark.parametrize("villages_with_rows", [1, 3])
def test_coverage_query_count_is_pinned(
    as_user, users, tree, survey, django_assert_num_queries, villages_with_rows
):
    for village in [tree.v1, tree.v2, tree.v3][:villages_with_rows]:
        toilet = ToiletFactory(household=HouseholdFactory(village=village))
        InspectionFactory(round=survey, toilet=toilet, surveyor=users.surveyor)
    client = as_user(users.county)
    # session, user, role, round, villages, registered counts, inspection counts
    with django_assert_num_queries(7):
        client.get(reverse("surveys:coverage", args=[survey.pk]))


def test_progress_shows_each_surveyor(as_user, users, register, survey):
    save(users.surveyor, survey, register.t1)
    page = as_user(users.township).get(reverse("surveys:progress", args=[survey.pk]))
    surveyors = list(page.context["surveyors"])
    assert surveyors[0]["surveyor__username"] == "surveyor" and surveyors[0]["problems"] == 1


# The household page (一户一档) --------------------------------------------------------------


def test_the_household_page_shows_every_inspection_with_photos(as_user, users, register, survey):
    client = as_user(users.surveyor)
    client.post(inspect_url(survey, register.t1), form_data(photos=[jpeg()]))
    page = client.get(reverse("toilets:household-detail", args=[register.h1.pk]))
    body = page.content.decode()
    assert "2022年回头看" in body and "不能使用" in body and "粪池问题" in body
    photo = Inspection.objects.get().photos.get()
    assert reverse("surveys:photo", args=[photo.pk, "thumb"]) in body
    assert "问题台账" in body


# Scoping matrix for the round pages --------------------------------------------------------

ROUND_PAGES = ["round-detail", "review", "progress", "coverage", "coverage-missing"]


@pytest.mark.parametrize("name", ROUND_PAGES)
def test_round_pages_scoping(client, as_user, users, survey, name):
    url = reverse(f"surveys:{name}", args=[survey.pk])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert as_user(users.outsider).get(url).status_code == 404
    for who in ["surveyor", "township", "county", "inspector"]:
        assert as_user(getattr(users, who)).get(url).status_code == 200


def test_inspection_detail_scoping(client, as_user, users, register, survey):
    inspection = save(users.surveyor, survey, register.t1)
    url = reverse("surveys:inspection-detail", args=[inspection.pk])
    assert client.get(url).status_code == 302
    for who, status in [
        ("surveyor", 200),
        ("township", 200),
        ("county", 200),
        ("inspector", 200),
        ("surveyor_v2", 404),
        ("township_t2", 404),
        ("outsider", 404),
    ]:
        assert as_user(getattr(users, who)).get(url).status_code == status, who


def test_a_new_inspection_form_starts_at_now_and_at_home(as_user, users, register, survey):
    form = as_user(users.surveyor).get(inspect_url(survey, register.t1)).context["form"]
    assert form["inspected_at"].value()[:10] == timezone.localtime().strftime("%Y-%m-%d")
    assert form["household_present"].value() is True
    assert ("", "---------") not in list(form.fields["usability"].choices)


def test_verify_never_redirects_off_site(as_user, users, register, survey):
    inspection = save(users.surveyor, survey, register.t1)
    response = as_user(users.township).post(
        reverse("surveys:verify", args=[inspection.pk]), {"next": "/\\evil.example"}
    )
    assert response["Location"] == reverse("surveys:review", args=[survey.pk])


def test_surveyors_are_not_offered_spot_checks(as_user, users, survey):
    page = as_user(users.surveyor).get(reverse("surveys:round-detail", args=[survey.pk]))
    assert reverse("surveys:spotcheck-list", args=[survey.pk]) not in page.content.decode()
    page = as_user(users.county).get(reverse("surveys:round-detail", args=[survey.pk]))
    assert reverse("surveys:spotcheck-list", args=[survey.pk]) in page.content.decode()


def test_photos_are_served_only_within_the_scope(as_user, client, users, register, survey):
    as_user(users.surveyor).post(inspect_url(survey, register.t1), form_data(photos=[jpeg()]))
    photo = Inspection.objects.get().photos.get()
    url = reverse("surveys:photo", args=[photo.pk, "thumb"])
    response = as_user(users.township).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    assert as_user(users.township_t2).get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_a_stale_verify_is_refused(as_user, users, register, survey):
    inspection = save(users.surveyor, survey, register.t1)
    seen = inspection.version
    save(users.surveyor, survey, register.t1, "normal", (), inspection)
    response = as_user(users.township).post(
        reverse("surveys:verify", args=[inspection.pk]), {"version": seen}, follow=True
    )
    assert "刚刚修改" in response.content.decode()
    inspection.refresh_from_db()
    assert inspection.status == "submitted"


def test_returning_needs_an_open_round(users, register, survey):
    from django.core.exceptions import ValidationError

    inspection = save(users.surveyor, survey, register.t1)
    SurveyRound.objects.filter(pk=survey.pk).update(status="closed")
    inspection.refresh_from_db()
    with pytest.raises(ValidationError):
        services.return_inspection(actor=users.township, inspection=inspection, reason="缺照片")


def test_the_edit_log_names_who_saved_and_who_verified(users, register, survey):
    inspection = save(users.surveyor, survey, register.t1)
    services.verify_inspection(actor=users.township, inspection=inspection)
    users_in_log = [h.history_user.username for h in inspection.history.order_by("history_id")]
    assert users_in_log == ["surveyor", "township"]


def test_a_city_inspector_sees_only_the_rounds_county_in_coverage(as_user, register, tree, survey):
    city_inspector = UserFactory(username="city", role=(Role.INSPECTOR, tree.city))
    page = as_user(city_inspector).get(reverse("surveys:coverage", args=[survey.pk]))
    assert page.context["total"]["registered"] == 2  # county A's two toilets, not county B's
    assert "大垌" not in page.content.decode()


def test_the_household_timeline_shows_inspections_and_their_review(
    as_user, users, register, survey
):
    inspection = save(users.surveyor, survey, register.t1)
    services.return_inspection(actor=users.township, inspection=inspection, reason="照片模糊")
    page = as_user(users.surveyor).get(reverse("toilets:household-detail", args=[register.h1.pk]))
    whats = [e.what for e in page.context["timeline"]]
    assert whats[0] == "退回摸排记录（2022年回头看）：照片模糊"
    assert "录入摸排（2022年回头看：不能使用）" in whats


def test_coverage_never_exceeds_all_toilets(as_user, users, register, survey):
    save(users.surveyor, survey, register.t1)
    register.t1.status = "demolished"
    register.t1.save()
    total = (
        as_user(users.county).get(reverse("surveys:coverage", args=[survey.pk])).context["total"]
    )
    assert total["inspected"] <= total["registered"]


def test_a_correction_must_be_signed_again(as_user, users, register, survey):
    save(users.surveyor, survey, register.t1)
    form = as_user(users.surveyor).get(inspect_url(survey, register.t1)).context["form"]
    assert not form["signed"].value()
