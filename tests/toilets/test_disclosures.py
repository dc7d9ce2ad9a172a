"""A duplicate ID number never discloses what lies outside the editor's scope: registered in
a village the user sees, the refusal names it; anywhere else it says only that the number is
registered in another village (no name, no village, no count), on the page and in the API."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import HouseholdFactory, valid_id_number
from toilets.models import DUPLICATE_ID_ELSEWHERE, Household
from toilets.services import save_household

pytestmark = pytest.mark.django_db

NEUTRAL = "该身份证号已在其他村登记，请联系县级管理员核实"


def form_data(village, id_number):
    return {
        "village": village.pk,
        "group_name": "第二村民小组",
        "head_name": "陈春梅",
        "id_number": id_number,
        "phone": "13977778888",
        "address": "",
        "occupancy": "resident",
    }


def page_errors(response):
    assert response.status_code == 200
    return response.context["form"].errors.get("id_number", [])


def test_the_neutral_message_is_the_one_asked_for():
    assert DUPLICATE_ID_ELSEWHERE == NEUTRAL


def test_the_page_says_nothing_about_another_townships_household(as_user, users, tree, register):
    response = as_user(users.township).post(
        reverse("toilets:household-create"), form_data(tree.v1, register.h3.id_number)
    )
    assert page_errors(response) == [NEUTRAL]
    body = response.content.decode()
    assert NEUTRAL in body
    for secret in (register.h3.head_name, tree.v3.name, tree.t2.name, tree.v3.code):
        assert secret not in body
    assert Household.objects.filter(id_number=register.h3.id_number).count() == 1


def test_editing_into_another_townships_id_number_is_neutral_too(as_user, users, tree, register):
    data = form_data(tree.v1, register.h3.id_number)
    data.update(head_name=register.h1.head_name, version=register.h1.version)
    response = as_user(users.township).post(
        reverse("toilets:household-edit", args=[register.h1.pk]), data
    )
    assert page_errors(response) == [NEUTRAL]
    assert register.h3.head_name not in response.content.decode()


def test_the_page_names_the_users_own_village(as_user, users, tree, register):
    response = as_user(users.township).post(
        reverse("toilets:household-create"), form_data(tree.v2, register.h1.id_number)
    )
    (message,) = page_errors(response)
    assert message != NEUTRAL
    assert tree.v1.name in message and register.h1.head_name in message
    assert "同一户不能重复登记" in message


def test_a_surveyor_of_the_neighbouring_village_gets_the_neutral_message(
    as_user, users, tree, register
):
    response = as_user(users.surveyor_v2).post(
        reverse("toilets:household-create"), form_data(tree.v2, register.h1.id_number)
    )
    assert page_errors(response) == [NEUTRAL]
    assert register.h1.head_name not in response.content.decode()


def test_the_api_says_nothing_about_another_townships_household(api, users, tree, register):
    api.force_authenticate(users.township)
    payload = {
        "village": tree.v1.code,
        "head_name": "赵德明",
        "id_number": register.h3.id_number,
        "occupancy": "resident",
    }
    response = api.post("/api/households/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["id_number"] == [NEUTRAL]
    body = response.content.decode()
    for secret in (register.h3.head_name, tree.v3.name, tree.t2.name, tree.v3.code):
        assert secret not in body


def test_the_api_edit_says_nothing_either(api, users, tree, register):
    api.force_authenticate(users.township)
    response = api.patch(
        f"/api/households/{register.h1.pk}/", {"id_number": register.h3.id_number}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["id_number"] == [NEUTRAL]


def test_the_service_describes_a_clash_only_as_far_as_the_actor_sees(users, tree, register):
    with pytest.raises(ValidationError) as refused:
        save_household(
            actor=users.township,
            household=Household(village=tree.v1, head_name="某", id_number=register.h3.id_number),
        )
    assert refused.value.message_dict["id_number"] == [NEUTRAL]
    with pytest.raises(ValidationError) as refused:
        save_household(
            actor=users.township,
            household=Household(village=tree.v2, head_name="某", id_number=register.h1.id_number),
        )
    (message,) = refused.value.message_dict["id_number"]
    assert tree.v1.name in message


def test_a_model_check_without_a_viewer_is_neutral(tree, register):
    household = Household(village=tree.v1, head_name="某", id_number=register.h1.id_number)
    with pytest.raises(ValidationError) as refused:
        household.full_clean()
    assert refused.value.message_dict["id_number"] == [NEUTRAL]


def test_a_concurrent_registration_elsewhere_is_neutral(users, tree, monkeypatch):
    """The database's constraint catches the race the model check missed: same message."""
    number = valid_id_number(881)
    HouseholdFactory(village=tree.v3, head_name="秘密户主", id_number=number)
    monkeypatch.setattr(Household, "clean", lambda self: None)  # the race: check passed
    with pytest.raises(ValidationError) as refused:
        save_household(
            actor=users.township,
            household=Household(village=tree.v1, head_name="某", id_number=number),
        )
    assert refused.value.message_dict["id_number"] == [NEUTRAL]
