"""ID and phone numbers appear in full only to the household's own surveyor and township."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

pytestmark = pytest.mark.django_db

FULL_ROLES = ["surveyor", "township"]
MASKED_ROLES = ["county", "inspector"]


def masked(value):
    return value[:6] + "********" + value[-4:]


@pytest.mark.parametrize("who", FULL_ROLES)
def test_own_surveyor_and_township_see_full_numbers(as_user, users, register, who):
    client = as_user(getattr(users, who))
    page = client.get(reverse("toilets:household-detail", args=[register.h1.pk])).content.decode()
    assert register.h1.id_number in page
    assert "13812345678" in page


@pytest.mark.parametrize("who", MASKED_ROLES)
def test_county_and_inspector_see_masked_numbers_everywhere(as_user, api, users, register, who):
    user = getattr(users, who)
    client = as_user(user)
    full_id = register.h1.id_number
    for url in [
        reverse("toilets:household-detail", args=[register.h1.pk]),
        reverse("toilets:household-list"),
    ]:
        page = client.get(url).content.decode()
        assert full_id not in page and "13812345678" not in page
        assert masked(full_id) in page and "138****5678" in page

    sheet = load_workbook(
        io.BytesIO(client.get(reverse("toilets:household-export")).content)
    ).active
    cells = {str(c) for row in sheet.iter_rows(values_only=True) for c in row}
    assert full_id not in cells and masked(full_id) in cells and "138****5678" in cells

    api.force_authenticate(user)
    data = api.get(f"/api/households/{register.h1.pk}/").json()
    assert data["id_number"] == masked(full_id)
    assert data["phone"] == "138****5678"


def test_the_api_gives_full_numbers_to_the_surveyor(api, users, register):
    api.force_authenticate(users.surveyor)
    data = api.get(f"/api/households/{register.h1.pk}/").json()
    assert data["id_number"] == register.h1.id_number
    assert data["phone"] == "13812345678"


def test_export_escapes_text_that_would_run_as_a_formula(as_user, users, tree):
    from tests.factories import HouseholdFactory

    HouseholdFactory(village=tree.v1, head_name="=HYPERLINK(1)", address="+1+2")
    sheet = load_workbook(
        io.BytesIO(as_user(users.surveyor).get(reverse("toilets:household-export")).content)
    ).active
    values = [c for row in sheet.iter_rows(values_only=True) for c in row]
    assert "'=HYPERLINK(1)" in values and "'+1+2" in values
    assert "=HYPERLINK(1)" not in values


def test_masked_roles_find_a_household_by_its_whole_number_only(as_user, users, register):
    client = as_user(users.county)
    url = reverse("toilets:household-list")

    def names(q):
        return {h.head_name for h in client.get(url, {"q": q}).context["object_list"]}

    full = register.h1.id_number
    assert names(full) == {"王建国"}
    assert names("13812345678") == {"王建国"}
    assert names(full[6:14]) == set()  # the hidden birth date digits
    assert names("1234567") == set()


def test_own_township_finds_by_part_of_a_number(as_user, users, register):
    client = as_user(users.township)
    response = client.get(reverse("toilets:household-list"), {"q": "12345678"})
    assert {h.head_name for h in response.context["object_list"]} == {"王建国"}
