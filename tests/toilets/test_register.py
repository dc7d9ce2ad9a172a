"""Registering and editing households and toilets through the pages: every bad input is
refused on its field with a Chinese message, and nothing is half-saved."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import HouseholdFactory, valid_id_number
from toilets.models import Household, Toilet

pytestmark = pytest.mark.django_db


def household_form(village, **overrides):
    data = {
        "village": village.pk,
        "group_name": "第二村民小组",
        "head_name": "陈春梅",
        "id_number": valid_id_number(701),
        "phone": "13977778888",
        "address": "沙埠村 18 号",
        "occupancy": "resident",
    }
    data.update(overrides)
    return data


def toilet_form(**overrides):
    data = {
        "tech_type": "three_compartment",
        "flush_kind": "",
        "placement": "indoor",
        "build_year": "2019",
        "funding": "government",
        "lead_department": "",
        "latitude": "21.901234",
        "longitude": "108.612345",
        "status": "active",
    }
    data.update(overrides)
    return data


def field_errors(response, field):
    return response.context["form"].errors.get(field, [])


def test_a_surveyor_registers_a_household_and_sees_its_page(as_user, users, tree):
    client = as_user(users.surveyor)
    response = client.post(reverse("toilets:household-create"), household_form(tree.v1))
    household = Household.objects.get(head_name="陈春梅")
    assert response.status_code == 302
    assert response["Location"] == reverse("toilets:household-detail", args=[household.pk])
    page = client.get(response["Location"]).content.decode()
    assert "陈春梅" in page and household.id_number in page
    assert "登记了农户信息" in page  # the edit log names who did it
    assert household.history.first().history_user == users.surveyor


def test_the_surveyors_village_is_preselected(as_user, users, tree):
    form = as_user(users.surveyor).get(reverse("toilets:household-create")).context["form"]
    assert form["village"].value() == tree.v1.pk
    assert list(form.fields["village"].queryset) == [tree.v1]


def test_a_wrong_check_digit_is_refused_on_the_field(as_user, users, tree):
    good = valid_id_number(702)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    response = as_user(users.surveyor).post(
        reverse("toilets:household-create"), household_form(tree.v1, id_number=bad)
    )
    assert response.status_code == 200
    assert "校验位" in field_errors(response, "id_number")[0]
    assert "校验位" in response.content.decode()
    assert not Household.objects.filter(head_name="陈春梅").exists()


def test_a_duplicate_id_number_within_the_county_is_refused(as_user, users, tree, register):
    response = as_user(users.township).post(
        reverse("toilets:household-create"),
        household_form(tree.v2, id_number=register.h1.id_number),
    )
    message = field_errors(response, "id_number")[0]
    assert "同一户不能重复登记" in message and tree.v1.name in message  # the user's own village
    assert Household.objects.filter(id_number=register.h1.id_number).count() == 1


def test_the_same_id_number_may_exist_in_another_county(tree, register):
    other = Household(village=tree.v4, head_name="某", id_number=register.h1.id_number)
    other.full_clean()  # no error: uniqueness is per county
    other.save()
    assert Household.objects.filter(id_number=register.h1.id_number).count() == 2


def test_the_database_refuses_a_duplicate_id_in_the_county(tree, register):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Household.objects.create(village=tree.v2, head_name="某", id_number=register.h1.id_number)


def test_a_household_in_a_region_that_is_not_a_village_is_refused(tree):
    household = Household(village=tree.t1, head_name="某", id_number=valid_id_number(703))
    with pytest.raises(ValidationError) as exc:
        household.full_clean()
    assert "只能选择行政村" in exc.value.message_dict["village"][0]


def test_the_form_offers_no_township_and_refuses_one(as_user, users, tree):
    response = as_user(users.township).post(
        reverse("toilets:household-create"), household_form(tree.t1)
    )
    assert field_errors(response, "village")
    assert not Household.objects.filter(head_name="陈春梅").exists()


def test_a_surveyor_cannot_register_into_a_neighbouring_village(as_user, users, tree):
    response = as_user(users.surveyor).post(
        reverse("toilets:household-create"), household_form(tree.v2)
    )
    assert field_errors(response, "village")
    assert not Household.objects.filter(head_name="陈春梅").exists()


def test_a_bad_phone_is_refused(as_user, users, tree):
    response = as_user(users.surveyor).post(
        reverse("toilets:household-create"), household_form(tree.v1, phone="12345")
    )
    assert "联系电话" in field_errors(response, "phone")[0]


def test_a_toilet_is_registered_with_derived_type_and_department(as_user, users, register):
    client = as_user(users.surveyor)
    url = reverse("toilets:household-toilet-create", args=[register.h1.pk])
    response = client.post(url, toilet_form(build_year="2014"))
    assert response.status_code == 302
    toilet = register.h1.toilets.order_by("-id").first()
    assert toilet.flush_kind == "flush"
    assert toilet.lead_department == "health"
    assert toilet.village == register.h1.village


@pytest.mark.parametrize(
    "year,message", [("2999", "不能晚于今年"), ("1949", "不能早于 1950"), ("abc", "整数")]
)
def test_an_impossible_build_year_is_refused(as_user, users, register, year, message):
    url = reverse("toilets:household-toilet-create", args=[register.h1.pk])
    response = as_user(users.surveyor).post(url, toilet_form(build_year=year))
    assert response.status_code == 200
    assert message in field_errors(response, "build_year")[0]
    assert register.h1.toilets.count() == 1


def test_a_dry_only_type_cannot_be_recorded_as_flush(as_user, users, register):
    url = reverse("toilets:household-toilet-create", args=[register.h1.pk])
    response = as_user(users.surveyor).post(
        url, toilet_form(tech_type="double_pit", flush_kind="flush")
    )
    assert "只能是旱厕" in field_errors(response, "flush_kind")[0]


def test_an_unsettled_type_must_record_flush_or_dry(as_user, users, register):
    url = reverse("toilets:household-toilet-create", args=[register.h1.pk])
    response = as_user(users.surveyor).post(url, toilet_form(tech_type="other_sanitary"))
    assert "须注明" in field_errors(response, "flush_kind")[0]


def test_swapped_coordinates_are_refused(as_user, users, register):
    url = reverse("toilets:household-toilet-create", args=[register.h1.pk])
    response = as_user(users.surveyor).post(
        url, toilet_form(latitude="108.612345", longitude="21.901234")
    )
    assert "纬度不在我国范围内" in field_errors(response, "latitude")[0]


def test_a_public_toilet_needs_a_name_and_a_village(as_user, users, tree):
    client = as_user(users.surveyor)
    response = client.post(reverse("toilets:public-toilet-create"), toilet_form())
    assert field_errors(response, "name") and field_errors(response, "village")
    response = client.post(
        reverse("toilets:public-toilet-create"),
        toilet_form(name="沙埠村委公厕", village=tree.v1.pk),
    )
    assert response.status_code == 302
    toilet = Toilet.objects.get(name="沙埠村委公厕")
    assert toilet.household is None and toilet.kind == "public"


def test_a_concurrent_edit_is_refused_not_overwritten(as_user, users, register):
    client = as_user(users.surveyor)
    url = reverse("toilets:household-edit", args=[register.h1.pk])
    loaded_version = client.get(url).context["form"]["version"].value()
    data = household_form(register.h1.village, id_number=register.h1.id_number)
    first = client.post(url, {**data, "phone": "13900000001", "version": loaded_version})
    assert first.status_code == 302
    second = client.post(url, {**data, "phone": "13900000002", "version": loaded_version})
    assert second.status_code == 200
    assert "已被他人修改" in second.content.decode()
    register.h1.refresh_from_db()
    assert register.h1.phone == "13900000001"
    assert register.h1.version == 2


def test_editing_a_toilet_bumps_its_version_and_logs_it(as_user, users, register):
    client = as_user(users.township)
    url = reverse("toilets:toilet-edit", args=[register.t1.pk])
    version = client.get(url).context["form"]["version"].value()
    response = client.post(url, toilet_form(status="demolished", version=version))
    assert response.status_code == 302
    register.t1.refresh_from_db()
    assert register.t1.status == "demolished" and register.t1.version == version + 1
    page = client.get(reverse("toilets:toilet-detail", args=[register.t1.pk])).content.decode()
    assert "已拆除" in page and "township" in page


def test_moving_a_household_moves_its_toilets(as_user, users, register, tree):
    client = as_user(users.township)
    url = reverse("toilets:household-edit", args=[register.h1.pk])
    data = household_form(tree.v2, id_number=register.h1.id_number, version=1)
    assert client.post(url, data).status_code == 302
    register.t1.refresh_from_db()
    assert register.t1.village == tree.v2


def test_search_finds_by_name_id_phone_village_and_group(as_user, users, tree):
    HouseholdFactory(village=tree.v1, head_name="罗玉兰", phone="13600001234", group_name="第五组")
    HouseholdFactory(village=tree.v2, head_name="萧家宝", phone="13700004321", group_name="第六组")
    client = as_user(users.township)
    url = reverse("toilets:household-list")

    def names(q):
        return {h.head_name for h in client.get(url, {"q": q}).context["object_list"]}

    assert names("罗玉") == {"罗玉兰"}
    assert names("13700004321") == {"萧家宝"}
    assert names("东风") == {"萧家宝"}
    assert names("第五组") == {"罗玉兰"}
    target = Household.objects.get(head_name="萧家宝").id_number
    assert names(target) == {"萧家宝"}
    assert names(target[-6:].lower()) == {"萧家宝"}


def test_the_list_is_paginated(as_user, users, tree):
    HouseholdFactory.create_batch(45, village=tree.v1)
    client = as_user(users.surveyor)
    first = client.get(reverse("toilets:household-list"))
    assert len(first.context["object_list"]) == 20
    assert "第 1 / 3 页" in first.content.decode()
    third = client.get(reverse("toilets:household-list"), {"page": 3})
    assert len(third.context["object_list"]) == 5


# One tap from 摸排 -------------------------------------------------------------------------------


def test_a_new_toilet_lands_one_tap_from_its_inspection(as_user, users, register, tree):
    from tests.factories import SurveyRoundFactory

    survey = SurveyRoundFactory(county=tree.county, name="2023年摸排")
    client = as_user(users.surveyor)
    url = reverse("toilets:household-toilet-create", args=[register.h1.pk])
    response = client.post(url, toilet_form(), follow=True)
    toilet = register.h1.toilets.order_by("-id").first()
    assert response.redirect_chain[-1][0] == (
        reverse("toilets:household-detail", args=[register.h1.pk]) + f"?new={toilet.pk}"
    )
    html = response.content.decode()
    inspect = reverse("surveys:inspect", args=[survey.pk, toilet.pk])
    assert response.context["new_toilet"] == toilet
    assert f'<a class="button primary" href="{inspect}">现在摸排</a>' in html
    # Every toilet of the household has its 摸排 link to the open round's inspection.
    assert reverse("surveys:inspect", args=[survey.pk, register.t1.pk]) in html

    # A public toilet lands on its page, with 现在摸排 on it.
    response = client.post(
        reverse("toilets:public-toilet-create"),
        toilet_form(name="沙埠村委公厕", village=tree.v1.pk),
        follow=True,
    )
    public = Toilet.objects.get(name="沙埠村委公厕")
    inspect = reverse("surveys:inspect", args=[survey.pk, public.pk])
    assert f'href="{inspect}">现在摸排</a>' in response.content.decode()


def test_the_inspect_links_follow_the_inspection_and_the_role(as_user, users, register, tree):
    from tests.factories import InspectionFactory, SurveyRoundFactory

    survey = SurveyRoundFactory(county=tree.county)
    household_page = reverse("toilets:household-detail", args=[register.h1.pk])
    toilet_page = reverse("toilets:toilet-detail", args=[register.t1.pk])
    inspect = reverse("surveys:inspect", args=[survey.pk, register.t1.pk])
    client = as_user(users.surveyor)
    inspection = InspectionFactory(round=survey, toilet=register.t1, status="returned")
    for page in (household_page, toilet_page):
        assert f'href="{inspect}">修改摸排（被退回）</a>' in client.get(page).content.decode()
    inspection.status = "verified"
    inspection.save()
    detail = reverse("surveys:inspection-detail", args=[inspection.pk])
    for page in (household_page, toilet_page):
        html = client.get(page).content.decode()
        assert f'href="{detail}">查看摸排</a>' in html and inspect not in html
    # Who may not inspect gets no 摸排 link; nor does anybody without an open round.
    client.logout()
    township = as_user(users.township)
    for page in (household_page, toilet_page):
        assert "inspect-link" not in township.get(page).content.decode()
    survey.status = "closed"
    survey.save()
    client = as_user(users.surveyor)
    for page in (household_page, toilet_page):
        assert "inspect-link" not in client.get(page).content.decode()


def test_list_pages_offer_only_the_region_filters_the_role_can_use(as_user, users, register, tree):
    def selects(user, params=None):
        html = as_user(user).get(reverse("toilets:toilet-list"), params).content.decode()
        return {name for name in ("township", "village") if f'<select name="{name}"' in html}, html

    assert selects(users.surveyor)[0] == set()
    assert selects(users.township)[0] == {"village"}
    assert selects(users.county)[0] == {"township", "village"}
    # A region in the link is kept (as a hidden value) when its filter is not offered, and the
    # folded filters stay folded for it.
    _, html = selects(users.surveyor, {"village": tree.v1.code})
    assert f'<input type="hidden" name="village" value="{tree.v1.code}">' in html
    assert '<details class="more">' in html
    assert '<span id="list" class="list-anchor"></span>' in html
    _, html = selects(users.county, {"tech_type": "double_pit"})
    assert '<details class="more" open>' in html
