"""The role-assignment admin (and every ScopedAdmin form) stays inside the editor's scope:
choices offered and values accepted are the editor's subtree, roles granted are below the
editor's own, and nobody changes or deletes their own assignment or one at or above them."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from regions.choices import Role
from regions.models import RoleAssignment
from tests.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:regions_roleassignment_add")


def change_url(assignment):
    return reverse("admin:regions_roleassignment_change", args=[assignment.pk])


def delete_url(assignment):
    return reverse("admin:regions_roleassignment_delete", args=[assignment.pk])


def refused(response) -> bool:
    """403, or the admin's answer for a row outside the editor's list (back to the index)."""
    if response.status_code == 302:
        return response.url == reverse("admin:index")
    return response.status_code in (403, 404)


def staff(username, role, region):
    user = UserFactory(username=username, role=(role, region))
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="regions",
            codename__in=[
                f"{action}_{model}"
                for action in ("view", "add", "change", "delete")
                for model in ("region", "roleassignment")
            ],
        )
    )
    return user


@pytest.fixture
def township_staff(tree):
    return staff("t1_staff", Role.TOWNSHIP, tree.t1)


@pytest.fixture
def superuser(tree):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    RoleAssignment.objects.create(user=user, role=Role.INSPECTOR, region=tree.province)
    return user


def form_data(assignment=None, **values):
    data = {}
    if assignment is not None:
        data = {"user": assignment.user_id, "region": assignment.region_id, "role": assignment.role}
    data.update(values)
    return data


def test_township_staff_cannot_move_own_assignment_to_another_county(client, tree, township_staff):
    own = township_staff.role_assignment
    login(client, township_staff)
    response = client.post(
        change_url(own), form_data(own, region=tree.county_b.pk, role=Role.COUNTY)
    )
    assert refused(response)
    own.refresh_from_db()
    assert (own.role, own.region) == (Role.TOWNSHIP, tree.t1)
    # Its households stay out of reach: the scope is still the own township.
    assert (
        client.get(reverse("admin:regions_region_change", args=[tree.county_b.pk])).status_code
        != 200
    )


def test_own_assignment_is_not_editable_even_inside_scope(client, tree, township_staff):
    own = township_staff.role_assignment
    login(client, township_staff)
    response = client.post(change_url(own), form_data(own, region=tree.v1.pk, role=Role.SURVEYOR))
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.region == tree.t1


def test_narrowing_the_superusers_assignment_is_refused(client, tree, township_staff, superuser):
    login(client, township_staff)
    target = superuser.role_assignment
    response = client.post(change_url(target), form_data(target, region=tree.v1.pk))
    assert refused(response)
    target.refresh_from_db()
    assert target.region == tree.province


def test_county_staff_cannot_edit_assignment_at_own_level_or_a_superuser_in_scope(client, tree):
    county_staff = staff("county_staff", Role.COUNTY, tree.county)
    peer = UserFactory(username="peer", role=(Role.INSPECTOR, tree.county))
    boss = UserFactory(username="boss", is_superuser=True, role=(Role.TOWNSHIP, tree.t1))
    login(client, county_staff)
    for assignment in (peer.role_assignment, boss.role_assignment):
        response = client.post(
            change_url(assignment), form_data(assignment, region=tree.v1.pk, role=Role.SURVEYOR)
        )
        assert response.status_code == 403
        assert client.post(delete_url(assignment), {"post": "yes"}).status_code == 403
    assert RoleAssignment.objects.filter(user__in=[peer, boss]).count() == 2
    assert peer.role_assignment.region == tree.county


def test_township_staff_assigns_a_village_role_in_own_village(client, tree, township_staff):
    newcomer = UserFactory(username="newcomer")
    login(client, township_staff)
    response = client.post(ADD, form_data(user=newcomer.pk, region=tree.v1.pk, role=Role.SURVEYOR))
    assert response.status_code == 302, response.content.decode()
    assignment = RoleAssignment.objects.get(user=newcomer)
    assert (assignment.role, assignment.region) == (Role.SURVEYOR, tree.v1)


def test_township_staff_moves_a_surveyor_between_own_villages(client, tree, township_staff):
    surveyor = UserFactory(username="s1", role=(Role.SURVEYOR, tree.v1))
    login(client, township_staff)
    assignment = surveyor.role_assignment
    response = client.post(change_url(assignment), form_data(assignment, region=tree.v2.pk))
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.region == tree.v2


def test_assigning_in_another_townships_village_is_refused(client, tree, township_staff):
    newcomer = UserFactory(username="newcomer")
    login(client, township_staff)
    for where in (tree.v3, tree.v4):
        response = client.post(
            ADD, form_data(user=newcomer.pk, region=where.pk, role=Role.SURVEYOR)
        )
        assert response.status_code == 200
        body = response.content.decode()
        assert "region" in response.context["adminform"].form.errors
        assert where.name not in body
    assert not RoleAssignment.objects.filter(user=newcomer).exists()


def test_township_staff_cannot_grant_a_role_at_or_above_its_own(client, tree, township_staff):
    newcomer = UserFactory(username="newcomer")
    login(client, township_staff)
    for role, where in ((Role.TOWNSHIP, tree.t1), (Role.INSPECTOR, tree.t1)):
        response = client.post(ADD, form_data(user=newcomer.pk, region=where.pk, role=role))
        assert response.status_code == 200
        assert response.context["adminform"].form.errors
    assert not RoleAssignment.objects.filter(user=newcomer).exists()


def test_region_and_user_choices_are_in_scope_only(tree, township_staff, superuser, rf):
    from django.contrib import admin

    inside = UserFactory(username="inside", role=(Role.SURVEYOR, tree.v2))
    outside = UserFactory(username="outside", role=(Role.SURVEYOR, tree.v3))
    other_county = UserFactory(username="other_county", role=(Role.COUNTY, tree.county_b))
    newcomer = UserFactory(username="newcomer")
    request = rf.get(ADD)
    request.user = township_staff
    model_admin = admin.site._registry[RoleAssignment]
    form = model_admin.get_form(request)()
    regions = set(form.fields["region"].queryset)
    assert regions == {tree.t1, tree.v1, tree.v2}
    users = set(form.fields["user"].queryset)
    assert inside in users and newcomer in users
    assert not users & {outside, other_county, superuser, township_staff}
    roles = {value for value, _ in form.fields["role"].choices if value}
    assert roles == {Role.SURVEYOR, Role.INSPECTOR}


def test_raw_id_user_outside_scope_is_refused(client, tree, township_staff):
    outside = UserFactory(username="outside", role=(Role.SURVEYOR, tree.v3))
    surveyor = UserFactory(username="s1", role=(Role.SURVEYOR, tree.v1))
    login(client, township_staff)
    assignment = surveyor.role_assignment
    response = client.post(change_url(assignment), form_data(assignment, user=outside.pk))
    assert response.status_code == 200
    assert "user" in response.context["adminform"].form.errors
    outside.role_assignment.refresh_from_db()
    assert outside.role_assignment.region == tree.v3


def test_deleting_own_assignment_is_refused(client, tree, township_staff):
    own = township_staff.role_assignment
    login(client, township_staff)
    assert client.post(delete_url(own), {"post": "yes"}).status_code == 403
    response = client.post(
        reverse("admin:regions_roleassignment_changelist"),
        {"action": "delete_selected", "_selected_action": [own.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302, 403)
    assert RoleAssignment.objects.filter(pk=own.pk).exists()


def test_superuser_may_assign_anything(client, tree):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    newcomer = UserFactory(username="newcomer")
    login(client, root)
    response = client.post(
        ADD, form_data(user=newcomer.pk, region=tree.county_b.pk, role=Role.COUNTY)
    )
    assert response.status_code == 302
    assert RoleAssignment.objects.get(user=newcomer).region == tree.county_b


def test_region_parent_outside_scope_is_refused_but_an_unchanged_one_stays(
    client, tree, township_staff
):
    login(client, township_staff)
    url = reverse("admin:regions_region_change", args=[tree.v1.pk])
    data = {"code": tree.v1.code, "name": tree.v1.name, "level": tree.v1.level}
    response = client.post(url, {**data, "parent": tree.t3.pk})
    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    tree.v1.refresh_from_db()
    assert tree.v1.parent == tree.t1
    # The own township keeps its parent county, which lies outside the scope.
    t1 = tree.t1
    url = reverse("admin:regions_region_change", args=[t1.pk])
    response = client.post(
        url, {"code": t1.code, "name": "沙埠镇（新）", "level": t1.level, "parent": t1.parent_id}
    )
    assert response.status_code == 302
    t1.refresh_from_db()
    assert t1.name == "沙埠镇（新）"


def test_a_region_added_outside_the_scope_is_refused_and_rolled_back(client, tree, township_staff):
    from regions.models import Region

    login(client, township_staff)
    response = client.post(
        reverse("admin:regions_region_add"),
        {"code": "450703100299", "name": "外县村", "level": "village", "parent": tree.t1.pk},
    )
    assert response.status_code == 403
    assert not Region.objects.filter(code="450703100299").exists()


def test_register_admin_offers_only_villages_in_scope(tree, township_staff, rf):
    from django.contrib import admin

    from toilets.models import Household

    request = rf.get("/")
    request.user = township_staff
    form = admin.site._registry[Household].get_form(request)()
    assert set(form.fields["village"].queryset.filter(level="village")) == {tree.v1, tree.v2}
