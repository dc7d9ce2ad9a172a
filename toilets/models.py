from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from regions.models import Region
from regions.scoping import ScopedQuerySet

from .choices import (
    EARLIEST_BUILD_YEAR,
    TECH_TYPE_FLUSH,
    FlushKind,
    Funding,
    LeadDepartment,
    Occupancy,
    Placement,
    TechType,
    ToiletKind,
    ToiletStatus,
    default_lead_department,
)
from .identity import id_number_problem, normalize_id_number, phone_problem

# Rough bounding box of China: catches swapped or mistyped coordinates, not borders.
LATITUDE_RANGE = (Decimal("3"), Decimal("54"))
LONGITUDE_RANGE = (Decimal("73"), Decimal("136"))


def _check_village(record, village: Region | None, errors: dict):
    """A record belongs to a village; an abolished (已撤销) village keeps its records but takes no
    new ones, and nothing moves into it."""
    if village is None:
        return
    if not village.is_village:
        errors["village"] = f"“{village.name}”是{village.get_level_display()}，只能选择行政村。"
    elif village.abolished and _moves_in(record):
        errors["village"] = (
            f"“{village.name}”已撤销，不能再登记新的农户或厕所，请选择现行的行政村。"
        )


def _moves_in(record) -> bool:
    """The record is new, or is being moved into its village (it was elsewhere)."""
    if record.pk is None:
        return True
    return type(record).objects.filter(pk=record.pk).exclude(village_id=record.village_id).exists()


# A duplicate ID number registered where the editor cannot see: nothing about that household
# (no name, village or count) may reach the message, on any page, API or admin form.
DUPLICATE_ID_ELSEWHERE = "该身份证号已在其他村登记，请联系县级管理员核实"


def duplicate_id_message(household, viewer=None) -> str | None:
    """The refusal for ``household``'s ID number already being registered in its county, or
    None when it is not. Names the other household's village only when ``viewer`` may see
    it (``visible_to``); with no viewer (a script, the API's model check) always neutral."""
    village = household.village if household.village_id else None
    if village is None or not household.id_number:
        return None
    clash = Household.objects.filter(
        county_code=village.code[:6], id_number=household.id_number
    ).exclude(pk=household.pk)
    if not clash.exists():
        return None
    if viewer is not None:
        seen = clash.visible_to(viewer).select_related("village__parent").order_by("pk").first()
        if seen is not None:
            place = seen.village.name
            if seen.village.parent is not None:
                place = f"{seen.village.parent.name}{place}"
            return (
                f"该身份证号已在您管辖的{place}登记（户主：{seen.head_name}），"
                "同一户不能重复登记，请在该户档案中修改。"
            )
    return DUPLICATE_ID_ELSEWHERE


class HouseholdQuerySet(ScopedQuerySet):
    scope_lookup = "village__code"


class Household(models.Model):
    """A rural household (农户): the file 一户一档 hangs on, reused across survey rounds."""

    village = models.ForeignKey(
        Region,
        verbose_name=_("行政村"),
        on_delete=models.PROTECT,
        related_name="households",
        db_index=False,  # the list index (village, group, id) leads with it
    )
    # Derived from the village: the scope of ID-number uniqueness, enforced by the database.
    county_code = models.CharField(_("县级区划代码"), max_length=6, editable=False)
    group_name = models.CharField(_("村民小组"), max_length=50, blank=True)
    head_name = models.CharField(_("户主"), max_length=50)
    id_number = models.CharField(_("身份证号"), max_length=18)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    occupancy = models.CharField(
        _("居住情况"), max_length=10, choices=Occupancy.choices, default=Occupancy.RESIDENT
    )
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    # History rows are read by household (id) and date: no index by village, no database
    # check of the user (an import writes 100,000 of them).
    history = HistoricalRecords(
        excluded_fields=["updated_at"], no_db_index=["village"], user_db_constraint=False
    )
    objects = HouseholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("农户")
        verbose_name_plural = _("农户")
        ordering = ["village_id", "group_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["county_code", "id_number"], name="toilets_household_id_number_in_county"
            ),
        ]
        indexes = [
            # Search by ID number across the visible subtree.
            models.Index(fields=["id_number"], name="toilets_household_id_number"),
            # The household list, ordered within a village.
            models.Index(fields=["village", "group_name", "id"], name="toilets_household_list"),
        ]

    def __str__(self):
        return self.head_name

    def save(self, *args, **kwargs):
        self.county_code = self.village.code[:6]
        super().save(*args, **kwargs)

    def clean(self):
        errors: dict[str, str] = {}
        self.id_number = normalize_id_number(self.id_number)
        village = self.village if self.village_id else None
        _check_village(self, village, errors)
        problem = id_number_problem(self.id_number) if self.id_number else None
        if problem:
            errors["id_number"] = problem
        if "phone" not in errors and (problem := phone_problem(self.phone)):
            errors["phone"] = problem
        if village is not None and self.id_number and "id_number" not in errors:
            message = duplicate_id_message(self, getattr(self, "editor", None))
            if message:
                errors["id_number"] = message
        if errors:
            raise ValidationError(errors)


class ToiletQuerySet(ScopedQuerySet):
    scope_lookup = "village__code"

    def active(self):
        return self.filter(status=ToiletStatus.ACTIVE)


class Toilet(models.Model):
    """A household toilet (户厕) or a village public toilet (公厕) in the register."""

    village = models.ForeignKey(
        Region,
        verbose_name=_("行政村"),
        on_delete=models.PROTECT,
        related_name="toilets",
        db_index=False,  # the (village, kind, status) index leads with it
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("农户"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="toilets",
    )
    kind = models.CharField(
        _("厕所类别"), max_length=10, choices=ToiletKind.choices, default=ToiletKind.HOUSEHOLD
    )
    name = models.CharField(_("公厕名称"), max_length=100, blank=True)
    tech_type = models.CharField(_("技术模式"), max_length=20, choices=TechType.choices)
    flush_kind = models.CharField(
        _("水冲/旱厕"),
        max_length=10,
        choices=FlushKind.choices,
        blank=True,
        help_text=_("留空时按技术模式自动确定"),
    )
    placement = models.CharField(
        _("室内/室外"), max_length=10, choices=Placement.choices, default=Placement.OUTDOOR
    )
    build_year = models.PositiveSmallIntegerField(_("建造年份"))
    funding = models.CharField(_("资金来源"), max_length=12, choices=Funding.choices)
    lead_department = models.CharField(
        _("牵头部门"),
        max_length=12,
        choices=LeadDepartment.choices,
        blank=True,
        help_text=_("留空时按建造年份确定"),
    )
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(
        _("经度"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=ToiletStatus.choices, default=ToiletStatus.ACTIVE
    )
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    # History rows are read by toilet (id) and date: no index by village or household, no
    # database check of the user (an import writes 100,000 of them).
    history = HistoricalRecords(
        excluded_fields=["updated_at"],
        no_db_index=["village", "household"],
        user_db_constraint=False,
    )
    objects = ToiletQuerySet.as_manager()

    class Meta:
        verbose_name = _("厕所")
        verbose_name_plural = _("厕所")
        ordering = ["village_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(build_year__gte=EARLIEST_BUILD_YEAR),
                name="toilets_toilet_build_year_from_1950",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind=ToiletKind.HOUSEHOLD, household__isnull=False)
                    | models.Q(kind=ToiletKind.PUBLIC, household__isnull=True)
                ),
                name="toilets_toilet_household_iff_household_toilet",
            ),
            models.CheckConstraint(
                condition=models.Q(flush_kind__in=FlushKind.values),
                name="toilets_toilet_flush_kind_recorded",
            ),
            models.CheckConstraint(
                condition=models.Q(lead_department__in=LeadDepartment.values),
                name="toilets_toilet_lead_department_recorded",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(latitude__isnull=True, longitude__isnull=True)
                    | models.Q(latitude__isnull=False, longitude__isnull=False)
                ),
                name="toilets_toilet_gps_both_or_neither",
            ),
        ]
        indexes = [
            models.Index(fields=["village", "kind", "status"], name="toilets_toilet_village_kind"),
            # The few toilets that don't count in the summary's column 1 at a cut-off:
            # demolished ones (a partial index: only they are in it) and those registered
            # after it (the dashboard's coverage subtracts their inspections).
            models.Index(
                fields=["id"],
                condition=~models.Q(status=ToiletStatus.ACTIVE),
                name="toilets_toilet_not_active",
            ),
            models.Index(fields=["created_at"], name="toilets_toilet_created"),
        ]

    def __str__(self):
        if self.kind == ToiletKind.PUBLIC:
            return self.name or f"公厕 #{self.pk}"
        return f"{self.household.head_name}家户厕" if self.household_id else f"户厕 #{self.pk}"

    @property
    def is_public(self) -> bool:
        return self.kind == ToiletKind.PUBLIC

    def clean_fields(self, exclude=None):
        # A household toilet's village follows its household; derive it before the
        # field check would call it missing.
        if self.kind == ToiletKind.HOUSEHOLD and self.household_id:
            self.village = self.household.village
        super().clean_fields(exclude=exclude)

    def clean(self):
        """Derive what follows from other fields, then refuse what cannot be true."""
        errors: dict[str, str] = {}
        household = self.household if self.household_id else None
        if self.kind == ToiletKind.HOUSEHOLD:
            if household is None:
                errors["household"] = "户厕必须属于一个农户。"
            else:
                self.village = household.village
        elif self.kind == ToiletKind.PUBLIC:
            if household is not None:
                errors["household"] = "公厕不属于任何农户。"
            if not self.name.strip():
                errors["name"] = "请填写公厕名称。"
        _check_village(self, self.village if self.village_id else None, errors)

        if self.build_year is not None:
            this_year = timezone.localdate().year
            if self.build_year > this_year:
                errors["build_year"] = f"建造年份不能晚于今年（{this_year}年）。"
            elif self.build_year < EARLIEST_BUILD_YEAR:
                errors["build_year"] = f"建造年份不能早于 {EARLIEST_BUILD_YEAR} 年。"
            elif not self.lead_department:
                self.lead_department = default_lead_department(self.build_year)

        if self.tech_type in TECH_TYPE_FLUSH:
            default, fixed = TECH_TYPE_FLUSH[self.tech_type]
            label = TechType(self.tech_type).label
            if not self.flush_kind:
                if default is None:
                    errors["flush_kind"] = f"{label}须注明是水冲厕所还是旱厕。"
                else:
                    self.flush_kind = default
            elif fixed and self.flush_kind != default:
                errors["flush_kind"] = f"{label}只能是{FlushKind(default).label}。"

        if (self.latitude is None) != (self.longitude is None):
            errors["longitude"] = "经度和纬度须同时填写。"
        elif self.latitude is not None:
            if not LATITUDE_RANGE[0] <= self.latitude <= LATITUDE_RANGE[1]:
                errors["latitude"] = "纬度不在我国范围内（3～54），请检查经纬度是否填反。"
            if not LONGITUDE_RANGE[0] <= self.longitude <= LONGITUDE_RANGE[1]:
                errors["longitude"] = "经度不在我国范围内（73～136），请检查经纬度是否填反。"
        if errors:
            raise ValidationError(errors)
