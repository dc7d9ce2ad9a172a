"""django-import-export resources for reference-data fixes of the register in the admin.

Columns carry the Chinese headers users know; a village is its 12-digit code, a choice its
Chinese label. Every row goes through the model's ``full_clean`` and is saved by the same
service as the pages (role, region, version bump, edit history); an import is all-or-nothing
(see ``toilets.admin``). Everything is read and looked up through ``visible_to(user)``: a
village, household or toilet outside the user's region is an error, never a match. Exported
text is escaped against formula injection and identity numbers are masked unless the role may
see them.
"""

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from core.xlsx import escape_cell, unescape_cell
from regions.choices import SEE_IDENTITY
from regions.models import Region
from regions.scoping import has_capability

from .choices import (
    FlushKind,
    Funding,
    LeadDepartment,
    Occupancy,
    Placement,
    TechType,
    ToiletKind,
    ToiletStatus,
)
from .identity import mask_id_number, mask_phone, normalize_id_number
from .models import Household, Toilet
from .services import save_household, save_toilet

VILLAGE_CODE = "行政村代码"
COUNTY_CODE = "县级区划代码"
TOILET_ID = "编号"


def text(value) -> str:
    """A cell as text: numbers typed into Excel (codes, years) without a trailing ``.0``, and
    the quote our exports put before formula-like text taken off again."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    value = str(value).strip()
    return unescape_cell(value)


class TextWidget(widgets.CharWidget):
    def clean(self, value, row=None, **kwargs):
        return text(value)


class ChoiceLabelWidget(widgets.Widget):
    """A choice by its Chinese label (the stored value is accepted too)."""

    def __init__(self, choices, **kwargs):
        super().__init__(**kwargs)
        self.choices = choices

    def clean(self, value, row=None, **kwargs):
        value = text(value)
        if not value:
            return ""
        for stored, label in self.choices.choices:
            if value in (label, stored):
                return stored
        allowed = "、".join(label for _, label in self.choices.choices)
        raise ValueError(f"“{value}”不是可选的值，应为：{allowed}")

    def render(self, value, obj=None, **kwargs):
        return dict(self.choices.choices).get(value, value or "")


class ScopedWidget(widgets.ForeignKeyWidget):
    """A related object looked up within the importing user's region only."""

    user = None

    def clean(self, value, row=None, **kwargs):
        value = text(value)
        if not value:
            return None
        try:
            return super().clean(value, row, **kwargs)
        except self.model.DoesNotExist as exc:
            raise ValueError(self.missing_message(value, row)) from exc
        except self.model.MultipleObjectsReturned as exc:  # pragma: no cover - unique keys
            raise ValueError(self.missing_message(value, row)) from exc


class VillageWidget(ScopedWidget):
    def __init__(self):
        super().__init__(Region, "code")

    def get_queryset(self, value, row, *args, **kwargs):
        return Region.objects.visible_to(self.user).villages()

    def missing_message(self, value, row):
        return f"行政村代码 {value} 不存在、不是行政村，或不在您的管辖范围内"


class HouseholdWidget(ScopedWidget):
    """A household by its ID number, within the county of the row's village."""

    def __init__(self):
        super().__init__(Household, "id_number")

    def get_queryset(self, value, row, *args, **kwargs):
        county = text((row or {}).get(VILLAGE_CODE))[:6]
        return Household.objects.visible_to(self.user).filter(county_code=county)

    def get_lookup_kwargs(self, value, row, **kwargs):
        return {"id_number": normalize_id_number(value)}

    def missing_message(self, value, row):
        return f"本县未找到身份证号为 {value} 的农户（或不在您的管辖范围内），请先导入农户"


class RegisterResource(resources.ModelResource):
    """Shared by the two register resources: the user's scope, masking, escaping, and saving
    through the register's service."""

    save_function = None
    instance_kwarg = ""

    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.show_identity = has_capability(user, SEE_IDENTITY)
        for field in self.fields.values():
            if isinstance(field.widget, ScopedWidget):
                field.widget.user = user

    def get_queryset(self):
        return self._meta.model.objects.visible_to(self.user)

    def export_field(self, field, instance, **kwargs):
        return escape_cell(super().export_field(field, instance, **kwargs))

    def id_number_out(self, value: str) -> str:
        return value if self.show_identity else mask_id_number(value)

    def phone_out(self, value: str) -> str:
        return value if self.show_identity else mask_phone(value)

    def ensure_column(self, dataset, header):
        """A column the row matching needs, added (empty) when the file has none."""
        if header in (dataset.headers or []):
            return
        if len(dataset):
            dataset.append_col([""] * len(dataset), header=header)
        else:
            dataset.headers = [*(dataset.headers or []), header]

    def do_instance_save(self, instance, is_create):
        # The service checks role and region, runs full_clean, bumps the version (so an
        # open edit page notices) and records the user in the edit history.
        type(self).save_function(actor=self.user, **{self.instance_kwarg: instance})


class HouseholdResource(RegisterResource):
    township = fields.Field(attribute="village__parent__name", column_name="乡镇", readonly=True)
    village = fields.Field(attribute="village", column_name=VILLAGE_CODE, widget=VillageWidget())
    village_name = fields.Field(attribute="village__name", column_name="行政村", readonly=True)
    county_code = fields.Field(attribute="county_code", column_name=COUNTY_CODE, readonly=True)
    group_name = fields.Field(attribute="group_name", column_name="村民小组", widget=TextWidget())
    head_name = fields.Field(attribute="head_name", column_name="户主", widget=TextWidget())
    id_number = fields.Field(attribute="id_number", column_name="身份证号", widget=TextWidget())
    phone = fields.Field(attribute="phone", column_name="联系电话", widget=TextWidget())
    address = fields.Field(attribute="address", column_name="地址", widget=TextWidget())
    occupancy = fields.Field(
        attribute="occupancy",
        column_name="居住情况",
        widget=ChoiceLabelWidget(Occupancy),
        default=Occupancy.RESIDENT,
    )

    save_function = save_household
    instance_kwarg = "household"

    class Meta:
        model = Household
        name = "农户"
        fields = [
            "township", "village", "village_name", "county_code", "group_name", "head_name",
            "id_number", "phone", "address", "occupancy",
        ]  # fmt: skip
        import_id_fields = ["county_code", "id_number"]
        clean_model_instances = True
        use_transactions = True
        skip_unchanged = True

    def before_import(self, dataset, **kwargs):
        self.ensure_column(dataset, COUNTY_CODE)

    def before_import_row(self, row, **kwargs):
        # Households are matched by (county, ID number): the county follows from the village.
        row[COUNTY_CODE] = text(row.get(VILLAGE_CODE))[:6]
        row["身份证号"] = normalize_id_number(text(row.get("身份证号")))

    def dehydrate_id_number(self, household):
        return self.id_number_out(household.id_number)

    def dehydrate_phone(self, household):
        return self.phone_out(household.phone)


class ToiletResource(RegisterResource):
    id = fields.Field(
        attribute="id", column_name=TOILET_ID, readonly=True, widget=widgets.IntegerWidget()
    )
    township = fields.Field(attribute="village__parent__name", column_name="乡镇", readonly=True)
    village = fields.Field(attribute="village", column_name=VILLAGE_CODE, widget=VillageWidget())
    village_name = fields.Field(attribute="village__name", column_name="行政村", readonly=True)
    kind = fields.Field(
        attribute="kind", column_name="厕所类别", widget=ChoiceLabelWidget(ToiletKind)
    )
    household = fields.Field(
        attribute="household", column_name="户主身份证号", widget=HouseholdWidget()
    )
    head_name = fields.Field(attribute="household__head_name", column_name="户主", readonly=True)
    name = fields.Field(attribute="name", column_name="公厕名称", widget=TextWidget())
    tech_type = fields.Field(
        attribute="tech_type", column_name="技术模式", widget=ChoiceLabelWidget(TechType)
    )
    flush_kind = fields.Field(
        attribute="flush_kind", column_name="水冲/旱厕", widget=ChoiceLabelWidget(FlushKind)
    )
    placement = fields.Field(
        attribute="placement",
        column_name="室内/室外",
        widget=ChoiceLabelWidget(Placement),
        default=Placement.OUTDOOR,
    )
    build_year = fields.Field(
        attribute="build_year", column_name="建造年份", widget=widgets.IntegerWidget()
    )
    funding = fields.Field(
        attribute="funding", column_name="资金来源", widget=ChoiceLabelWidget(Funding)
    )
    lead_department = fields.Field(
        attribute="lead_department",
        column_name="牵头部门",
        widget=ChoiceLabelWidget(LeadDepartment),
    )
    latitude = fields.Field(
        attribute="latitude", column_name="纬度", widget=widgets.DecimalWidget()
    )
    longitude = fields.Field(
        attribute="longitude", column_name="经度", widget=widgets.DecimalWidget()
    )
    status = fields.Field(
        attribute="status",
        column_name="状态",
        widget=ChoiceLabelWidget(ToiletStatus),
        default=ToiletStatus.ACTIVE,
    )

    save_function = save_toilet
    instance_kwarg = "toilet"

    class Meta:
        model = Toilet
        name = "厕所"
        fields = [
            "id", "township", "village", "village_name", "kind", "household", "head_name",
            "name", "tech_type", "flush_kind", "placement", "build_year", "funding",
            "lead_department", "latitude", "longitude", "status",
        ]  # fmt: skip
        import_id_fields = ["id"]
        clean_model_instances = True
        use_transactions = True
        skip_unchanged = True

    def before_import(self, dataset, **kwargs):
        self.ensure_column(dataset, TOILET_ID)

    def after_init_instance(self, instance, new, row, **kwargs):
        # A row with a number updates that toilet; a number that matches nothing the user
        # can see is a mistake, not a new toilet. A row without a number registers one.
        number = text(row.get(TOILET_ID))
        if new and number:
            raise ValidationError(
                {
                    "id": f"编号为 {number} 的厕所不存在或不在您的管辖范围内（新登记的厕所请留空编号）"
                }
            )

    def dehydrate_household(self, toilet):
        return self.id_number_out(toilet.household.id_number) if toilet.household_id else ""
