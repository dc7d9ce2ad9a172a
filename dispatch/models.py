"""Dispatch briefings (调度通报) and the county's ranking formula (考核排名).

A briefing is written once, by ``services.generate_briefing``, with its numbers and the formula
it was ranked by frozen in JSON; nothing rewrites it (no form, no admin change, no API, and the
queryset refuses bulk ``update()``/``delete()``). Generating a period again makes a new numbered
edition (第 N 版), except that the schedule returns its own earlier briefing of the period.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.jobs import Job, JobStatus
from regions.choices import Level
from regions.codes import ancestor_codes
from regions.scoping import ScopedQuerySet, scope_of
from surveys.models import SurveyRound

from .choices import EvidenceKind, WorkProblemCategory, WorkProblemState

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
    HALF_MONTH = "half", "半月通报"
    MONTH = "month", "月通报"


def period_label(kind: str, start, end) -> str:
    if kind == BriefingKind.MONTH:
        return f"{end.year}年{end.month}月"
    if kind == BriefingKind.HALF_MONTH:
        return f"{end.year}年{end.month}月{'上' if start.day == 1 else '下'}半月"
    return f"{start.month}月{start.day}日—{end.month}月{end.day}日"


class CountyScopedQuerySet(ScopedQuerySet):
    """A county's row is visible county-wide (townships see their county's briefings, as a
    通报 is published to the whole county) and to the city and province above it."""

    scope_lookup = "county__code"

    def scope_prefix(self, scope):
        return scope.prefix[:6]


class FormulaQuerySet(CountyScopedQuerySet):
    scope_lookup = "region__code"


class RankingFormula(models.Model):
    """The weights a unit ranks the units below it by: a county its townships, a city its
    counties, a province its cities (one formula per unit)."""

    region = models.OneToOneField(
        "regions.Region",
        verbose_name=_("单位"),
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

    objects = FormulaQuerySet.as_manager()

    class Meta:
        verbose_name = _("排名公式")
        verbose_name_plural = _("排名公式")

    def __str__(self):
        return f"{self.region} 排名公式"

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
        label = period_label(self.kind, self.period_start, self.period_end)
        edition = f"（第{self.edition}版）" if self.edition > 1 else ""
        return f"{self.county.name}农村户厕问题摸排整改{self.get_kind_display()}·{label}{edition}"


# Briefings of a city or a province (counties, or cities, as rows) ---------------------------


class UnitBriefingQuerySet(ScopedQuerySet):
    """A city's or the province's briefing is read by the unit and everybody above it, and is
    sent down (通报) to the units below down to the counties: a county or city user (manager or
    inspector) reads the briefings of the units above it. A township or a village does not —
    its briefing is its county's."""

    scope_lookup = "region__code"

    def visible_to(self, user):
        scope = scope_of(user)
        if scope is None:
            return self.none()
        if scope.is_global:
            return self.all()
        seen = models.Q(region__code__startswith=scope.prefix)
        if scope.region.level in (Level.COUNTY, Level.CITY):
            seen |= models.Q(region__code__in=ancestor_codes(scope.region.code))
        return self.filter(seen)

    def update(self, **kwargs):
        raise ValueError("briefings are immutable")

    def delete(self):
        raise ValueError("briefings are immutable")

    delete.queryset_only = True


class UnitBriefing(models.Model):
    """A city's briefing with one row per county (the province's: one per city), each with the
    figures of its current round at the cut-off, its delivery in the unit's latest collection,
    and its place by the unit's formula. Immutable, in numbered editions, as ``Briefing``."""

    region = models.ForeignKey(
        "regions.Region", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
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

    objects = UnitBriefingQuerySet.as_manager()

    class Meta:
        verbose_name = _("市级、省级调度通报")
        verbose_name_plural = _("市级、省级调度通报")
        ordering = ["-period_end", "-edition", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "kind", "period_start", "period_end", "edition"],
                name="dispatch_unitbriefing_one_edition",
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="dispatch_unitbriefing_period_in_order",
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
        label = period_label(self.kind, self.period_start, self.period_end)
        edition = f"（第{self.edition}版）" if self.edition > 1 else ""
        return f"{self.region.name}农村户厕问题摸排整改{self.get_kind_display()}·{label}{edition}"

    @property
    def row_label(self) -> str:
        return "市" if self.region.level == Level.PROVINCE else "县（区）"


class UnitBriefingJobQuerySet(ScopedQuerySet):
    scope_lookup = "region__code"

    def of(self, user):
        """The jobs ``user`` started, inside the user's region (somebody else's is a 404)."""
        return self.visible_to(user).filter(created_by=user.pk)


class UnitBriefingJob(Job):
    """Generating a city's or the province's briefing in the background: it reads the table of
    every county below (seconds to minutes for a province), so the request only queues it and
    the page follows its progress, then opens the briefing (``dispatch.jobs``)."""

    region = models.ForeignKey(
        "regions.Region", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("类型"), max_length=8, choices=BriefingKind.choices)
    briefing = models.ForeignKey(
        UnitBriefing, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    objects = UnitBriefingJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("调度通报生成任务")
        verbose_name_plural = _("调度通报生成任务")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One queued or running job per person, unit and kind: a double click is one job.
            models.UniqueConstraint(
                fields=["region", "kind", "created_by"],
                condition=models.Q(status__in=[JobStatus.PENDING, JobStatus.RUNNING]),
                name="dispatch_unitbriefingjob_one_active",
            ),
        ]

    def __str__(self):
        return f"{self.region} {self.get_kind_display()} {self.get_status_display()}"


# The work-process problem register (工作推进中存在的问题) ---------------------------------


class WorkProblemQuerySet(ScopedQuerySet):
    """A township sees its own problems; a county its own and its townships' (code prefix)."""

    scope_lookup = "region__code"

    def open(self):
        return self.exclude(state=WorkProblemState.CLOSED)

    def overdue(self, today=None):
        """Problems past their deadline (整改时限) and not closed out."""
        today = today or timezone.localdate()
        return self.open().filter(deadline__lt=today)


class WorkProblem(models.Model):
    """A problem in how the work is done (seed 001: 目标任务不合理、盲目赶进度 …), found in a
    township or at the county itself, with its measures, deadline and who is responsible;
    closed out (销号) with evidence, reopened by the county on review. Every change is a
    service in ``dispatch.problems`` that writes a ``WorkProblemLog`` row."""

    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("所属单位"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("乡镇（街道）或县（区）本级"),
    )
    category = models.CharField(_("问题类别"), max_length=16, choices=WorkProblemCategory.choices)
    title = models.CharField(_("问题"), max_length=100)
    description = models.TextField(_("问题描述"))
    measures = models.TextField(_("整改措施"))
    deadline = models.DateField(_("整改时限"))
    responsible = models.CharField(_("责任人"), max_length=50)
    found_on = models.DateField(_("发现日期"))
    state = models.CharField(
        _("状态"),
        max_length=12,
        choices=WorkProblemState.choices,
        default=WorkProblemState.OPEN,
    )
    state_changed_at = models.DateTimeField(_("状态变更时间"), default=timezone.now)
    closed_at = models.DateTimeField(_("销号时间"), null=True, blank=True)
    closing_note = models.TextField(_("整改情况"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    objects = WorkProblemQuerySet.as_manager()

    class Meta:
        verbose_name = _("工作推进问题")
        verbose_name_plural = _("工作推进问题")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The list page and the briefing: a region's problems by state.
            models.Index(fields=["region", "state"], name="dispatch_workproblem_region"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=WorkProblemState.values),
                name="dispatch_workproblem_known_state",
            ),
            models.CheckConstraint(
                condition=models.Q(category__in=WorkProblemCategory.values),
                name="dispatch_workproblem_known_category",
            ),
            # Closed ⇔ a close-out time: a reopened problem drops it.
            models.CheckConstraint(
                condition=(
                    models.Q(state=WorkProblemState.CLOSED, closed_at__isnull=False)
                    | (~models.Q(state=WorkProblemState.CLOSED) & models.Q(closed_at__isnull=True))
                ),
                name="dispatch_workproblem_closed_has_time",
            ),
            models.CheckConstraint(
                condition=models.Q(deadline__gte=models.F("found_on")),
                name="dispatch_workproblem_deadline_after_found",
            ),
        ]

    def __str__(self):
        return self.title

    def clean(self):
        if self.deadline and self.found_on and self.deadline < self.found_on:
            raise ValidationError({"deadline": "整改时限不能早于发现日期。"})

    def overdue_days(self, today=None) -> int:
        """Days past the deadline while not closed (0 when not overdue)."""
        if self.state == WorkProblemState.CLOSED:
            return 0
        today = today or timezone.localdate()
        return max((today - self.deadline).days, 0)


class WorkProblemChildQuerySet(ScopedQuerySet):
    scope_lookup = "problem__region__code"


class WorkProblemLog(models.Model):
    """One change of a work-process problem: who, when, from, to, what (immutable)."""

    problem = models.ForeignKey(WorkProblem, on_delete=models.PROTECT, related_name="logs")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    at = models.DateTimeField(_("时间"), default=timezone.now)
    action = models.CharField(_("操作"), max_length=16)
    from_state = models.CharField(
        _("原状态"), max_length=12, choices=WorkProblemState.choices, blank=True
    )
    to_state = models.CharField(_("新状态"), max_length=12, choices=WorkProblemState.choices)
    note = models.TextField(_("说明"), blank=True)

    objects = WorkProblemChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("工作推进问题日志")
        verbose_name_plural = _("工作推进问题日志")
        ordering = ["at", "id"]
        indexes = [
            # The briefing's state at a cut-off: the last row of each problem up to a time.
            models.Index(fields=["problem", "at"], name="dispatch_workproblemlog_at"),
        ]

    def __str__(self):
        return f"{self.problem_id}: {self.from_state or '—'} → {self.to_state}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("work problem log rows are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("work problem log rows are immutable")


def evidence_path(instance, filename):
    return f"work_problems/{instance.problem_id}/{filename}"


class WorkProblemEvidence(models.Model):
    """A photo or a document filed with a close-out (销号), checked and stored by
    ``dispatch.evidence``; served only through the scoping, never as public media."""

    problem = models.ForeignKey(WorkProblem, on_delete=models.PROTECT, related_name="evidence")
    log = models.ForeignKey(WorkProblemLog, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(_("类型"), max_length=10, choices=EvidenceKind.choices)
    file = models.FileField(_("文件"), upload_to=evidence_path)
    name = models.CharField(_("文件名"), max_length=120)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(_("文件指纹"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    objects = WorkProblemChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("销号佐证材料")
        verbose_name_plural = _("销号佐证材料")
        ordering = ["id"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("evidence rows are immutable")
        super().save(*args, **kwargs)
