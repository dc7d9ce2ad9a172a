"""Error pages, the admin, region counts and the household timeline."""

import pytest
from django.urls import reverse

from regions.models import Region
from tests.factories import PASSWORD, ToiletFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_not_found_is_explained_in_chinese(as_user, users, register):
    response = as_user(users.surveyor).get(
        reverse("toilets:household-detail", args=[register.h4.pk])
    )
    assert response.status_code == 404
    assert "不在您的管辖范围内" in response.content.decode()


def test_forbidden_says_why_in_chinese(as_user, users, register):
    response = as_user(users.inspector).get(
        reverse("toilets:household-edit", args=[register.h1.pk])
    )
    assert response.status_code == 403
    assert "只能查看户厕台账" in response.content.decode()


@pytest.fixture
def superuser(db):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    return user


def test_the_admin_never_deletes_the_register(client, superuser, register):
    client.login(username="root", password=PASSWORD)
    url = reverse("admin:toilets_household_delete", args=[register.h1.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert register.h1.__class__.objects.filter(pk=register.h1.pk).exists()


def test_admin_edits_go_through_the_service(client, superuser, register):
    client.login(username="root", password=PASSWORD)
    url = reverse("admin:toilets_household_change", args=[register.h1.pk])
    h = register.h1
    data = {
        "village": h.village_id,
        "group_name": h.group_name,
        "head_name": "王建国（更正）",
        "id_number": h.id_number,
        "phone": h.phone,
        "address": "",
        "occupancy": "away",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    h.refresh_from_db()
    assert h.head_name == "王建国（更正）" and h.version == 2
    assert h.history.first().history_user == superuser


def test_region_pages_count_toilets_in_use(as_user, users, register, tree):
    ToiletFactory(household=register.h1, status="demolished")
    page = as_user(users.township).get(reverse("regions:detail", args=[tree.t1.code]))
    children = {c.code: c for c in page.context["children"]}
    assert children[tree.v1.code].toilet_count == 1
    assert page.context["toilet_total"] == 1


def test_abolished_villages_are_not_offered_for_new_households(as_user, users, tree):
    Region.objects.filter(pk=tree.v2.pk).update(abolished=True)
    form = as_user(users.township).get(reverse("toilets:household-create")).context["form"]
    assert list(form.fields["village"].queryset) == [tree.v1]


def test_the_household_timeline_merges_household_and_toilet_changes(as_user, users, register):
    from toilets.services import save_household, save_toilet

    household, toilet = register.h1, register.t1
    household.phone = "13900000009"
    save_household(actor=users.surveyor, household=household)
    toilet.build_year = 2020
    save_toilet(actor=users.township, toilet=toilet)
    page = as_user(users.surveyor).get(reverse("toilets:household-detail", args=[household.pk]))
    events = [e.what for e in page.context["timeline"]]
    assert events[0].startswith("修改了厕所") and "2020 年" in events[0]
    assert events[1] == "修改了农户信息"
    assert [e.who for e in page.context["timeline"][:2]] == ["township", "surveyor"]
