"""Import and export of households and toilets in the admin (django-import-export), for
reference-data fixes: Chinese headers, villages by code, choices by label, the model's checks,
all-or-nothing, matched (not duplicated) on re-import, scoped to the admin user's region,
saved through the register's service (version bump, edit history), exports escaped."""

import io

import pytest
import tablib
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from regions.choices import Role
from tests.conftest import login
from tests.factories import HouseholdFactory, ToiletFactory, UserFactory, valid_id_number
from toilets.admin import HouseholdAdmin
from toilets.models import Household, Toilet
from toilets.resources import HouseholdResource, ToiletResource

pytestmark = pytest.mark.django_db

HOUSEHOLD_COLUMNS = ["行政村代码", "村民小组", "户主", "身份证号", "联系电话", "地址", "居住情况"]
TOILET_COLUMNS = [
    "编号", "行政村代码", "厕所类别", "户主身份证号", "公厕名称", "技术模式", "水冲/旱厕",
    "室内/室外", "建造年份", "资金来源", "牵头部门", "状态",
]  # fmt: skip


def staff(username, role, region):
    user = UserFactory(username=username, role=(role, region))
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="toilets",
            codename__in=[
                f"{action}_{model}"
                for action in ("view", "add", "change")
                for model in ("household", "toilet")
            ],
        )
    )
    return user


@pytest.fixture
def township_admin(tree):
    return staff("t1_admin", Role.TOWNSHIP, tree.t1)


@pytest.fixture
def county_admin(tree):
    return staff("county_admin", Role.COUNTY, tree.county)


def xlsx(headers, rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def dataset(headers, rows) -> tablib.Dataset:
    return tablib.Dataset(*[tuple(r) for r in rows], headers=headers)


def bad_check_digit(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def household_row(village, name, id_number, phone="13800000001", occupancy="常住"):
    return [village.code, "第一村民小组", name, id_number, phone, "", occupancy]


def admin_import(client, model, content: bytes, *, confirm=True):
    """The admin's two steps: upload (a dry run shown to the user), then confirm."""
    name = model._meta.model_name
    upload = SimpleUploadedFile(f"{name}.xlsx", content)
    response = client.post(
        reverse(f"admin:toilets_{name}_import"),
        {"format": "0", "resource": "0", "import_file": upload},
    )
    assert response.status_code == 200
    if not confirm or "confirm_form" not in response.context:
        return response
    data = response.context["confirm_form"].initial
    return client.post(reverse(f"admin:toilets_{name}_process_import"), data, follow=True)


def admin_export(client, model, resource_class) -> list[dict]:
    name = model._meta.model_name
    fields = resource_class().get_export_order()
    data = {"format": "0", "resource": "0"}
    data |= {f"{resource_class.__name__.lower()}_{field}": "on" for field in fields}
    response = client.post(reverse(f"admin:toilets_{name}_export"), data)
    assert response.status_code == 200, response.content[:500]
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    rows = [list(row) for row in workbook.active.iter_rows(values_only=True)]
    workbook.close()
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


# Households -----------------------------------------------------------------------------------


def test_a_good_file_registers_the_households(client, tree, township_admin):
    first, second = valid_id_number(), valid_id_number()
    content = xlsx(
        HOUSEHOLD_COLUMNS,
        [
            household_row(tree.v1, "刘一", first),
            household_row(tree.v2, "陈二", second.lower(), occupancy="长期外出"),
        ],
    )
    response = admin_import(login(client, township_admin), Household, content)
    assert response.status_code == 200
    households = {h.head_name: h for h in Household.objects.all()}
    assert set(households) == {"刘一", "陈二"}
    assert households["陈二"].occupancy == "away"
    assert households["陈二"].village == tree.v2 and households["陈二"].county_code == "450702"
    assert households["刘一"].version == 1
    record = households["刘一"].history.get()
    assert record.history_user == township_admin


def test_one_bad_check_digit_saves_nothing_and_names_the_row(client, tree, township_admin):
    content = xlsx(
        HOUSEHOLD_COLUMNS,
        [
            household_row(tree.v1, "刘一", valid_id_number()),
            household_row(tree.v1, "陈二", bad_check_digit(valid_id_number())),
            household_row(tree.v2, "张三", valid_id_number()),
        ],
    )
    response = admin_import(login(client, township_admin), Household, content)
    result = response.context["result"]
    assert [row.number for row in result.invalid_rows] == [2]
    assert "校验位" in " ".join(result.invalid_rows[0].error_dict["id_number"])
    assert "confirm_form" not in response.context
    assert "校验位" in response.content.decode()
    assert not Household.objects.exists()


def test_the_confirm_step_is_all_or_nothing_too(client, tree, township_admin):
    number = valid_id_number()
    content = xlsx(
        HOUSEHOLD_COLUMNS,
        [household_row(tree.v1, "刘一", valid_id_number()), household_row(tree.v1, "陈二", number)],
    )
    client = login(client, township_admin)
    dry_run = admin_import(client, Household, content, confirm=False)
    # Between the dry run and the confirmation somebody registers 陈二's ID in the county.
    HouseholdFactory(village=tree.v3, head_name="别处", id_number=number)
    data = dry_run.context["confirm_form"].initial
    response = client.post(reverse("admin:toilets_household_process_import"), data, follow=True)
    page = response.content.decode()
    assert "导入未完成，没有保存任何数据" in page and "第 2 行" in page
    assert set(Household.objects.values_list("head_name", flat=True)) == {"别处"}


def test_the_resource_rolls_back_every_row_on_any_error(tree, township_admin):
    kwargs = HouseholdAdmin(Household, admin.site).get_import_data_kwargs(request=None)
    rows = [
        household_row(tree.v1, "刘一", valid_id_number()),
        household_row(tree.v1, "陈二", "123"),
    ]
    result = HouseholdResource(user=township_admin).import_data(
        dataset(HOUSEHOLD_COLUMNS, rows), dry_run=False, **kwargs
    )
    assert result.has_validation_errors()
    assert not Household.objects.exists()


def test_a_reimport_updates_instead_of_duplicating(client, tree, township_admin):
    first, second = valid_id_number(), valid_id_number()
    rows = [household_row(tree.v1, "刘一", first), household_row(tree.v1, "陈二", second)]
    client = login(client, township_admin)
    admin_import(client, Household, xlsx(HOUSEHOLD_COLUMNS, rows))
    rows[1] = household_row(tree.v2, "陈二", second, phone="13900000002")
    response = admin_import(client, Household, xlsx(HOUSEHOLD_COLUMNS, rows))
    assert response.status_code == 200
    assert Household.objects.count() == 2
    changed = Household.objects.get(id_number=second)
    assert (changed.phone, changed.village, changed.version) == ("13900000002", tree.v2, 2)
    assert changed.history.count() == 2
    assert Household.objects.get(id_number=first).version == 1  # unchanged: skipped


def test_a_village_outside_the_users_region_is_refused(client, tree, township_admin):
    content = xlsx(
        HOUSEHOLD_COLUMNS,
        [
            household_row(tree.v1, "刘一", valid_id_number()),
            household_row(tree.v3, "陈二", valid_id_number()),  # township T2
        ],
    )
    response = admin_import(login(client, township_admin), Household, content)
    result = response.context["result"]
    assert [row.number for row in result.invalid_rows] == [2]
    assert "不在您的管辖范围内" in " ".join(result.invalid_rows[0].error_dict["village"])
    assert not Household.objects.exists()


def test_a_household_of_another_township_is_not_matched(client, tree, register, township_admin):
    # Same county, other township: not found for this user, and its number is taken.
    row = household_row(tree.v1, "冒名", register.h3.id_number)
    response = admin_import(
        login(client, township_admin), Household, xlsx(HOUSEHOLD_COLUMNS, [row])
    )
    assert response.context["result"].has_validation_errors()
    assert Household.objects.get(pk=register.h3.pk).head_name == "李秀英"
    assert Household.objects.count() == 3


def test_roles_that_may_not_edit_the_register_cannot_import(client, county_admin):
    response = login(client, county_admin).get(reverse("admin:toilets_household_import"))
    assert response.status_code == 403


def test_the_export_is_scoped_escaped_and_masked(
    client, tree, register, township_admin, county_admin
):
    HouseholdFactory(village=tree.v2, head_name="=HYPERLINK(1)", address="-1")
    rows = admin_export(login(client, township_admin), Household, HouseholdResource)
    assert list(rows[0])[:4] == ["乡镇", "行政村代码", "行政村", "县级区划代码"]
    by_name = {row["户主"]: row for row in rows}
    assert set(by_name) == {"王建国", "'=HYPERLINK(1)"}  # T1 only
    assert by_name["'=HYPERLINK(1)"]["地址"] == "'-1"
    assert by_name["王建国"]["身份证号"] == register.h1.id_number
    assert by_name["王建国"]["居住情况"] == "常住"
    client.logout()
    rows = admin_export(login(client, county_admin), Household, HouseholdResource)
    assert {row["户主"] for row in rows} == {"王建国", "'=HYPERLINK(1)", "李秀英"}
    assert register.h1.id_number not in {row["身份证号"] for row in rows}


def test_an_exported_file_imports_back_unchanged(client, tree, register, township_admin):
    HouseholdFactory(village=tree.v2, head_name="=HYPERLINK(1)")
    client = login(client, township_admin)
    exported = admin_export(client, Household, HouseholdResource)
    headers = list(exported[0])
    content = xlsx(headers, [[row[h] for h in headers] for row in exported])
    admin_import(client, Household, content)
    assert Household.objects.count() == 4
    assert Household.objects.filter(head_name="=HYPERLINK(1)").get().version == 1
    assert Household.objects.get(pk=register.h1.pk).version == 1


# Toilets --------------------------------------------------------------------------------------


def toilet_row(**values):
    row = dict.fromkeys(TOILET_COLUMNS, "")
    row.update(values)
    return [row[c] for c in TOILET_COLUMNS]


def test_toilets_are_imported_with_derived_fields(client, tree, register, township_admin):
    content = xlsx(
        TOILET_COLUMNS,
        [
            toilet_row(**{
                "行政村代码": tree.v1.code, "厕所类别": "户厕", "户主身份证号": register.h1.id_number,
                "技术模式": "完整下水道水冲式", "建造年份": 2015, "资金来源": "农户自建",
            }),
            toilet_row(**{
                "行政村代码": tree.v2.code, "厕所类别": "公厕", "公厕名称": "东风村公厕",
                "技术模式": "双坑交替式", "室内/室外": "室内（附建式）", "建造年份": 2020,
                "资金来源": "财政支持改造",
            }),
        ],
    )  # fmt: skip
    admin_import(login(client, township_admin), Toilet, content)
    toilet = Toilet.objects.get(household=register.h1, tech_type="sewer")
    assert (toilet.village, toilet.flush_kind, toilet.lead_department) == (
        tree.v1,
        "flush",
        "health",
    )
    assert toilet.funding == "self_built" and toilet.status == "active"
    public = Toilet.objects.get(name="东风村公厕")
    assert (public.kind, public.flush_kind, public.lead_department) == (
        "public",
        "dry",
        "agriculture",
    )
    assert public.placement == "indoor"
    assert public.history.get().history_user == township_admin


def test_a_toilet_is_updated_by_its_number(client, tree, register, township_admin):
    row = {
        "编号": register.t1.pk, "行政村代码": tree.v1.code, "厕所类别": "户厕",
        "户主身份证号": register.h1.id_number, "技术模式": "三格化粪池式", "建造年份": 2019,
        "资金来源": "财政支持改造", "状态": "已拆除",
    }  # fmt: skip
    client = login(client, township_admin)
    admin_import(client, Toilet, xlsx(TOILET_COLUMNS, [toilet_row(**row)]))
    toilet = Toilet.objects.get(pk=register.t1.pk)
    assert (toilet.build_year, toilet.status, toilet.version) == (2019, "demolished", 2)
    assert Toilet.objects.count() == 3

    # Another township's toilet, or a number that does not exist, is refused.
    for number in (register.t3.pk, 99999):
        response = admin_import(
            client, Toilet, xlsx(TOILET_COLUMNS, [toilet_row(**{**row, "编号": number})])
        )
        errors = response.context["result"].invalid_rows[0].error_dict
        assert "不在您的管辖范围内" in " ".join(errors["id"])
    assert Toilet.objects.get(pk=register.t3.pk).version == 1


def test_bad_toilet_rows_name_the_problem(client, tree, register, township_admin):
    content = xlsx(
        TOILET_COLUMNS,
        [
            toilet_row(**{
                "行政村代码": tree.v1.code, "厕所类别": "户厕", "户主身份证号": register.h3.id_number,
                "技术模式": "三格化粪池式", "建造年份": 2018, "资金来源": "财政支持改造",
            }),
            toilet_row(**{
                "行政村代码": tree.v1.code, "厕所类别": "公厕", "公厕名称": "X",
                "技术模式": "旱厕", "建造年份": 2018, "资金来源": "财政支持改造",
            }),
        ],
    )  # fmt: skip
    response = admin_import(login(client, township_admin), Toilet, content)
    invalid = {row.number: row.error_dict for row in response.context["result"].invalid_rows}
    assert "请先导入农户" in " ".join(invalid[1]["household"])
    assert "三格化粪池式" in " ".join(invalid[2]["tech_type"])  # lists the allowed labels
    assert Toilet.objects.count() == 3


def test_the_toilet_export_is_scoped_and_masked(client, tree, register, county_admin):
    ToiletFactory(household=HouseholdFactory(village=tree.v1, head_name="+SUM(1)"))
    rows = admin_export(login(client, county_admin), Toilet, ToiletResource)
    assert {row["户主"] for row in rows} == {"王建国", "李秀英", "'+SUM(1)"}
    row = next(row for row in rows if row["户主"] == "王建国")
    assert row["户主身份证号"] != register.h1.id_number and "*" in row["户主身份证号"]
    assert (row["技术模式"], row["厕所类别"], row["状态"]) == ("三格化粪池式", "户厕", "在用")
    assert row["编号"] == register.t1.pk


def test_the_changelists_offer_import_and_export(client, register, township_admin):
    client = login(client, township_admin)
    for name in ("household", "toilet"):
        page = client.get(reverse(f"admin:toilets_{name}_changelist")).content.decode()
        assert reverse(f"admin:toilets_{name}_import") in page
        assert reverse(f"admin:toilets_{name}_export") in page
