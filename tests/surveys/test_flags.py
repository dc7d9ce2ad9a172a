"""Office-made detection (疑似办公室摸排): each rule fires past its boundary and not at it,
reviewers clear flags for good, and the review page shows each user only its own region."""

import hashlib
import io
import math
import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from core.geo import EARTH_RADIUS_METRES, distance_metres
from surveys import services
from surveys.flags import clear_flag, refresh_flags
from surveys.models import FlagKind, Inspection, InspectionFlag, InspectionPhoto, ProblemCategory
from tests.factories import (
    HouseholdFactory,
    InspectionFactory,
    SurveyRoundFactory,
    ToiletFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# A point in 钦南区 and the latitude step that moves one metre north of it.
HOME = (Decimal("21.900000"), Decimal("108.600000"))
DEGREES_PER_METRE = 180 / (math.pi * EARTH_RADIUS_METRES)


def north_of(point, metres):
    return (point[0] + Decimal(f"{metres * DEGREES_PER_METRE:.6f}"), point[1])


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def survey(tree):
    return SurveyRoundFactory(county=tree.county, name="2022年回头看")


def toilet_in(village, position=None):
    toilet = ToiletFactory(household=HouseholdFactory(village=village))
    if position:
        toilet.latitude, toilet.longitude = position
        toilet.save()
    return toilet


def inspection(survey, surveyor, *, village=None, toilet=None, usability="normal", at=None):
    toilet = toilet or toilet_in(village)
    row = InspectionFactory(round=survey, toilet=toilet, surveyor=surveyor, usability=usability)
    if usability != "normal":
        row.categories.set(ProblemCategory.objects.filter(code="tank"))
    if at is not None:  # created_at is the server's clock: set it as the test needs
        Inspection.objects.filter(pk=row.pk).update(created_at=at)
        row.refresh_from_db()
    return row


def image_bytes(color=(120, 160, 90)):
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), color).save(buffer, "PNG")
    return buffer.getvalue()


def add_photo(inspection, *, color=(120, 160, 90), at=None):
    data = image_bytes(color)
    digest = hashlib.sha256(data).hexdigest()
    return InspectionPhoto.objects.create(
        inspection=inspection,
        image=ContentFile(data, name=f"{digest[:16]}.png"),
        thumbnail=ContentFile(data, name=f"{digest[:16]}_thumb.png"),
        sha256=digest,
        latitude=at[0] if at else None,
        longitude=at[1] if at else None,
        uploaded_by=inspection.surveyor,
    )


def kinds(inspection):
    return set(InspectionFlag.objects.filter(inspection=inspection).values_list("kind", flat=True))


def flag(inspection, kind):
    return InspectionFlag.objects.get(inspection=inspection, kind=kind)


def test_it_measures_distances_like_a_map():
    # One degree of latitude is about 111.2 km; Qinzhou to Nanning is about 100 km.
    assert round(distance_metres(21, 108, 22, 108)) == 111195
    assert 95_000 < distance_metres(21.95, 108.62, 22.82, 108.37) < 105_000
    assert round(distance_metres(*HOME, *north_of(HOME, 501))) == 501


# BURST ------------------------------------------------------------------------------------


def test_it_flags_three_saves_by_one_account_within_a_minute(tree, users, survey):
    start = timezone.now() - timedelta(hours=1)
    rows = [
        inspection(survey, users.surveyor, village=tree.v1, at=start + timedelta(seconds=s))
        for s in (0, 30, 60)
    ]
    refresh_flags(rows[-1])
    for row in rows:
        assert kinds(row) == {FlagKind.BURST}
    assert flag(rows[0], FlagKind.BURST).detail == "同一账号 60 秒内连续保存了 3 条摸排记录"


def test_it_does_not_flag_three_saves_spread_over_more_than_a_minute(tree, users, survey):
    start = timezone.now() - timedelta(hours=1)
    rows = [
        inspection(survey, users.surveyor, village=tree.v1, at=start + timedelta(seconds=s))
        for s in (0, 30, 61)
    ]
    for row in rows:
        refresh_flags(row)
    assert all(kinds(row) == set() for row in rows)


def test_it_does_not_flag_two_saves_within_a_minute(tree, users, survey):
    start = timezone.now() - timedelta(hours=1)
    rows = [
        inspection(survey, users.surveyor, village=tree.v1, at=start + timedelta(seconds=s))
        for s in (0, 10)
    ]
    refresh_flags(rows[-1])
    assert all(kinds(row) == set() for row in rows)


def test_it_does_not_count_other_accounts_saves_in_a_burst(tree, users, survey):
    start = timezone.now() - timedelta(hours=1)
    colleague = UserFactory(username="colleague")
    mine = inspection(survey, users.surveyor, village=tree.v1, at=start)
    inspection(survey, colleague, village=tree.v1, at=start + timedelta(seconds=5))
    inspection(survey, colleague, village=tree.v1, at=start + timedelta(seconds=10))
    refresh_flags(mine)
    assert kinds(mine) == set()


def test_it_flags_earlier_saves_when_a_later_one_completes_the_burst(tree, users, survey):
    start = timezone.now() - timedelta(hours=1)
    first = inspection(survey, users.surveyor, village=tree.v1, at=start)
    second = inspection(survey, users.surveyor, village=tree.v1, at=start + timedelta(seconds=20))
    refresh_flags(second)
    assert kinds(first) == set()
    third = inspection(survey, users.surveyor, village=tree.v1, at=start + timedelta(seconds=40))
    refresh_flags(third)
    assert kinds(first) == kinds(second) == kinds(third) == {FlagKind.BURST}


def test_a_long_burst_names_for_each_save_the_most_saves_in_one_minute(tree, users, survey):
    """An account saving every few seconds for minutes (as under load): after each save, every
    save's flag names the largest number of saves that fit one minute with it, counted here by
    hand over all of them; saves with too few neighbours have none."""
    rng = random.Random(16)
    start = timezone.now() - timedelta(hours=1)
    offsets, at = [], 0.0
    while at < 200:
        offsets.append(at)
        at += rng.choice([1, 2, 3, 4, 6, 10, 30])
    offsets += [400, 500, 520]  # alone, then two in a minute: no burst
    rows = []
    for offset in offsets:
        rows.append(
            inspection(
                survey, users.surveyor, village=tree.v1, at=start + timedelta(seconds=offset)
            )
        )
        refresh_flags(rows[-1])

    def by_hand(mine):
        return max(
            sum(1 for t in offsets if begin <= t <= begin + 60)
            for begin in offsets
            if mine - 60 <= begin <= mine
        )

    details = dict(
        InspectionFlag.objects.filter(kind=FlagKind.BURST).values_list("inspection_id", "detail")
    )
    counts = set()
    for row, offset in zip(rows, offsets, strict=True):
        members = by_hand(offset)
        counts.add(members)
        if members >= 3:
            assert details[row.pk] == f"同一账号 60 秒内连续保存了 {members} 条摸排记录"
        else:
            assert row.pk not in details
    # Different counts side by side: neighbours were rewritten as the burst grew.
    assert {1, 2} < counts and len(counts) >= 6


# REUSED_PHOTO -----------------------------------------------------------------------------


def test_it_flags_both_inspections_when_one_photo_shows_two_toilets(tree, users, survey):
    one = inspection(survey, users.surveyor, village=tree.v1)
    two = inspection(survey, users.surveyor, village=tree.v1)
    add_photo(one, color=(1, 2, 3))
    add_photo(two, color=(1, 2, 3))
    refresh_flags(two)
    assert kinds(one) == kinds(two) == {FlagKind.REUSED_PHOTO}
    assert flag(two, FlagKind.REUSED_PHOTO).detail == "该照片也用于本县另一厕所的摸排记录"
    assert flag(one, FlagKind.REUSED_PHOTO).detail == "该照片也用于本县另一厕所的摸排记录"


def test_it_does_not_flag_different_photos(tree, users, survey):
    one = inspection(survey, users.surveyor, village=tree.v1)
    two = inspection(survey, users.surveyor, village=tree.v1)
    add_photo(one, color=(1, 2, 3))
    add_photo(two, color=(1, 2, 4))
    refresh_flags(two)
    assert kinds(one) == kinds(two) == set()


def test_it_does_not_flag_the_same_photo_on_the_same_toilet_in_two_rounds(tree, users, survey):
    earlier = SurveyRoundFactory(county=tree.county, name="2021年摸排", status="closed")
    toilet = toilet_in(tree.v1)
    before = inspection(earlier, users.surveyor, toilet=toilet)
    now = inspection(survey, users.surveyor, toilet=toilet)
    add_photo(before, color=(9, 9, 9))
    add_photo(now, color=(9, 9, 9))
    refresh_flags(now)
    assert kinds(before) == kinds(now) == set()


# NO_PHOTO ---------------------------------------------------------------------------------


@pytest.mark.parametrize("usability", ["unusable", "not_year_round"])
def test_it_flags_a_problem_toilet_without_a_photo(tree, users, survey, usability):
    row = inspection(survey, users.surveyor, village=tree.v1, usability=usability)
    refresh_flags(row)
    assert kinds(row) == {FlagKind.NO_PHOTO}
    assert "没有现场照片" in flag(row, FlagKind.NO_PHOTO).detail


def test_it_does_not_flag_a_usable_toilet_without_a_photo(tree, users, survey):
    row = inspection(survey, users.surveyor, village=tree.v1, usability="normal")
    refresh_flags(row)
    assert kinds(row) == set()


def test_it_withdraws_the_no_photo_flag_once_a_photo_is_added(tree, users, survey):
    row = inspection(survey, users.surveyor, village=tree.v1, usability="unusable")
    refresh_flags(row)
    add_photo(row)
    refresh_flags(row)
    assert kinds(row) == set()


def test_it_flags_a_problem_saved_without_photo_through_the_inspection_service(
    tree, users, survey, register
):
    row = Inspection(
        round=survey,
        toilet=register.t1,
        partner_name="李四",
        inspected_at=timezone.now(),
        check_method="on_site",
        usability="unusable",
        signed=True,
    )
    services.save_inspection(
        actor=users.surveyor,
        inspection=row,
        categories=ProblemCategory.objects.filter(code="tank"),
    )
    assert kinds(row) == {FlagKind.NO_PHOTO}


# FAR_FROM_TOILET --------------------------------------------------------------------------


def test_it_flags_a_photo_taken_more_than_500_metres_from_the_toilet(tree, users, survey):
    row = inspection(survey, users.surveyor, toilet=toilet_in(tree.v1, HOME))
    add_photo(row, at=north_of(HOME, 501))
    refresh_flags(row)
    assert FlagKind.FAR_FROM_TOILET in kinds(row)
    assert flag(row, FlagKind.FAR_FROM_TOILET).detail == "照片位置距厕所登记位置 501 米"


def test_it_does_not_flag_a_photo_taken_within_500_metres_of_the_toilet(tree, users, survey):
    row = inspection(survey, users.surveyor, toilet=toilet_in(tree.v1, HOME))
    add_photo(row, at=north_of(HOME, 499))
    refresh_flags(row)
    assert kinds(row) == set()


def test_it_ignores_photos_without_gps(tree, users, survey):
    row = inspection(survey, users.surveyor, toilet=toilet_in(tree.v1, HOME))
    add_photo(row)
    refresh_flags(row)
    assert kinds(row) == set()


# FAR_FROM_VILLAGE -------------------------------------------------------------------------


def test_it_flags_a_photo_far_from_every_positioned_toilet_of_the_village(tree, users, survey):
    toilet_in(tree.v1, HOME)
    toilet_in(tree.v1, north_of(HOME, -300))
    toilet_in(tree.v2, north_of(HOME, 700))  # another village's toilet does not count
    row = inspection(survey, users.surveyor, village=tree.v1)  # no position of its own
    add_photo(row, at=north_of(HOME, 501))
    refresh_flags(row)
    assert kinds(row) == {FlagKind.FAR_FROM_VILLAGE}
    assert flag(row, FlagKind.FAR_FROM_VILLAGE).detail == (
        "照片位置距本村最近的已定位厕所 501 米（本村已定位厕所 2 个）"
    )


def test_it_does_not_flag_a_photo_within_500_metres_of_a_village_toilet(tree, users, survey):
    toilet_in(tree.v1, HOME)
    row = inspection(survey, users.surveyor, village=tree.v1)
    add_photo(row, at=north_of(HOME, 499))
    refresh_flags(row)
    assert kinds(row) == set()


def test_it_cannot_judge_a_village_without_any_positioned_toilet(tree, users, survey):
    row = inspection(survey, users.surveyor, village=tree.v1)
    add_photo(row, at=north_of(HOME, 5000))
    refresh_flags(row)
    assert kinds(row) == set()


def test_it_does_not_flag_a_photo_at_an_outlying_toilet_far_from_its_neighbours(
    tree, users, survey
):
    toilet_in(tree.v1, HOME)
    outlying = north_of(HOME, 2000)
    row = inspection(survey, users.surveyor, toilet=toilet_in(tree.v1, outlying))
    add_photo(row, at=north_of(outlying, 20))
    refresh_flags(row)
    assert kinds(row) == set()


def test_it_flags_a_photo_far_from_its_own_toilet_and_the_whole_village(tree, users, survey):
    row = inspection(survey, users.surveyor, toilet=toilet_in(tree.v1, HOME))
    add_photo(row, at=north_of(HOME, 2000))
    refresh_flags(row)
    assert kinds(row) == {FlagKind.FAR_FROM_TOILET, FlagKind.FAR_FROM_VILLAGE}


# Clearing ---------------------------------------------------------------------------------


def test_it_keeps_a_cleared_flag_through_later_refreshes(tree, users, survey):
    row = inspection(survey, users.surveyor, village=tree.v1, usability="unusable")
    refresh_flags(row)
    clear_flag(actor=users.township, flag=flag(row, FlagKind.NO_PHOTO), note="已电话核实农户")
    refresh_flags(row)
    add_photo(row)  # the condition no longer holds: the reviewer's word still stands
    refresh_flags(row)
    kept = flag(row, FlagKind.NO_PHOTO)
    assert kept.cleared_by == users.township
    assert kept.cleared_note == "已电话核实农户"


def test_it_lets_the_county_clear_a_flag(tree, users, survey):
    row = inspection(survey, users.surveyor, village=tree.v1, usability="unusable")
    refresh_flags(row)
    cleared = clear_flag(actor=users.county, flag=flag(row, FlagKind.NO_PHOTO), note="抽查属实")
    assert cleared.cleared_by == users.county


def test_it_requires_a_note_to_clear_a_flag(tree, users, survey):
    row = inspection(survey, users.surveyor, village=tree.v1, usability="unusable")
    refresh_flags(row)
    with pytest.raises(ValidationError):
        clear_flag(actor=users.township, flag=flag(row, FlagKind.NO_PHOTO), note="  ")
    assert flag(row, FlagKind.NO_PHOTO).cleared_by is None


@pytest.mark.parametrize("who", ["surveyor", "inspector", "township_t2", "outsider"])
def test_it_refuses_clearing_to_other_roles_and_regions(tree, users, survey, who):
    row = inspection(survey, users.surveyor, village=tree.v1, usability="unusable")
    refresh_flags(row)
    with pytest.raises(PermissionDenied):
        clear_flag(actor=getattr(users, who), flag=flag(row, FlagKind.NO_PHOTO), note="看过了")
    assert flag(row, FlagKind.NO_PHOTO).cleared_by is None


def test_it_refuses_to_clear_a_flag_twice(tree, users, survey):
    row = inspection(survey, users.surveyor, village=tree.v1, usability="unusable")
    refresh_flags(row)
    clear_flag(actor=users.township, flag=flag(row, FlagKind.NO_PHOTO), note="已核实")
    with pytest.raises(services.ConflictError):
        clear_flag(actor=users.county, flag=flag(row, FlagKind.NO_PHOTO), note="再次核实")
    assert flag(row, FlagKind.NO_PHOTO).cleared_by == users.township


# The review page --------------------------------------------------------------------------


@pytest.fixture
def flagged(tree, users, survey):
    """A flagged inspection in V1 (township T1) and one in V3 (township T2)."""
    v1 = inspection(survey, users.surveyor, village=tree.v1, usability="unusable")
    v3 = inspection(survey, users.surveyor, village=tree.v3, usability="unusable")
    refresh_flags(v1)
    refresh_flags(v3)
    return v1, v3


def flags_url(survey):
    return reverse("surveys:flags", args=[survey.pk])


def clear_url(inspection, kind=FlagKind.NO_PHOTO):
    return reverse("surveys:flag-clear", args=[flag(inspection, kind).pk])


def shown(response):
    return [i.pk for i in response.context["inspections"]]


def test_it_sends_anonymous_users_to_login_from_the_flag_pages(client, flagged, survey):
    for response in (client.get(flags_url(survey)), client.post(clear_url(flagged[0]))):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_it_answers_404_for_another_countys_round_flags(as_user, users, flagged, survey):
    assert as_user(users.outsider).get(flags_url(survey)).status_code == 404


@pytest.mark.parametrize("who", ["surveyor", "township", "county", "inspector"])
def test_it_shows_the_flag_page_to_every_role_in_scope(as_user, users, flagged, survey, who):
    response = as_user(getattr(users, who)).get(flags_url(survey))
    assert response.status_code == 200
    everything = {flagged[0].pk, flagged[1].pk}
    expected = {flagged[0].pk} if who in ("surveyor", "township") else everything
    assert set(shown(response)) == expected


def test_it_shows_a_township_only_its_own_villages_flags(as_user, users, flagged, survey):
    response = as_user(users.township_t2).get(flags_url(survey))
    assert shown(response) == [flagged[1].pk]
    response = as_user(users.county).get(flags_url(survey))
    assert set(shown(response)) == {flagged[0].pk, flagged[1].pk}
    assert "问题厕所（不能使用）没有现场照片" in response.content.decode()


def test_it_filters_flags_by_kind_and_village(as_user, users, flagged, survey, tree):
    add_photo(flagged[1], at=north_of(HOME, 100))
    toilet = flagged[1].toilet
    toilet.latitude, toilet.longitude = north_of(HOME, 2000)
    toilet.save()
    refresh_flags(flagged[1])
    client = as_user(users.county)
    response = client.get(flags_url(survey), {"kind": FlagKind.FAR_FROM_TOILET})
    assert shown(response) == [flagged[1].pk]
    response = client.get(flags_url(survey), {"village": tree.v1.code})
    assert shown(response) == [flagged[0].pk]


def test_it_lists_nothing_for_another_regions_village_filter(as_user, users, flagged, survey, tree):
    response = as_user(users.township).get(flags_url(survey), {"village": tree.v3.code})
    assert response.status_code == 200
    assert shown(response) == []
    assert response.context["form"].errors


def test_it_hides_cleared_flags_unless_asked(as_user, users, flagged, survey):
    clear_flag(actor=users.county, flag=flag(flagged[0], FlagKind.NO_PHOTO), note="已核实")
    client = as_user(users.county)
    assert shown(client.get(flags_url(survey))) == [flagged[1].pk]
    response = client.get(flags_url(survey), {"cleared": "on"})
    assert set(shown(response)) == {flagged[0].pk, flagged[1].pk}
    assert "已核实：county，已核实" in response.content.decode()


def test_it_clears_a_flag_from_the_page(as_user, users, flagged, survey):
    client = as_user(users.township)
    response = client.post(clear_url(flagged[0]), {"note": "已到现场复核"})
    assert response.status_code == 302
    assert response["Location"] == flags_url(survey)
    assert flag(flagged[0], FlagKind.NO_PHOTO).cleared_note == "已到现场复核"
    assert shown(client.get(flags_url(survey))) == []


def test_it_returns_to_the_filtered_page_after_clearing(as_user, users, flagged, survey, tree):
    back = f"{flags_url(survey)}?village={tree.v1.code}"
    response = as_user(users.township).post(clear_url(flagged[0]), {"note": "已核实", "next": back})
    assert response["Location"] == back
    response = as_user(users.township).post(
        clear_url(flagged[0]), {"note": "已核实", "next": "https://evil.example/"}
    )
    assert response["Location"] == flags_url(survey)


def test_it_explains_a_missing_note_on_the_page(as_user, users, flagged, survey):
    client = as_user(users.township)
    response = client.post(clear_url(flagged[0]), {"note": ""}, follow=True)
    assert "请填写核实说明" in response.content.decode()
    assert flag(flagged[0], FlagKind.NO_PHOTO).cleared_by is None


@pytest.mark.parametrize("who", ["township_t2", "outsider"])
def test_it_answers_404_to_clearing_another_regions_flag(as_user, users, flagged, who):
    response = as_user(getattr(users, who)).post(clear_url(flagged[0]), {"note": "越权"})
    assert response.status_code == 404
    assert flag(flagged[0], FlagKind.NO_PHOTO).cleared_by is None


@pytest.mark.parametrize("who", ["surveyor", "inspector"])
def test_it_answers_403_to_clearing_by_a_role_that_may_not(as_user, users, flagged, who):
    response = as_user(getattr(users, who)).post(clear_url(flagged[0]), {"note": "自己核实"})
    assert response.status_code == 403
    assert flag(flagged[0], FlagKind.NO_PHOTO).cleared_by is None


def test_it_only_clears_by_post(as_user, users, flagged):
    assert as_user(users.township).get(clear_url(flagged[0])).status_code == 405


# session, user, role assignment, round, count, page rows, their flags, village choices.
FLAG_PAGE_QUERIES = 8


@pytest.mark.parametrize("rows", [2, 12])
def test_flag_page_query_count_is_pinned(
    as_user, users, tree, survey, django_assert_num_queries, rows
):
    for n in range(rows):
        row = inspection(survey, users.surveyor, village=tree.v1 if n % 2 else tree.v2)
        InspectionFlag.objects.create(inspection=row, kind=FlagKind.BURST, detail="测试")
        InspectionFlag.objects.create(inspection=row, kind=FlagKind.NO_PHOTO, detail="测试")
    client = as_user(users.township)
    with django_assert_num_queries(FLAG_PAGE_QUERIES):
        response = client.get(flags_url(survey))
    assert len(response.context["inspections"]) == rows
