from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.geo import FAR_METRES
from regions.scoping import ScopedQuerySet
from surveys.choices import Usability
from surveys.models import Inspection, ProblemCategory, SurveyRound
from toilets.models import Toilet

from .choices import (
    ENDED_STATES,
    OVERDUE_STATES,
    Cause,
    ConsentMethod,
    FundingSource,
    LedgerState,
    LocationSource,
    PhotoKind,
    PlanState,
    ProblemClass,
)


class LedgerEntryQuerySet(ScopedQuerySet):
    scope_lookup = "toilet__village__code"

    def open(self):
        return self.exclude(state__in=ENDED_STATES)

    def overdue(self, today=None, state="state"):
        """Entries whose deadline has passed while the work is still to be done. ``state``
        names the field holding the state to judge (an annotation: the state at a cut-off)."""
        today = today or timezone.localdate()
        return self.filter(**{f"{state}__in": OVERDUE_STATES}, deadline__lt=today)


class LedgerEntry(models.Model):
    """A problem toilet in the ledger (问题台账). A toilet has at most one open entry; a later
    finding updates it rather than opening a second one."""

    toilet = models.ForeignKey(
        Toilet, verbose_name=_("厕所"), on_delete=models.PROTECT, related_name="ledger_entries"
    )
    found_in = models.ForeignKey(
        SurveyRound, verbose_name=_("发现轮次"), on_delete=models.PROTECT, related_name="+"
    )
    # Empty for an entry opened from a public report the township verified (``open_from_report``)
    # until an inspection of the toilet updates it.
    opened_by_inspection = models.ForeignKey(
        Inspection,
        verbose_name=_("发现记录"),
        on_delete=models.PROTECT,
        related_name="opened_entries",
        null=True,
        blank=True,
    )
    last_inspection = models.ForeignKey(
        Inspection,
        verbose_name=_("最近摸排记录"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    usability = models.CharField(_("使用情况"), max_length=16, choices=Usability.choices)
    categories = models.ManyToManyField(ProblemCategory, verbose_name=_("问题类型"))
    state = models.CharField(
        _("状态"), max_length=12, choices=LedgerState.choices, default=LedgerState.REGISTERED
    )
    # The township's rectification plan (整改方案).
    problem_class = models.CharField(
        _("整改类别"), max_length=12, choices=ProblemClass.choices, blank=True
    )
    cause = models.CharField(_("问题原因"), max_length=12, choices=Cause.choices, blank=True)
    measures = models.TextField(_("整改措施"), blank=True)
    tech_route = models.CharField(_("技术路线"), max_length=100, blank=True)
    funding_source = models.CharField(
        _("资金来源"), max_length=12, choices=FundingSource.choices, blank=True
    )
    deadline = models.DateField(_("整改时限"), null=True, blank=True)
    target_year = models.PositiveSmallIntegerField(_("计划完成年度"), null=True, blank=True)
    responsible_person = models.CharField(_("责任人"), max_length=50, blank=True)
    responsible_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    # Stamps of the workflow (the log holds the whole story; these make lists cheap).
    version = models.PositiveIntegerField(default=1, editable=False)
    state_changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("销号时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("复核人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("复核时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("问题台账")
        verbose_name_plural = _("问题台账")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["toilet"],
                condition=~models.Q(state__in=ENDED_STATES),
                name="rectification_ledgerentry_one_open_per_toilet",
            ),
            models.CheckConstraint(
                condition=~models.Q(state=LedgerState.CLOSED) | models.Q(closed_at__isnull=False),
                name="rectification_ledgerentry_closed_stamped",
            ),
            # A problem not fixable in the short term carries the year it is planned for (the
            # 时间表 of the township's plan); ``services.clean_plan`` says so in words.
            models.CheckConstraint(
                condition=~models.Q(problem_class=ProblemClass.HARD)
                | models.Q(target_year__isnull=False),
                name="rectification_ledgerentry_long_term_has_year",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "deadline"], name="rectification_state_deadline"),
        ]

    def __str__(self):
        return f"{self.toilet} · {self.get_state_display()}"

    def is_overdue(self, today=None) -> bool:
        today = today or timezone.localdate()
        return self.state in OVERDUE_STATES and self.deadline is not None and self.deadline < today


class ImmutableQuerySet(ScopedQuerySet):
    """Rows that are written once: bulk ``update()`` and ``delete()`` are refused too, so no
    code path (page, admin action, API, shell) can rewrite the record."""

    def update(self, **kwargs):
        raise ValueError(f"{self.model._meta.verbose_name} rows are immutable")

    def delete(self):
        raise ValueError(f"{self.model._meta.verbose_name} rows are immutable")

    delete.queryset_only = True


class LedgerLogQuerySet(ImmutableQuerySet):
    scope_lookup = "entry__toilet__village__code"


class LedgerLog(models.Model):
    """An immutable row per change of a ledger entry: who, when, from, to, note."""

    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="log")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    from_state = models.CharField(
        _("原状态"), max_length=12, choices=LedgerState.choices, blank=True
    )
    to_state = models.CharField(_("新状态"), max_length=12, choices=LedgerState.choices)
    action = models.CharField(_("操作"), max_length=16, blank=True)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    inspection = models.ForeignKey(
        Inspection, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = LedgerLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("台账日志")
        verbose_name_plural = _("台账日志")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.entry_id}: {self.from_state or '—'} → {self.to_state}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("ledger log rows are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("ledger log rows are immutable")


class ImmutableRow(models.Model):
    """Evidence written with a log row; like the log, never changed or deleted."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError(f"{self._meta.verbose_name} rows are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"{self._meta.verbose_name} rows are immutable")


class EvidenceQuerySet(ImmutableQuerySet):
    scope_lookup = "entry__toilet__village__code"


def evidence_path(instance, filename):
    return f"rectification/{instance.entry_id}/{filename}"


class EvidencePhoto(ImmutableRow):
    """A photo taken when rectification is recorded: where, when, in which village, by whom,
    and how far from the toilet's recorded position."""

    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="photos")
    log = models.ForeignKey(LedgerLog, on_delete=models.PROTECT, related_name="photos")
    kind = models.CharField(_("类型"), max_length=10, choices=PhotoKind.choices)
    image = models.ImageField(_("照片"), upload_to=evidence_path)
    thumbnail = models.ImageField(_("缩略图"), upload_to=evidence_path)
    sha256 = models.CharField(_("文件指纹"), max_length=64, db_index=True)
    taken_at = models.DateTimeField(_("拍摄时间"), null=True, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True)
    location_source = models.CharField(
        _("定位来源"), max_length=10, choices=LocationSource.choices, blank=True
    )
    distance_m = models.PositiveIntegerField(_("距厕所距离（米）"), null=True, blank=True)
    village = models.ForeignKey(
        "regions.Region", verbose_name=_("行政村"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("拍摄人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("整改照片")
        verbose_name_plural = _("整改照片")
        ordering = ["id"]

    def __str__(self):
        return f"整改照片 {self.sha256[:8]}"

    @property
    def is_far(self) -> bool:
        return self.distance_m is not None and self.distance_m > FAR_METRES


class AcceptanceCheck(ImmutableRow):
    """One checklist item's result, recorded with the acceptance (验收) it belongs to."""

    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="checks")
    log = models.ForeignKey(LedgerLog, on_delete=models.PROTECT, related_name="checks")
    code = models.CharField(_("项目编号"), max_length=20)
    standard = models.CharField(_("依据标准"), max_length=30)
    text = models.CharField(_("验收项目"), max_length=200)
    passed = models.BooleanField(_("是否合格"))

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("验收记录")
        verbose_name_plural = _("验收记录")
        ordering = ["id"]

    def __str__(self):
        return f"{self.text}：{'合格' if self.passed else '不合格'}"


class Consent(ImmutableRow):
    """The household's signed consent to the close-out (户主签字)."""

    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="consents")
    log = models.OneToOneField(LedgerLog, on_delete=models.PROTECT, related_name="consent")
    method = models.CharField(_("签字方式"), max_length=10, choices=ConsentMethod.choices)
    signer_name = models.CharField(_("签字人"), max_length=50)
    signed_on = models.DateField(_("签字日期"))
    image = models.ImageField(_("签字图片"), upload_to=evidence_path)
    sha256 = models.CharField(_("文件指纹"), max_length=64)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("户主签字")
        verbose_name_plural = _("户主签字")
        ordering = ["id"]

    def __str__(self):
        return f"{self.signer_name} {self.signed_on}"


class OverdueSnapshotQuerySet(ScopedQuerySet):
    scope_lookup = "township__code"


class OverdueSnapshot(models.Model):
    """The overdue entries of one township on one day, recorded by the daily beat task so the
    dashboard can show the trend."""

    day = models.DateField(_("日期"))
    township = models.ForeignKey(
        "regions.Region", verbose_name=_("乡镇"), on_delete=models.PROTECT, related_name="+"
    )
    count = models.PositiveIntegerField(_("逾期数"))
    entry_ids = models.JSONField(_("逾期台账"), default=list)

    objects = OverdueSnapshotQuerySet.as_manager()

    class Meta:
        verbose_name = _("逾期记录")
        verbose_name_plural = _("逾期记录")
        ordering = ["-day", "township__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "township"], name="rectification_overdue_one_per_day"
            )
        ]

    def __str__(self):
        return f"{self.day} {self.township_id}: {self.count}"


# Township rectification plans (整改方案) filed with the county (审核备案) ---------------------


class RectificationPlanQuerySet(ScopedQuerySet):
    # A township sees its own plans; the county (and above) its townships'.
    scope_lookup = "township__code"


class RectificationPlan(models.Model):
    """A township's rectification plan for one survey round (seed 001: 以乡镇为单位…制定整改方案…
    报县级…审核备案): the five sections the seed names and the ledger entries it covers.

    One row per township and round, moved through ``plans.PLAN_TRANSITIONS``; each move writes
    a ``PlanLog`` row, and a submission freezes the sections and entries in its log row, so
    every version the county saw stays readable."""

    survey_round = models.ForeignKey(
        SurveyRound, verbose_name=_("轮次"), on_delete=models.PROTECT, related_name="+"
    )
    township = models.ForeignKey(
        "regions.Region", verbose_name=_("乡镇"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(
        _("状态"), max_length=10, choices=PlanState.choices, default=PlanState.DRAFT
    )
    focus = models.TextField(_("整改重点"), blank=True)
    tech_route = models.TextField(_("技术路线"), blank=True)
    organization = models.TextField(_("力量组织"), blank=True)
    funding = models.TextField(_("经费保障"), blank=True)
    timeline = models.TextField(_("时限要求"), blank=True)
    # Many-to-many: an entry still open from an earlier round is covered by that round's plan
    # and again by the next round's (回头看), so an entry may be in several plans.
    entries = models.ManyToManyField(
        LedgerEntry, verbose_name=_("纳入的问题"), related_name="plans", blank=True
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    submissions = models.PositiveSmallIntegerField(_("报备次数"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("制定人"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("报备人"), on_delete=models.PROTECT,
        null=True, blank=True, related_name="+",
    )  # fmt: skip
    submitted_at = models.DateTimeField(_("报备时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("审核人"), on_delete=models.PROTECT,
        null=True, blank=True, related_name="+",
    )  # fmt: skip
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    return_reason = models.CharField(_("退回原因"), max_length=300, blank=True)

    objects = RectificationPlanQuerySet.as_manager()

    class Meta:
        verbose_name = _("整改方案")
        verbose_name_plural = _("整改方案")
        ordering = ["township__code", "-survey_round__start_date", "-id"]
        constraints = [
            # One live plan per township and round: a returned plan is corrected and submitted
            # again, its earlier versions are in the log.
            models.UniqueConstraint(
                fields=["survey_round", "township"],
                name="rectification_rectificationplan_one_per_round",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=[PlanState.DRAFT])
                | models.Q(submitted_at__isnull=False, submitted_by__isnull=False),
                name="rectification_rectificationplan_submitted_stamped",
            ),
            models.CheckConstraint(
                condition=~models.Q(state__in=[PlanState.ACCEPTED, PlanState.RETURNED])
                | models.Q(reviewed_at__isnull=False, reviewed_by__isnull=False),
                name="rectification_rectificationplan_reviewed_stamped",
            ),
            models.CheckConstraint(
                condition=~models.Q(state=PlanState.RETURNED) | ~models.Q(return_reason=""),
                name="rectification_rectificationplan_returned_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.township} · {self.survey_round} · 整改方案"


class PlanLogQuerySet(ImmutableQuerySet):
    scope_lookup = "plan__township__code"


class PlanLog(ImmutableRow):
    """An immutable row per move of a plan: who, when, from, to, why; a submission also keeps
    the sections and the entries as submitted (``snapshot``)."""

    plan = models.ForeignKey(RectificationPlan, on_delete=models.PROTECT, related_name="log")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    action = models.CharField(_("操作"), max_length=12)
    from_state = models.CharField(_("原状态"), max_length=10, choices=PlanState.choices, blank=True)
    to_state = models.CharField(_("新状态"), max_length=10, choices=PlanState.choices)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    snapshot = models.JSONField(_("报备内容"), default=dict, blank=True)

    objects = PlanLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("整改方案记录")
        verbose_name_plural = _("整改方案记录")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.plan_id}: {self.from_state or '—'} → {self.to_state}"
