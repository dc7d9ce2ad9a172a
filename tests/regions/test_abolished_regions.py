"""A village marked 已撤销 (by ``import_regions --complete`` or in the admin) takes no new
records; its existing records stay, and can be moved to a village in force.

The pages offer only ``Region.objects.current()``; the model validation
(``toilets.models._check_village``) refuses an abolished village for a new record or a move, so
the API, the services and a household's new toilet refuse it too.
"""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from regions.models import Region
from tests.factories import valid_id_number
from toilets.models import Household, Toilet
from toilets.services import save_household

pytestmark = pytest.mark.django_db


def household_form(village, **overrides):
    return {
        "village": village.pk,
        "group_name": "第二村民小组",
        "head_name": "陈春梅",
        "id_number": valid_id_number(701),
        "phone": "13977778888",
        "address": "",
        "occupancy": "resident",
        **overrides,
    }


def toilet_form(**overrides):
    return {
        "tech_type": "three_compartment",
        "flush_kind": "",
        "placement": "indoor",
        "build_year": "2019",
        "funding": "government",
        "lead_department": "",
        "latitude": "",
        "longitude": "",
        "status": "active",
        **overrides,
    }


def abolish(region):
    Region.objects.filter(pk=region.pk).update(abolished=True)
    region.refresh_from_db()


def test_current_leaves_out_abolished_regions(tree):
    abolish(tree.v2)
    assert tree.v2 not in Region.objects.current()
    assert set(Region.objects.current().villages().filter(parent=tree.t1)) == {tree.v1}


def test_the_household_page_refuses_an_abolished_village(as_user, users, tree):
    abolish(tree.v1)
    response = as_user(users.township).post(
        reverse("toilets:household-create"), household_form(tree.v1)
    )
    assert response.status_code == 200 and response.context["form"].errors["village"]
    assert not Household.objects.filter(village=tree.v1).exists()


def test_the_public_toilet_page_refuses_an_abolished_village(as_user, users, tree):
    abolish(tree.v1)
    response = as_user(users.township).post(
        reverse("toilets:public-toilet-create"), toilet_form(village=tree.v1.pk, name="村委公厕")
    )
    assert response.status_code == 200 and response.context["form"].errors["village"]
    assert not Toilet.objects.filter(village=tree.v1).exists()


def test_the_records_of_an_abolished_village_stay_and_can_be_moved(as_user, users, tree, register):
    abolish(tree.v1)
    household = Household.objects.get(pk=register.h1.pk)
    assert household.village == tree.v1 and household.toilets.get() == register.t1

    response = as_user(users.township).post(
        reverse("toilets:household-edit", args=[household.pk]),
        household_form(tree.v2, id_number=household.id_number, version=household.version),
    )
    assert response.status_code == 302
    household.refresh_from_db()
    assert household.village == tree.v2
    assert household.toilets.get().village == tree.v2  # the toilet moves with it


def test_the_api_refuses_an_abolished_village(api, users, tree):
    abolish(tree.v1)
    api.force_authenticate(users.township)
    payload = {
        "village": tree.v1.code,
        "head_name": "赵德明",
        "id_number": valid_id_number(555),
        "group_name": "第三村民小组",
        "occupancy": "resident",
    }
    response = api.post("/api/households/", payload, format="json")
    assert response.status_code == 400
    assert not Household.objects.filter(village=tree.v1).exists()


def test_the_service_refuses_a_new_household_on_an_abolished_village(users, tree):
    abolish(tree.v1)
    household = Household(
        village=tree.v1, head_name="陈春梅", id_number=valid_id_number(702), group_name="一组"
    )
    with pytest.raises(ValidationError):
        save_household(actor=users.township, household=household)


def test_a_household_in_an_abolished_village_gets_no_new_toilet(as_user, users, tree, register):
    abolish(tree.v1)
    response = as_user(users.township).post(
        reverse("toilets:household-toilet-create", args=[register.h1.pk]), toilet_form()
    )
    assert response.status_code == 200 and "已撤销" in response.content.decode()
    assert register.h1.toilets.count() == 1
