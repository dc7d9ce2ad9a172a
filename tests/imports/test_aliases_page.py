"""The alias page (取值别名): who sees and who edits which county's aliases, the rules an alias
follows, and that a county's alias added here is what its imports take."""

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from imports.aliases import AliasColumn, add_alias, delete_alias
from imports.engine import import_ledger
from imports.models import ValueAlias
from tests.factories import UserFactory
from tests.ledger_files import id_number, ledger_row, ledger_xlsx
from toilets.choices import TechType
from toilets.models import Toilet

pytestmark = pytest.mark.django_db


def page(county):
    return reverse("imports:aliases", kwargs={"code": county.code})


def add(client, county, target, alias):
    return client.post(page(county), {"target": target, "alias": alias})


def county_alias(tree, users, alias="三格池", value=TechType.THREE_COMPARTMENT):
    return add_alias(
        actor=users.county,
        county=tree.county,
        column=AliasColumn.TECH_TYPE,
        alias=alias,
        value=value,
    )


# Who may see and edit --------------------------------------------------------------------


def test_it_requires_login(client, tree):
    for url in (reverse("imports:alias-home"), page(tree.county)):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response["Location"]
    response = add(client, tree.county, "tech_type:three_compartment", "三格池")
    assert response.status_code == 302 and "/login" in response["Location"]
    assert not ValueAlias.objects.exists()


def test_the_county_sees_and_edits_its_own_page(tree, users, as_user):
    client = as_user(users.county)
    assert client.get(reverse("imports:alias-home"))["Location"] == page(tree.county)
    response = client.get(page(tree.county))
    assert response.status_code == 200
    body = response.content.decode()
    assert "添加本县别名" in body and "三格式" in body and "三联沼气池式" in body


def test_the_township_reads_its_countys_page_but_cannot_edit(tree, users, as_user):
    alias = county_alias(tree, users)
    client = as_user(users.township)
    assert client.get(reverse("imports:alias-home"))["Location"] == page(tree.county)
    response = client.get(page(tree.county))
    assert response.status_code == 200
    body = response.content.decode()
    assert "三格池" in body and "添加本县别名" not in body and 'id="read-only-note"' in body
    assert add(client, tree.county, "tech_type:double_urn", "双瓮").status_code == 403
    delete = reverse("imports:alias-delete", kwargs={"code": tree.county.code, "pk": alias.pk})
    assert client.post(delete).status_code == 403
    assert list(ValueAlias.objects.values_list("alias", flat=True)) == ["三格池"]


def test_another_countys_page_is_a_404(tree, users, as_user):
    alias = county_alias(tree, users)
    client = as_user(users.outsider)
    assert client.get(page(tree.county)).status_code == 404
    assert add(client, tree.county, "tech_type:double_urn", "双瓮").status_code == 404
    delete = reverse("imports:alias-delete", kwargs={"code": tree.county.code, "pk": alias.pk})
    assert client.post(delete).status_code == 404
    # Nor through its own county's address.
    delete = reverse("imports:alias-delete", kwargs={"code": tree.county_b.code, "pk": alias.pk})
    assert client.post(delete).status_code == 404
    assert ValueAlias.objects.count() == 1


def test_a_township_of_another_county_gets_a_404(tree, as_user):
    from regions.choices import Role

    township_b = UserFactory(username="township_b", role=(Role.TOWNSHIP, tree.t3))
    assert as_user(township_b).get(page(tree.county)).status_code == 404


def test_a_township_code_is_not_a_county_page(tree, users, as_user):
    assert as_user(users.county).get(page(tree.t1)).status_code == 404


@pytest.mark.parametrize("who", ["surveyor", "inspector"])
def test_roles_without_the_import_right_get_a_403(tree, users, as_user, who):
    client = as_user(getattr(users, who))
    assert client.get(page(tree.county)).status_code == 403
    assert client.get(reverse("imports:alias-home")).status_code == 403


def test_the_import_page_links_to_the_alias_page(tree, users, as_user):
    body = as_user(users.township).get(reverse("imports:upload")).content.decode()
    assert reverse("imports:alias-home") in body


def test_a_superuser_picks_a_county(tree, as_user):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client = as_user(admin)
    response = client.get(reverse("imports:alias-home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert page(tree.county) in body and page(tree.county_b) in body
    assert client.get(page(tree.county_b)).status_code == 200


# Adding and deleting ---------------------------------------------------------------------


def test_the_county_adds_an_alias_its_imports_then_take(tree, users, as_user):
    client = as_user(users.county)
    response = add(client, tree.county, "tech_type:three_compartment", " 三格 池 ")
    assert response.status_code == 302
    alias = ValueAlias.objects.get()
    assert (alias.county, alias.column, alias.alias, alias.value, alias.created_by) == (
        tree.county,
        "tech_type",
        "三格池",
        "three_compartment",
        users.county,
    )
    assert "已添加别名" in client.get(page(tree.county)).content.decode()

    result = import_ledger(
        io.BytesIO(ledger_xlsx([ledger_row(技术模式="三格池")])),
        round_name="2022年摸排",
        actor=users.township,
    )
    assert result.saved, result.errors
    assert Toilet.objects.get().tech_type == TechType.THREE_COMPARTMENT
    # Another county's import does not know it.
    row = ledger_row(区划代码=tree.v4.code, 身份证号=id_number(2, area="450703"), 技术模式="三格池")
    result = import_ledger(
        io.BytesIO(ledger_xlsx([row])), round_name="2022年摸排", actor=users.outsider
    )
    assert [e.column for e in result.errors] == ["技术模式"]


def test_the_county_deletes_an_alias(tree, users, as_user):
    alias = county_alias(tree, users)
    client = as_user(users.county)
    delete = reverse("imports:alias-delete", kwargs={"code": tree.county.code, "pk": alias.pk})
    response = client.post(delete)
    assert response.status_code == 302 and not ValueAlias.objects.exists()
    assert client.post(delete).status_code == 404
    result = import_ledger(
        io.BytesIO(ledger_xlsx([ledger_row(技术模式="三格池")])),
        round_name="2022年摸排",
        actor=users.county,
        dry_run=True,
    )
    assert not result.ok


@pytest.mark.parametrize(
    ("target", "alias", "message"),
    [
        ("tech_type:three_compartment", "", "请填写别名"),
        ("", "三格池", "请选择别名表示的规范值"),
        ("tech_type:no_such_type", "三格池", "请选择列表中的规范值"),
        ("tech_type:three_compartment", "三格化粪池式", "本身就是技术模式的规范值"),
        ("tech_type:double_urn", "三格化粪池式", "含义不同，不能作为别名"),
        ("tech_type:three_compartment", "三格式", "已是系统内置的别名"),
        ("tech_type:double_urn", "三格式", "不能改为其他含义"),
        ("funding:self_built", "财政支持改造", "不能改为其他含义"),
        ("categories:tank", "厕具", "不能改为其他含义"),
        ("tech_type:three_compartment", "三" * 51, "不能超过 50 个字"),
    ],
)
def test_a_bad_alias_is_refused_in_chinese(tree, users, as_user, target, alias, message):
    response = add(as_user(users.county), tree.county, target, alias)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ValueAlias.objects.exists()


def test_an_alias_the_county_already_has_is_refused(tree, users, as_user):
    county_alias(tree, users)
    response = add(as_user(users.county), tree.county, "tech_type:double_urn", "三格池")
    assert response.status_code == 400
    assert "本县已有别名“三格池”（表示“三格化粪池式”）" in response.content.decode()
    assert ValueAlias.objects.get().value == TechType.THREE_COMPARTMENT


def test_the_same_alias_may_mean_different_things_in_different_columns_and_counties(tree, users):
    county_alias(tree, users, alias="一般")
    add_alias(
        actor=users.county, county=tree.county, column=AliasColumn.USABILITY, alias="一般",
        value="normal",
    )  # fmt: skip
    add_alias(
        actor=users.outsider, county=tree.county_b, column=AliasColumn.TECH_TYPE, alias="一般",
        value=TechType.DOUBLE_URN,
    )  # fmt: skip
    assert ValueAlias.objects.count() == 3


# The service's guards --------------------------------------------------------------------


def test_the_service_refuses_others(tree, users):
    for actor, county in (
        (users.township, tree.county),
        (users.outsider, tree.county),
        (users.inspector, tree.county),
        (users.county, tree.t1),
    ):
        with pytest.raises(PermissionDenied):
            add_alias(
                actor=actor, county=county, column="tech_type", alias="三格池",
                value="three_compartment",
            )  # fmt: skip
    alias = county_alias(tree, users)
    with pytest.raises(PermissionDenied):
        delete_alias(actor=users.township, county=tree.county, alias_id=alias.pk)
    with pytest.raises(ValueAlias.DoesNotExist):
        delete_alias(actor=users.outsider, county=tree.county_b, alias_id=alias.pk)
    with pytest.raises(ValidationError):
        add_alias(actor=users.county, county=tree.county, column="no_column", alias="x", value="y")


def test_each_user_sees_the_aliases_of_its_own_county(tree, users):
    county_alias(tree, users)
    assert ValueAlias.objects.visible_to(users.township).count() == 1
    assert ValueAlias.objects.visible_to(users.surveyor).count() == 1
    assert ValueAlias.objects.visible_to(users.outsider).count() == 0
