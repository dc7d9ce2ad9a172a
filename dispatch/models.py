"""Dispatch briefings (调度通报) and the county's ranking formula (考核排名).

A briefing is written once, by ``services.generate_briefing``, with its numbers and the formula
it was ranked by frozen in JSON; nothing rewrites it (no form, no admin change, no API, and the
queryset refuses bulk ``update()``/``delete()``). Generating a period again makes a new numbered
edition (第 N 版), except that the schedule returns its own earlier briefing of the period.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from regions.scoping import ScopedQuerySet
from surveys.models import SurveyRound

# The formula's weights and their defaults (points). Score =
#   coverage × 覆盖率 + closeout × 销号率 − overdue × 逾期数 − discrepancy × 抽查不一致率
# with the rates as fractions (0–1); a township with everything surveyed and closed, nothing
# overdue and no discrepancy scores coverage + closeout (100 with the defaults).
DEFAULT_WEIGHTS = {
    "coverage": Decimal("40"),
    "closeout": Decimal("60"),
    "overdue": Decimal("0.5"),
    "discrepancy": Decimal("20"),
}


class BriefingKind(models.TextChoices):
    WEEK = "week", "周通报"
    MONTH = "month", "月通报"


class CountyScopedQuerySet(ScopedQuerySet):
    """A county's row is visible county-wide (townships see their county's briefings, as a
    通报 is published to the whole county) and to the city and province above it."""

    scope_lookup = "county__code"

    def scope_prefix(self, scope):
        return scope.prefix[:6]


class RankingFormula(models.Model):
    county = models.OneToOneField(
        "regions.Region",
        verbose_name=_("县（区）"),
        on_delete=models.PROTECT,
        related_name="ranking_formula",
    )
    coverage = models.DecimalField(
        _("摸排覆盖率权重（分）"),
        max_digits=6,
        decimal_places=2,
        default=DEFAULT_WEIGHTS["coverage"],
    )
    closeout = models.DecimalField(
        _("销号率权重（分）"), max_digits=6, decimal_places=2, default=DEFAULT_WEIGHTS["closeout"]
    )
    overdue = models.DecimalField(
        _("逾期扣分（每户）"), max_digits=6, decimal_places=2, default=DEFAULT_WEIGHTS["overdue"]
    )
    discrepancy = models.DecimalField(
        _("抽查不一致率扣分权重（分）"),
        max_digits=6,
        decimal_places=2,
        default=DEFAULT_WEIGHTS["discrepancy"],
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    objects = CountyScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("排名公式")
        verbose_name_plural = _("排名公式")

    def __str__(self):
        return f"{self.county} 排名公式"

    def weights(self) -> dict[str, Decimal]:
        return {name: getattr(self, name) for name in DEFAULT_WEIGHTS}


class BriefingQuerySet(CountyScopedQuerySet):
    def update(self, **kwargs):
        raise ValueError("briefings are immutable")

    def delete(self):
        raise ValueError("briefings are immutable")

    delete.queryset_only = True


class Briefing(models.Model):
    county = models.ForeignKey(
        "regions.Region", verbose_name=_("县（区）"), on_delete=models.PROTECT, related_name="+"
    )
    round = models.ForeignKey(
        SurveyRound, verbose_name=_("轮次"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("类型"), max_length=8, choices=BriefingKind.choices)
    period_start = models.DateField(_("起始日期"))
    period_end = models.DateField(_("截止日期"))
    edition = models.PositiveSmallIntegerField(_("版次"), default=1)
    cutoff = models.DateTimeField(_("数据截至"))
    generated_at = models.DateTimeField(_("生成时间"))
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("生成人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("空：按计划自动生成"),
    )
    previous = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(_("通报数据"))
    formula = models.JSONField(_("排名公式"))

    objects = BriefingQuerySet.as_manager()

    class Meta:
        verbose_name = _("调度通报")
        verbose_name_plural = _("调度通报")
        ordering = ["-period_end", "-edition", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "round", "kind", "period_start", "period_end", "edition"],
                name="dispatch_briefing_one_edition",
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="dispatch_briefing_period_in_order",
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("briefings are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("briefings are immutable")

    @property
    def title(self) -> str:
        s, e = self.period_start, self.period_end
        if self.kind == BriefingKind.MONTH:
            label = f"{e.year}年{e.month}月"
        else:
            label = f"{s.month}月{s.day}日—{e.month}月{e.day}日"
        edition = f"（第{self.edition}版）" if self.edition > 1 else ""
        return f"{self.county.name}农村户厕问题摸排整改{self.get_kind_display()}·{label}{edition}"
