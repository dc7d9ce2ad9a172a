from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.jobs import Job, JobStatus
from regions.choices import Level
from regions.models import Region
from regions.scoping import ScopedQuerySet
from toilets.models import Toilet

from .choices import (
    PROBLEM_USABILITY,
    CheckMethod,
    InspectionStatus,
    RoundKind,
    RoundStatus,
    Usability,
)


class ReportTemplate(models.Model):
    """The summary form a round reports on, with its build-year buckets (columns 22–28).

    ``year_buckets`` is a list of ``{"label": str, "from": int|None, "to": int|None}``
    (inclusive years; None = open-ended). A toilet outside every bucket is a data error.
    """

    name = models.CharField(_("名称"), max_length=100, unique=True)
    year_buckets = models.JSONField(_("建造年份分段"))
    is_default = models.BooleanField(_("默认"), default=False)

    class Meta:
        verbose_name = _("报表模板")
        verbose_name_plural = _("报表模板")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="surveys_reporttemplate_one_default",
            )
        ]

    def __str__(self):
        return self.name

    def bucket_of(self, year: int) -> str | None:
        for bucket in self.year_buckets:
            if (bucket["from"] is None or year >= bucket["from"]) and (
                bucket["to"] is None or year <= bucket["to"]
            ):
                return bucket["label"]
        return None


class ReconciliationNoteQuerySet(ScopedQuerySet):
    scope_lookup = "village__code"


class SurveyRoundQuerySet(ScopedQuerySet):
    scope_lookup = "county__code"

    def scope_prefix(self, scope):
        """A round belongs to a county: everybody in that county (and above it) sees it."""
        return scope.prefix[:6]

    def open(self):
        return self.filter(status=RoundStatus.OPEN)


class SurveyRound(models.Model):
    """A survey campaign of one county: 摸排, 回头看 (re-check) or 后续 (follow-up)."""

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=12, choices=RoundKind.choices)
    county = models.ForeignKey(
        Region, verbose_name=_("县（区）"), on_delete=models.PROTECT, related_name="survey_rounds"
    )
    start_date = models.DateField(_("开始日期"))
    end_date = models.DateField(_("结束日期"))
    # The last day the townships may submit their rows (the county's page marks the late ones).
    submission_deadline = models.DateField(
        _("报送截止"),
        null=True,
        blank=True,
        help_text=_("各乡镇上报汇总数据的最后一天（可不填）。"),
    )
    previous = models.ForeignKey(
        "self",
        verbose_name=_("上一轮"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="next_rounds",
    )
    template = models.ForeignKey(
        ReportTemplate, verbose_name=_("报表模板"), on_delete=models.PROTECT
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=RoundStatus.choices, default=RoundStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = SurveyRoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("摸排轮次")
        verbose_name_plural = _("摸排轮次")
        ordering = ["-start_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "name"], name="surveys_surveyround_name_in_county"
            ),
            models.UniqueConstraint(
                fields=["county"],
                condition=models.Q(status=RoundStatus.OPEN),
                name="surveys_surveyround_one_open_per_county",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")),
                name="surveys_surveyround_dates_in_order",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status == RoundStatus.OPEN

    def clean(self):
        errors = {}
        if self.county_id and self.county.level != Level.COUNTY:
            errors["county"] = "摸排轮次只能由县（区）组织。"
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = "结束日期不能早于开始日期。"
        if (
            self.start_date
            and self.submission_deadline
            and self.submission_deadline < self.start_date
        ):
            errors["submission_deadline"] = "报送截止日期不能早于开始日期。"
        if self.previous_id:
            if self.previous.county_id != self.county_id:
                errors["previous"] = "上一轮必须是同一县（区）的轮次。"
            elif self.pk and self.previous_id == self.pk:
                errors["previous"] = "上一轮不能是本轮。"
        if self.kind == RoundKind.LOOK_BACK and not self.previous_id:
            errors["previous"] = "“回头看”须指定上一轮摸排。"
        if errors:
            raise ValidationError(errors)


class ProblemCategory(models.Model):
    """One of the eight problem categories (summary columns 12–19)."""

    code = models.CharField(_("代码"), max_length=20, primary_key=True)
    name = models.CharField(_("名称"), max_length=20, unique=True)
    column = models.PositiveSmallIntegerField(_("汇总表列号"), unique=True)

    class Meta:
        verbose_name = _("问题类型")
        verbose_name_plural = _("问题类型")
        ordering = ["column"]

    def __str__(self):
        return self.name


class InspectionQuerySet(ScopedQuerySet):
    # The inspection's own copy of its toilet's village (see Inspection.village): one join
    # fewer than through the toilet, for every scoped read of inspections.
    scope_lookup = "village__code"


class Inspection(models.Model):
    """One toilet checked in one round, signed by the surveyor who checked it on site."""

    round = models.ForeignKey(
        SurveyRound,
        verbose_name=_("轮次"),
        on_delete=models.PROTECT,
        related_name="inspections",
        db_index=False,  # three indexes below lead with the round
    )
    toilet = models.ForeignKey(
        Toilet, verbose_name=_("厕所"), on_delete=models.PROTECT, related_name="inspections"
    )
    # The toilet's village, kept on the inspection so that counts per village and the scoping
    # read inspections without joining every toilet. Set from the toilet on every save (and by
    # the bulk writers); a database trigger (migration 0005) follows a toilet that moves to
    # another village, whatever moved it.
    village = models.ForeignKey(
        Region,
        verbose_name=_("行政村"),
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,  # the (round, village) index below leads with the round
        # No foreign-key check of its own: the trigger (0006) always takes it from the
        # toilet's village, which is checked; regions are never deleted (abolished instead).
        db_constraint=False,
    )
    surveyor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("摸排人"),
        on_delete=models.PROTECT,
        related_name="inspections",
        db_index=False,  # the (surveyor, created_at) index below leads with it
    )
    partner_name = models.CharField(_("同组摸排人"), max_length=50)
    inspected_at = models.DateTimeField(_("摸排时间"))
    household_present = models.BooleanField(_("农户在家"), default=True)
    check_method = models.CharField(_("核查方式"), max_length=16, choices=CheckMethod.choices)
    usability = models.CharField(_("使用情况"), max_length=16, choices=Usability.choices)
    categories = models.ManyToManyField(
        ProblemCategory, verbose_name=_("问题类型"), blank=True, related_name="inspections"
    )
    minor_fixes = models.CharField(
        _("立行立改"),
        max_length=200,
        blank=True,
        help_text=_("当场修好的小毛病（灯具、水龙头、便盆、门等），不算问题厕所"),
    )
    notes = models.TextField(_("备注"), blank=True)
    evidence_reason = models.CharField(
        _("无照片或照片位置偏远的原因"),
        max_length=200,
        blank=True,
        help_text=_("问题厕所没有照片，或照片拍摄位置远离厕所时，摸排员确认的原因"),
    )
    # The phone's own position when the surveyor saved (best effort; the page's script or
    # the offline app fills it), next to the photos' EXIF positions.
    device_latitude = models.DecimalField(
        _("保存时手机纬度"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    device_longitude = models.DecimalField(
        _("保存时手机经度"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    device_accuracy = models.PositiveIntegerField(_("手机定位精度（米）"), null=True, blank=True)
    signed = models.BooleanField(_("签字确认"), default=False)
    status = models.CharField(
        _("核查状态"),
        max_length=10,
        choices=InspectionStatus.choices,
        default=InspectionStatus.SUBMITTED,
    )
    return_reason = models.CharField(_("退回原因"), max_length=200, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核查人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    verified_at = models.DateTimeField(_("核查时间"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # History rows are read by inspection (id) and by toilet (the household's timeline): no
    # other index, and no database check of the user (an import writes 100,000 of them).
    history = HistoricalRecords(
        excluded_fields=["updated_at", "village"],
        no_db_index=["round", "surveyor", "verified_by"],
        user_db_constraint=False,
    )
    objects = InspectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("摸排记录")
        verbose_name_plural = _("摸排记录")
        ordering = ["-inspected_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "toilet"], name="surveys_inspection_one_per_toilet_per_round"
            ),
            models.CheckConstraint(
                condition=models.Q(signed=True),
                name="surveys_inspection_signed",
                violation_error_message="请勾选“本人对摸排结果真实性负责”后再保存。",
            ),
        ]
        indexes = [
            # The township's queue and the surveyor's worklist, per round.
            models.Index(fields=["round", "status"], name="surveys_insp_round_status"),
            # Coverage and activity per village (dashboards, completeness).
            models.Index(fields=["round", "village"], name="surveys_insp_round_village"),
            # Office-made detection: one account's saves in time order.
            models.Index(fields=["surveyor", "created_at"], name="surveys_insp_surveyor_time"),
        ]

    def __str__(self):
        return f"{self.round} · {self.toilet}"

    def save(self, *args, **kwargs):
        if self.toilet_id is not None:
            self.village_id = self.toilet.village_id
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "village" not in update_fields:
                kwargs["update_fields"] = [*update_fields, "village"]
        super().save(*args, **kwargs)

    @property
    def is_problem(self) -> bool:
        return self.usability in PROBLEM_USABILITY


class InspectionChildQuerySet(ScopedQuerySet):
    scope_lookup = "inspection__village__code"


def photo_path(instance, filename):
    return f"inspections/{instance.inspection.round_id}/{instance.inspection_id}/{filename}"


class InspectionPhoto(models.Model):
    """An on-site photo; EXIF time and GPS kept when the camera wrote them."""

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("摸排记录"), on_delete=models.CASCADE, related_name="photos"
    )
    image = models.ImageField(_("照片"), upload_to=photo_path)
    thumbnail = models.ImageField(_("缩略图"), upload_to=photo_path)
    sha256 = models.CharField(_("文件指纹"), max_length=64, db_index=True)
    taken_at = models.DateTimeField(_("拍摄时间"), null=True, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = InspectionChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("摸排照片")
        verbose_name_plural = _("摸排照片")
        ordering = ["id"]

    def __str__(self):
        return f"照片 {self.sha256[:8]}"


class FlagKind(models.TextChoices):
    BURST = "burst", "短时间内连续录入"
    REUSED_PHOTO = "reused_photo", "照片在其他厕所重复使用"
    NO_PHOTO = "no_photo", "问题厕所没有照片"
    FAR_FROM_TOILET = "far_from_toilet", "照片位置远离厕所"
    FAR_FROM_VILLAGE = "far_from_village", "照片位置远离本村其他厕所"
    # Not computed by refresh_flags: written when an offline record replaced another one.
    OVERWROTE = "overwrote", "离线记录覆盖了他人录入"


class InspectionFlag(models.Model):
    """A sign that an inspection may have been made in the office, not on site."""

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("摸排记录"), on_delete=models.CASCADE, related_name="flags"
    )
    kind = models.CharField(_("类型"), max_length=20, choices=FlagKind.choices)
    detail = models.CharField(_("说明"), max_length=200)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cleared_note = models.CharField(_("核实说明"), max_length=200, blank=True)

    objects = InspectionChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("疑似办公室摸排")
        verbose_name_plural = _("疑似办公室摸排")
        constraints = [
            models.UniqueConstraint(
                fields=["inspection", "kind"], name="surveys_inspectionflag_one_per_kind"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()}：{self.detail}"


class SpotCheckCampaignQuerySet(ScopedQuerySet):
    """A campaign is seen by its unit and the units above it; the counties it checks see only
    their own sample (through the round), never the campaign's page."""

    scope_lookup = "region__code"


class SpotCheckCampaign(models.Model):
    """A city's or the province's spot-check across the counties below it (市级抽查、省级抽验).

    One ``SpotCheckSample`` per county (its current round), drawn from the campaign's seed.
    The campaign's unit assigns checkers from other counties and publishes all its samples at
    once; until then the checked counties see neither the items nor the results.
    """

    region = models.ForeignKey(
        Region, verbose_name=_("组织单位"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("名称"), max_length=100)
    per_village = models.PositiveIntegerField(_("每村抽取户数"), null=True, blank=True)
    percent = models.PositiveSmallIntegerField(_("抽取比例（%）"), null=True, blank=True)
    seed = models.BigIntegerField(_("随机种子"))
    # Counties below the unit that got no sample, with the reason: [{"code", "name", "reason"}].
    skipped = models.JSONField(_("未抽取的县（区）"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(_("公布时间"), null=True, blank=True)

    objects = SpotCheckCampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("市级（省级）抽查")
        verbose_name_plural = _("市级（省级）抽查")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(per_village__isnull=False, percent__isnull=True)
                    | models.Q(per_village__isnull=True, percent__isnull=False)
                ),
                name="surveys_spotcheckcampaign_one_method",
            ),
            models.CheckConstraint(
                condition=models.Q(percent__isnull=True) | models.Q(percent__lte=100),
                name="surveys_spotcheckcampaign_percent_range",
            ),
            models.UniqueConstraint(
                fields=["region", "name"], name="surveys_spotcheckcampaign_name_in_region"
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("surveys:campaign-detail", args=[self.pk])

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def kind_label(self) -> str:
        return "省级抽验" if self.region.level == Level.PROVINCE else "市级抽查"


class CampaignDrawJobQuerySet(ScopedQuerySet):
    scope_lookup = "region__code"

    def of(self, user):
        """The draws ``user`` started, inside the user's region (somebody else's is a 404)."""
        return self.visible_to(user).filter(created_by=user.pk)


class CampaignDrawJob(Job):
    """Drawing a campaign in the background: a province's draw reads every inspection of
    every county below it, longer than a request may take. The form's values are checked
    when it is queued; the page follows the counties being drawn, then opens the campaign
    (``surveys.campaign_jobs``)."""

    region = models.ForeignKey(
        Region, verbose_name=_("组织单位"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("名称"), max_length=100)
    per_village = models.PositiveIntegerField(_("每村抽取户数"), null=True, blank=True)
    # Not ``percent``: that is the job's progress (core.jobs.Job).
    by_percent = models.PositiveSmallIntegerField(_("抽取比例（%）"), null=True, blank=True)
    seed = models.BigIntegerField(_("随机种子"))
    campaign = models.ForeignKey(
        SpotCheckCampaign, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    objects = CampaignDrawJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("抽查抽取任务")
        verbose_name_plural = _("抽查抽取任务")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One draw queued or running per person and unit: a double click is one draw.
            models.UniqueConstraint(
                fields=["region", "created_by"],
                condition=models.Q(status__in=[JobStatus.PENDING, JobStatus.RUNNING]),
                name="surveys_campaigndrawjob_one_active",
            ),
        ]

    def __str__(self):
        return f"{self.name} {self.get_status_display()}"


class SpotCheckSample(models.Model):
    """A reproducible random sample of a round's inspections, drawn by the county (抽查), or
    by a city or the province as part of a ``campaign`` (then the county is the one checked)."""

    round = models.ForeignKey(
        SurveyRound, verbose_name=_("轮次"), on_delete=models.PROTECT, related_name="samples"
    )
    campaign = models.ForeignKey(
        SpotCheckCampaign,
        verbose_name=_("市级（省级）抽查"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="samples",
    )
    per_village = models.PositiveIntegerField(_("每村抽取户数"), null=True, blank=True)
    percent = models.PositiveSmallIntegerField(_("抽取比例（%）"), null=True, blank=True)
    seed = models.BigIntegerField(_("随机种子"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(_("公布时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("抽查样本")
        verbose_name_plural = _("抽查样本")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(per_village__isnull=False, percent__isnull=True)
                    | models.Q(per_village__isnull=True, percent__isnull=False)
                ),
                name="surveys_spotchecksample_one_method",
            ),
            models.CheckConstraint(
                condition=models.Q(percent__isnull=True) | models.Q(percent__lte=100),
                name="surveys_spotchecksample_percent_range",
            ),
            # A campaign draws one sample per county, from that county's current round.
            models.UniqueConstraint(
                fields=["campaign", "round"],
                condition=models.Q(campaign__isnull=False),
                name="surveys_spotchecksample_once_per_campaign",
            ),
        ]

    def __str__(self):
        method = f"每村 {self.per_village} 户" if self.per_village else f"{self.percent}%"
        return f"{self.round} 抽查（{method}，种子 {self.seed}）"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class SpotCheckItemQuerySet(ScopedQuerySet):
    scope_lookup = "original__toilet__village__code"


class SpotCheckItem(models.Model):
    """One sampled inspection, re-inspected by an assigned inspector."""

    sample = models.ForeignKey(
        SpotCheckSample, verbose_name=_("样本"), on_delete=models.CASCADE, related_name="items"
    )
    original = models.ForeignKey(
        Inspection, verbose_name=_("原摸排记录"), on_delete=models.PROTECT, related_name="+"
    )
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("抽查人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="spot_checks",
    )
    usability = models.CharField(
        _("抽查使用情况"), max_length=16, choices=Usability.choices, blank=True
    )
    categories = models.ManyToManyField(ProblemCategory, verbose_name=_("抽查问题类型"), blank=True)
    notes = models.CharField(_("抽查说明"), max_length=200, blank=True)
    checked_at = models.DateTimeField(_("抽查时间"), null=True, blank=True)
    differs = models.BooleanField(_("与原记录不一致"), null=True)

    objects = SpotCheckItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("抽查记录")
        verbose_name_plural = _("抽查记录")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sample", "original"], name="surveys_spotcheckitem_once_per_sample"
            )
        ]

    def __str__(self):
        return f"抽查 {self.original}"


class ReconciliationNote(models.Model):
    """The surveyor's reason for one change found by a 回头看 round against the previous one."""

    round = models.ForeignKey(
        SurveyRound, on_delete=models.CASCADE, related_name="reconciliation_notes"
    )
    village = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    change_key = models.CharField(_("变化"), max_length=80)
    reason = models.CharField(_("原因"), max_length=200)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now=True)

    objects = ReconciliationNoteQuerySet.as_manager()

    class Meta:
        verbose_name = _("回头看变化说明")
        verbose_name_plural = _("回头看变化说明")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "change_key"], name="surveys_reconciliationnote_one_per_change"
            )
        ]

    def __str__(self):
        return f"{self.change_key}：{self.reason}"


# Offline sync ------------------------------------------------------------------------------


class SyncOutcome(models.TextChoices):
    STORED = "stored", "已保存"
    CORRECTION_FILED = "correction_filed", "已提交更正申请"


class SyncReceipt(models.Model):
    """One offline record received: the client's idempotency key, stored in the same
    transaction as what the record did, so a record sent twice is stored once."""

    key = models.UUIDField(_("客户端记录编号"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    inspection = models.ForeignKey(
        Inspection, on_delete=models.CASCADE, null=True, related_name="sync_receipts"
    )
    correction = models.ForeignKey(
        "CorrectionRequest", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(_("结果"), max_length=20, choices=SyncOutcome.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = InspectionChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("离线记录回执")
        verbose_name_plural = _("离线记录回执")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="surveys_syncreceipt_once")
        ]

    def __str__(self):
        return f"{self.key} → {self.get_outcome_display()}"


class CorrectionStatus(models.TextChoices):
    PENDING = "pending", "待处理"
    HANDLED = "handled", "已处理"


class CorrectionRequest(models.Model):
    """A surveyor's correction of an inspection the township has already verified (which is
    final): kept as sent, with its photos, for the township to look at and handle."""

    inspection = models.ForeignKey(
        Inspection,
        verbose_name=_("摸排记录"),
        on_delete=models.CASCADE,
        related_name="correction_requests",
    )
    surveyor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("提交人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    payload = models.JSONField(_("更正内容"))
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    status = models.CharField(
        _("状态"),
        max_length=10,
        choices=CorrectionStatus.choices,
        default=CorrectionStatus.PENDING,
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    handled_note = models.CharField(_("处理说明"), max_length=200, blank=True)

    objects = InspectionChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("更正申请")
        verbose_name_plural = _("更正申请")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["inspection", "status"], name="surveys_correction_insp_status")
        ]

    def __str__(self):
        return f"更正申请 #{self.pk}（{self.inspection}）"

    @property
    def is_pending(self) -> bool:
        return self.status == CorrectionStatus.PENDING

    def summary(self) -> dict:
        """What the surveyor wants the record to say, in words (for the township's page)."""
        data = self.payload if isinstance(self.payload, dict) else {}
        usability = data.get("usability")
        codes = data.get("categories") or []
        names = dict(ProblemCategory.objects.filter(code__in=codes).values_list("code", "name"))
        return {
            "usability": Usability(usability).label if usability in Usability.values else "",
            "categories": [names.get(c, c) for c in codes if isinstance(c, str)],
            "minor_fixes": data.get("minor_fixes") or "",
            "notes": data.get("notes") or "",
            "partner_name": data.get("partner_name") or "",
            "inspected_at": data.get("inspected_at") or "",
            "evidence_reason": data.get("evidence_reason") or "",
        }


class CorrectionChildQuerySet(ScopedQuerySet):
    scope_lookup = "request__inspection__toilet__village__code"


def correction_photo_path(instance, filename):
    inspection = instance.request.inspection
    return f"corrections/{inspection.round_id}/{inspection.pk}/{instance.request_id}/{filename}"


class CorrectionPhoto(models.Model):
    """A photo sent with a correction request, checked and kept like an inspection photo."""

    request = models.ForeignKey(
        CorrectionRequest,
        verbose_name=_("更正申请"),
        on_delete=models.CASCADE,
        related_name="photos",
    )
    image = models.ImageField(_("照片"), upload_to=correction_photo_path)
    thumbnail = models.ImageField(_("缩略图"), upload_to=correction_photo_path)
    sha256 = models.CharField(_("文件指纹"), max_length=64)
    taken_at = models.DateTimeField(_("拍摄时间"), null=True, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = CorrectionChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("更正申请照片")
        verbose_name_plural = _("更正申请照片")
        ordering = ["id"]

    def __str__(self):
        return f"照片 {self.sha256[:8]}"
