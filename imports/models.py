"""An uploaded survey ledger and its way through the check (dry run) and the real import;
a county's own value aliases for the import."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from regions.choices import Level
from regions.models import Region
from regions.scoping import ScopedQuerySet, scope_of

from .aliases import ALIAS_MAX_LENGTH, AliasColumn, alias_problems, official_text


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "已上传"
    CHECKING = "checking", "检查中"
    CHECKED = "checked", "检查完成"
    INVALID = "invalid", "有错误"
    IMPORTING = "importing", "导入中"
    DONE = "done", "已完成"
    FAILED = "failed", "失败"


# States in which nothing more happens unless the user acts.
SETTLED = (ImportStatus.CHECKED, ImportStatus.INVALID, ImportStatus.DONE, ImportStatus.FAILED)


class ImportJobQuerySet(ScopedQuerySet):
    scope_lookup = "region__code"

    def mine(self, user):
        """The jobs a page may show ``user``: its own, and only inside its current scope."""
        return self.visible_to(user).filter(created_by=user)


class ImportJob(models.Model):
    """One uploaded .xlsx: checked as a dry run, then imported once the user confirms."""

    file = models.FileField(_("文件"), upload_to="imports/")
    original_name = models.CharField(_("原文件名"), max_length=255)
    round_name = models.CharField(_("摸排轮次"), max_length=100)
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("单位"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.CharField(_("进度说明"), max_length=300, blank=True)
    result = models.JSONField(_("结果"), default=dict, blank=True)
    # The header mapping chosen on the job page (header → column key), for its next check.
    header_mapping = models.JSONField(_("表头对应"), default=dict, blank=True)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    checked_at = models.DateTimeField(_("检查完成时间"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("确认导入时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("导入完成时间"), null=True, blank=True)
    # When a worker took the check or the import (imports.jobs): a job still 检查中/导入中
    # long after it has lost its worker, and the sweeper ends it as failed.
    claimed_at = models.DateTimeField(_("开始执行时间"), null=True, blank=True, editable=False)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("台账导入")
        verbose_name_plural = _("台账导入")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"])]

    def __str__(self):
        return f"{self.original_name} {self.get_status_display()}"

    @property
    def busy(self) -> bool:
        """Queued or running: the page polls its progress."""
        if self.status == ImportStatus.CHECKED:
            return self.confirmed_at is not None  # the import is queued
        return self.status not in SETTLED

    @property
    def percent(self) -> int:
        if not self.busy and self.status != ImportStatus.FAILED:
            return 100
        return min(100, 100 * self.done // self.total) if self.total else 0

    @property
    def errors(self) -> list[dict]:
        return self.result.get("errors", []) if isinstance(self.result, dict) else []

    @property
    def counts(self) -> dict:
        return self.result.get("counts", {}) if isinstance(self.result, dict) else {}


class CountyWideQuerySet(ScopedQuerySet):
    """Rows that hold for a whole county (its value aliases, its header mappings): they apply
    to every import into the county, so everybody in the county (and above it) sees them."""

    scope_lookup = "county__code"

    def scope_prefix(self, scope):
        return scope.prefix[:6]


class ValueAliasQuerySet(CountyWideQuerySet):
    def counties_visible_to(self, user):
        """The counties whose aliases ``user`` may read: the own county (also for a township's
        or a village's staff) and every county of a larger region."""
        scope = scope_of(user)
        counties = Region.objects.filter(level=Level.COUNTY)
        if scope is None:
            return counties.none()
        if scope.is_global:
            return counties
        return counties.filter(code__startswith=self.scope_prefix(scope))


class ValueAlias(models.Model):
    """A county's own way of writing an official value of a list column in its ledgers
    (e.g. 技术模式 “三格” → 三格化粪池式): accepted by imports into that county only, on top
    of the built-in aliases of ``imports.aliases``. ``alias`` is kept in its normal form
    (NFKC, no spaces); ``value`` is the stored value (``TechType.THREE_COMPARTMENT`` …)."""

    county = models.ForeignKey(
        "regions.Region",
        verbose_name=_("县（区）"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": Level.COUNTY},
    )
    column = models.CharField(_("列"), max_length=20, choices=AliasColumn.choices)
    alias = models.CharField(_("别名"), max_length=ALIAS_MAX_LENGTH)
    value = models.CharField(_("规范值"), max_length=50)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("添加人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("添加时间"), auto_now_add=True)

    objects = ValueAliasQuerySet.as_manager()

    class Meta:
        verbose_name = _("取值别名")
        verbose_name_plural = _("取值别名")
        ordering = ["county", "column", "alias"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "column", "alias"], name="imports_valuealias_unique_alias"
            ),
        ]

    def __str__(self):
        return f"{self.get_column_display()}：{self.alias} → {self.official_text}"

    @property
    def official_text(self) -> str:
        return official_text(self.column, self.value)

    def clean(self):
        problems = alias_problems(self.column, self.alias, self.value)
        if self.county_id and self.county.level != Level.COUNTY:
            problems["county"] = ["别名属于一个县（区）。"]
        if problems:
            raise ValidationError(problems)


class HeaderMappingQuerySet(CountyWideQuerySet):
    def for_county(self, county) -> dict[str, str]:
        """The county's mapping as the reader takes it: header → column key ("" = 不导入)."""
        if county is None:
            return {}
        return dict(self.filter(county=county).values_list("header", "column"))


class HeaderMapping(models.Model):
    """How a county's ledgers name a column: a file header (as ``reader.header_name`` has
    it) read as one of the template's columns (its key), or "" for a column not to import.
    Chosen on the job page when a header was not recognized; applied to the county's next
    files on top of the built-in header names, which it wins over."""

    county = models.ForeignKey(
        "regions.Region",
        verbose_name=_("县（区）"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": Level.COUNTY},
    )
    header = models.CharField(_("文件中的列名"), max_length=100)
    column = models.CharField(_("对应的列"), max_length=20, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("设置人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("设置时间"), auto_now=True)

    objects = HeaderMappingQuerySet.as_manager()

    class Meta:
        verbose_name = _("表头对应")
        verbose_name_plural = _("表头对应")
        ordering = ["county", "header"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "header"], name="imports_headermapping_unique_header"
            ),
        ]

    def __str__(self):
        return f"{self.header} → {self.column or '不导入'}"
