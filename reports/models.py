"""Submissions of the summary table up the hierarchy, the units' seals, report jobs and the
weekly progress targets."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.jobs import JobStatus
from regions.codes import ancestor_codes
from regions.scoping import ScopedQuerySet, scope_of


class SubmissionKind(models.TextChoices):
    TOWNSHIP = "township", "乡镇上报"
    COUNTY = "county", "县级报送"
    # A city's (or the province's) table, built from the accepted tables one level down for a
    # collection (``Collection``), stamped like the county's.
    CITY = "city", "市级报送"
    PROVINCE = "province", "省级汇总"


# The stamped kinds: a frozen table with a verification code and a stamped file.
STAMPED_KINDS = [SubmissionKind.COUNTY, SubmissionKind.CITY, SubmissionKind.PROVINCE]
UPPER_KINDS = [SubmissionKind.CITY, SubmissionKind.PROVINCE]


class SubmissionStatus(models.TextChoices):
    SUBMITTED = "submitted", "已上报"  # a township's rows, waiting for the county
    ACCEPTED = "accepted", "已接收"
    RETURNED = "returned", "已退回"
    # A township's pending rows replaced by a newer version before the county looked at them.
    SUPERSEDED = "superseded", "已被新版本替代"
    FINAL = "final", "已报送"  # the county's stamped table (immutable)


class ExceptionReason(models.TextChoices):
    """Why a registered toilet of a submitted area has no verified inspection (a recorded
    exception to 全覆盖、不漏一户)."""

    VACANT = "vacant", "无人户无法入户"
    DEMOLISHED = "demolished", "房屋已拆除"
    OTHER = "other", "其他"


TOWNSHIP_STATUSES = [
    SubmissionStatus.SUBMITTED,
    SubmissionStatus.ACCEPTED,
    SubmissionStatus.RETURNED,
    SubmissionStatus.SUPERSEDED,
]


class SubmissionQuerySet(ScopedQuerySet):
    # A township sees its own submissions; the county its townships' and its own.
    scope_lookup = "region__code"


class Submission(models.Model):
    """A frozen copy of summary rows sent up: a township's rows to the county, or the county's
    whole table (with its stamped spreadsheet). The numbers never change after submission; a
    correction is a new version."""

    # A township's or a county's table belongs to a county's round; a city's or the province's
    # to a collection of the tables below it.
    survey_round = models.ForeignKey(
        "surveys.SurveyRound",
        verbose_name=_("轮次"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    collection = models.ForeignKey(
        "reports.Collection",
        verbose_name=_("汇总任务"),
        on_delete=models.PROTECT,
        related_name="tables",
        null=True,
        blank=True,
    )
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("填报单位"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("类型"), max_length=10, choices=SubmissionKind.choices)
    version = models.PositiveIntegerField(_("版本"))
    status = models.CharField(_("状态"), max_length=10, choices=SubmissionStatus.choices)
    cutoff = models.DateTimeField(_("数据截止时间"))
    rows = models.JSONField(_("各行数据"))  # [{"code", "name", "values": {"1": n, …}}]
    total = models.JSONField(_("合计"))  # {"1": n, …}
    sources = models.JSONField(_("数据来源"), default=dict)  # ids behind the numbers
    # The coverage at submission, frozen with the numbers: per village registered / inspected /
    # verified toilets and the exceptions recorded for the ones without a verified inspection
    # (see reports.completeness.Coverage.frozen).
    coverage = models.JSONField(_("摸排覆盖情况"), default=dict, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("报送人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("报送时间"), auto_now_add=True)
    filler_name = models.CharField(_("填报人"), max_length=50)
    filler_phone = models.CharField(_("联系电话"), max_length=20)
    filled_on = models.DateField(_("填报日期"))
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    return_reason = models.CharField(_("退回原因"), max_length=300, blank=True)
    code = models.CharField(_("核验码"), max_length=16, blank=True, db_index=True)
    file = models.FileField(_("盖章汇总表"), upload_to="submissions/", blank=True)
    sha256 = models.CharField(_("文件指纹"), max_length=64, blank=True, db_index=True)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        verbose_name = _("汇总表报送")
        verbose_name_plural = _("汇总表报送")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey_round", "region", "version"], name="reports_submission_version"
            ),
            models.UniqueConstraint(
                fields=["collection", "region", "version"],
                name="reports_submission_collection_version",
            ),
            # A round's tables have a round; a collection's tables a collection.
            models.CheckConstraint(
                condition=(
                    models.Q(
                        kind__in=[SubmissionKind.TOWNSHIP, SubmissionKind.COUNTY],
                        survey_round__isnull=False,
                        collection__isnull=True,
                    )
                    | models.Q(
                        kind__in=UPPER_KINDS, survey_round__isnull=True, collection__isnull=False
                    )
                ),
                name="reports_submission_round_or_collection",
            ),
            models.UniqueConstraint(
                fields=["code"], condition=~models.Q(code=""), name="reports_submission_code"
            ),
            # The county reviews one pending version per township and round: submitting a new
            # one supersedes the pending one first.
            models.UniqueConstraint(
                fields=["survey_round", "region"],
                condition=models.Q(status=SubmissionStatus.SUBMITTED),
                name="reports_submission_one_pending",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind=SubmissionKind.TOWNSHIP, status__in=TOWNSHIP_STATUSES)
                    | models.Q(kind__in=STAMPED_KINDS, status=SubmissionStatus.FINAL)
                ),
                name="reports_submission_status_fits_kind",
            ),
            # Only a stamped table carries a verification code.
            models.CheckConstraint(
                condition=models.Q(kind__in=STAMPED_KINDS) | models.Q(code=""),
                name="reports_submission_code_only_on_county",
            ),
        ]

    def __str__(self):
        return f"{self.region} · {self.period} · 第{self.version}版"

    @property
    def period(self) -> str:
        """What the table reports on: the round's name, or the collection's."""
        if self.survey_round_id:
            return self.survey_round.name
        return self.collection.name if self.collection_id else ""


class SealQuerySet(ScopedQuerySet):
    scope_lookup = "region__code"


class Seal(models.Model):
    """A unit's seal image, uploaded once by its administrator, placed on stamped tables."""

    region = models.OneToOneField(
        "regions.Region", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="seal"
    )
    image = models.ImageField(_("印章图片"), upload_to="seals/")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now=True)

    objects = SealQuerySet.as_manager()

    class Meta:
        verbose_name = _("单位印章")
        verbose_name_plural = _("单位印章")

    def __str__(self):
        return f"{self.region} 印章"


class ReportJobQuerySet(ScopedQuerySet):
    scope_lookup = "region__code"


class ReportJob(models.Model):
    """A long build or export run by Celery; the page polls its progress."""

    kind = models.CharField(_("类型"), max_length=30)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    params = models.JSONField(default=dict)
    status = models.CharField(
        _("状态"), max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING
    )
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    result = models.FileField(upload_to="jobs/", blank=True)
    result_name = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When a worker took the job (reports.jobs.run_job); see reports.jobs.sweep_interrupted.
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ReportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("报表任务")
        verbose_name_plural = _("报表任务")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.kind} {self.get_status_display()}"

    def get_absolute_url(self):
        return reverse("reports:job", args=[self.pk])

    @property
    def percent(self) -> int:
        return (
            100
            if self.status == JobStatus.DONE
            else (100 * self.done // self.total if self.total else 0)
        )


class ProgressTargetQuerySet(ScopedQuerySet):
    scope_lookup = "village__code"


class ProgressTarget(models.Model):
    """A village in the year's 整村推进 programme and its targets (seed 003)."""

    year = models.PositiveSmallIntegerField(_("年度"))
    village = models.ForeignKey(
        "regions.Region", verbose_name=_("整村推进村"), on_delete=models.PROTECT, related_name="+"
    )
    new_builds = models.PositiveIntegerField(_("新建目标"), default=0)
    rectifications = models.PositiveIntegerField(_("整改目标"), default=0)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProgressTargetQuerySet.as_manager()

    class Meta:
        verbose_name = _("整村推进目标")
        verbose_name_plural = _("整村推进目标")
        ordering = ["year", "village__code"]
        constraints = [
            models.UniqueConstraint(fields=["year", "village"], name="reports_target_one_per_year")
        ]

    def __str__(self):
        return f"{self.year} {self.village}"


class VillageVersion(models.Model):
    """A counter per village, bumped by database triggers (migration 0005) in the same
    transaction as every write to the village's toilets, inspections, ledger entries or their
    categories, whatever wrote them (a page, the API, an import, the admin, a bulk update).
    A village rollup computed at version ``n`` is current while the counter is still ``n``."""

    # No database constraint: a trigger bumps the counter of a village whose rows are being
    # deleted, possibly after the village itself (a test database's flush); a counter
    # left behind is harmless (a rollup is compared with whatever the counter says).
    village = models.OneToOneField(
        "regions.Region",
        primary_key=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("行政村数据版本")
        verbose_name_plural = _("行政村数据版本")

    def __str__(self):
        return f"{self.village_id} v{self.version}"


class VillageRollup(models.Model):
    """Columns 1–32 of one village for one round as of ``computed_at`` (reports/rollups.py):
    the county and city tables add these up instead of scanning every toilet. Current while
    the village's version is ``version``, the round's opening and template give ``basis``, and
    the clock has not reached ``valid_until`` (a record dated later than the computation)."""

    survey_round = models.ForeignKey(
        "surveys.SurveyRound", on_delete=models.CASCADE, related_name="+"
    )
    village = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="+")
    # {"1": n, …, "32": n, "unplaced": n}: "unplaced" counts the problem toilets the table
    # could not place (build.data_errors lists them).
    values = models.JSONField()
    version = models.BigIntegerField()
    basis = models.CharField(max_length=64)
    computed_at = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("行政村汇总")
        verbose_name_plural = _("行政村汇总")
        constraints = [
            models.UniqueConstraint(
                fields=["survey_round", "village"], name="reports_villagerollup_one_per_round"
            )
        ]

    def __str__(self):
        return f"{self.survey_round_id}/{self.village_id} v{self.version}"


# The chain above the county ------------------------------------------------------------------


class CollectionQuerySet(ScopedQuerySet):
    scope_lookup = "region__code"

    def visible_to(self, user):
        """The collecting unit and everybody above it see a collection; so does every unit
        below it, which has to know what is asked of it and by when."""
        scope = scope_of(user)
        if scope is None:
            return self.none()
        if scope.is_global:
            return self.all()
        above = ancestor_codes(scope.region.code) if scope.region is not None else []
        return self.filter(
            models.Q(region__code__startswith=scope.prefix) | models.Q(region__code__in=above)
        )


class Collection(models.Model):
    """A city's or the province's call for the summary tables one level down (汇总任务):
    e.g. 钦州市 asks its counties for the 2026 table by 5月10日 (seed 000), and sends its own
    table, built from the accepted ones, up to the province's collection (``parent``)."""

    region = models.ForeignKey(
        "regions.Region", verbose_name=_("汇总单位"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("名称"), max_length=100)
    template = models.ForeignKey(
        "surveys.ReportTemplate", verbose_name=_("报表模板"), on_delete=models.PROTECT
    )
    deadline = models.DateField(_("报送截止"), help_text=_("下级单位报送汇总表的最后一天。"))
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上报至"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text=_("本单位汇总表报送的上级汇总任务（省级）。"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CollectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("汇总任务")
        verbose_name_plural = _("汇总任务")
        ordering = ["-deadline", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="reports_collection_name"),
        ]

    def __str__(self):
        return f"{self.region} · {self.name}"

    def get_absolute_url(self):
        return reverse("reports:collection", args=[self.pk])


class DeliveryStatus(models.TextChoices):
    SUBMITTED = "submitted", "已上报"
    ACCEPTED = "accepted", "已接收"
    RETURNED = "returned", "已退回"
    SUPERSEDED = "superseded", "已被新版本替代"


class DeliveryQuerySet(ScopedQuerySet):
    # The sender sees its own deliveries; the collecting unit (above) sees its units'.
    scope_lookup = "region__code"


class Delivery(models.Model):
    """A stamped table sent up to a collection: a county's table to its city, a city's to the
    province. The receiver accepts it or returns it with a reason; its review note reaches
    the sender only with the decision."""

    collection = models.ForeignKey(
        Collection, verbose_name=_("汇总任务"), on_delete=models.PROTECT, related_name="deliveries"
    )
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("报送单位"), on_delete=models.PROTECT, related_name="+"
    )
    submission = models.ForeignKey(
        Submission, verbose_name=_("盖章汇总表"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.SUBMITTED
    )
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("报送人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    delivered_at = models.DateTimeField(_("报送时间"), auto_now_add=True)
    # The receiver's working notes: shown to the sender only once accepted or returned.
    review_note = models.TextField(_("审核意见"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    return_reason = models.CharField(_("退回原因"), max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("上报记录")
        verbose_name_plural = _("上报记录")
        ordering = ["-delivered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "region"],
                condition=models.Q(status__in=["submitted", "accepted"]),
                name="reports_delivery_one_live",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="returned") | ~models.Q(return_reason=""),
                name="reports_delivery_returned_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.region} → {self.collection}"

    def get_absolute_url(self):
        return reverse("reports:delivery", args=[self.pk])

    @property
    def decided(self) -> bool:
        """The receiver's decision (and its note) has been sent back."""
        return self.status in (DeliveryStatus.ACCEPTED, DeliveryStatus.RETURNED)
