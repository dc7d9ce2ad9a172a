"""The scoping matrix for every page: anonymous → login, other region → 404,
own region → 200, wrong role for a write → 403."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

pytestmark = pytest.mark.django_db

# (name, url builder) for pages that show one object of the register.
OBJECT_PAGES = [
    ("household-detail", lambda r: reverse("toilets:household-detail", args=[r.h1.pk])),
    ("toilet-detail", lambda r: reverse("toilets:toilet-detail", args=[r.t1.pk])),
]
OBJECT_WRITE_PAGES = [
    ("household-edit", lambda r: reverse("toilets:household-edit", args=[r.h1.pk])),
    ("toilet-edit", lambda r: reverse("toilets:toilet-edit", args=[r.t1.pk])),
    (
        "household-toilet-create",
        lambda r: reverse("toilets:household-toilet-create", args=[r.h1.pk]),
    ),
]
CREATE_PAGES = ["toilets:household-create", "toilets:public-toilet-create"]
LIST_PAGES = ["home", "toilets:household-list", "toilets:toilet-list", "regions:root"]


@pytest.mark.parametrize("name", LIST_PAGES + CREATE_PAGES)
def test_it_sends_anonymous_users_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("_name,url", OBJECT_PAGES + OBJECT_WRITE_PAGES)
def test_it_sends_anonymous_users_to_login_for_objects(client, register, _name, url):
    response = client.get(url(register))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("_name,url", OBJECT_PAGES + OBJECT_WRITE_PAGES)
@pytest.mark.parametrize("who", ["surveyor_v2", "township_t2", "outsider"])
def test_it_answers_404_for_another_regions_object(as_user, users, register, _name, url, who):
    response = as_user(getattr(users, who)).get(url(register))
    assert response.status_code == 404


@pytest.mark.parametrize("_name,url", OBJECT_PAGES)
@pytest.mark.parametrize("who", ["surveyor", "township", "county", "inspector"])
def test_it_shows_own_regions_object(as_user, users, register, _name, url, who):
    assert as_user(getattr(users, who)).get(url(register)).status_code == 200


@pytest.mark.parametrize("_name,url", OBJECT_WRITE_PAGES)
@pytest.mark.parametrize("who", ["surveyor", "township"])
def test_it_opens_write_forms_for_roles_that_keep_the_register(
    as_user, users, register, _name, url, who
):
    assert as_user(getattr(users, who)).get(url(register)).status_code == 200


@pytest.mark.parametrize("_name,url", OBJECT_WRITE_PAGES)
@pytest.mark.parametrize("who", ["county", "inspector"])
def test_it_refuses_writes_to_read_only_roles(as_user, users, register, _name, url, who):
    client = as_user(getattr(users, who))
    assert client.get(url(register)).status_code == 403
    assert client.post(url(register), {"head_name": "篡改"}).status_code == 403
    register.h1.refresh_from_db()
    assert register.h1.head_name == "王建国"


@pytest.mark.parametrize("name", CREATE_PAGES)
def test_it_refuses_create_pages_to_read_only_roles(as_user, users, name):
    assert as_user(users.inspector).get(reverse(name)).status_code == 403
    assert as_user(users.county).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", CREATE_PAGES)
def test_it_opens_create_pages_for_surveyors(as_user, users, name):
    assert as_user(users.surveyor).get(reverse(name)).status_code == 200


@pytest.mark.parametrize(
    "who,visible,hidden",
    [
        ("surveyor", {"王建国"}, {"李秀英", "张志强"}),
        ("township", {"王建国"}, {"李秀英", "张志强"}),
        ("township_t2", {"李秀英"}, {"王建国", "张志强"}),
        ("county", {"王建国", "李秀英"}, {"张志强"}),
        ("inspector", {"王建国", "李秀英"}, {"张志强"}),
        ("outsider", {"张志强"}, {"王建国", "李秀英"}),
    ],
)
def test_household_list_shows_exactly_the_own_subtree(
    as_user, users, register, who, visible, hidden
):
    client = as_user(getattr(users, who))
    page = client.get(reverse("toilets:household-list")).content.decode()
    toilets_page = client.get(reverse("toilets:toilet-list")).content.decode()
    for name in visible:
        assert name in page
        assert name in toilets_page
    for name in hidden:
        assert name not in page
        assert name not in toilets_page


def test_filtering_by_another_regions_village_shows_nothing(as_user, users, register, tree):
    client = as_user(users.surveyor)
    page = client.get(reverse("toilets:household-list"), {"village": tree.v4.code})
    assert "张志强" not in page.content.decode()
    assert "王建国" not in page.content.decode()


def _export_names(client, **params):
    response = client.get(reverse("toilets:household-export"), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    return rows[0], {row[4] for row in rows[1:]}


def test_export_contains_only_the_own_subtree(as_user, users, register, tree):
    header, names = _export_names(as_user(users.county))
    assert header[4] == "户主" and header[5] == "身份证号"
    assert names == {"王建国", "李秀英"}
    response = as_user(users.outsider).get(
        reverse("toilets:household-export"), {"village": tree.v1.code}
    )
    assert response.status_code == 404


def test_export_requires_login(client):
    response = client.get(reverse("toilets:household-export"))
    assert response.status_code == 302


@pytest.mark.parametrize(
    "who,code,status",
    [
        ("surveyor", "450702100201", 200),
        ("surveyor", "450702100202", 404),
        ("surveyor", "450702100000", 404),
        ("township", "450702100000", 200),
        ("township", "450702101000", 404),
        ("township", "450702000000", 404),
        ("county", "450702000000", 200),
        ("county", "450703000000", 404),
        ("outsider", "450702100201", 404),
    ],
)
def test_region_pages_follow_the_subtree(as_user, users, who, code, status):
    client = as_user(getattr(users, who))
    assert client.get(reverse("regions:detail", args=[code])).status_code == status


def test_region_page_counts_households_per_child(as_user, users, register, tree):
    page = as_user(users.county).get(reverse("regions:detail", args=[tree.county.code]))
    children = {c.code: c for c in page.context["children"]}
    assert children[tree.t1.code].household_count == 1
    assert children[tree.t2.code].household_count == 1
    assert page.context["household_total"] == 2


def test_home_shows_region_role_and_next_steps(as_user, users, register):
    page = as_user(users.surveyor).get(reverse("home")).content.decode()
    assert "沙埠村" in page
    assert "村级摸排员" in page
    assert "登记农户" in page
    page = as_user(users.inspector).get(reverse("home")).content.decode()
    assert "督导" in page and "钦南区" in page
    assert reverse("toilets:household-create") not in page


def test_a_user_without_a_role_sees_nothing(client, register):
    from tests.factories import PASSWORD, UserFactory

    user = UserFactory(username="nobody")
    client.login(username=user.username, password=PASSWORD)
    assert "尚未分配角色" in client.get(reverse("home")).content.decode()
    assert "王建国" not in client.get(reverse("toilets:household-list")).content.decode()
    url = reverse("toilets:household-detail", args=[register.h1.pk])
    assert client.get(url).status_code == 404
