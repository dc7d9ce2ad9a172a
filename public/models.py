"""Plates, leads (public reports and maintenance requests) with their log, the townships'
service contacts and the 受益户公示 postings. Every model's queryset is scoped
(``visible_to``) through the village it belongs to."""

import datetime
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rectification.models import ImmutableQuerySet, LedgerEntry
from regions.scoping import ScopedQuerySet
from toilets.models import Toilet

from .choices import (
    CODE_ALPHABET,
    ENDED_LEAD_STATES,
    LOOKUP_CODE_LENGTH,
    MAINTENANCE_CATEGORIES,
    PLATE_NUMBER_LENGTH,
    REPORT_CATEGORIES,
    WAITING_STATES,
    LeadCategory,
    LeadKind,
    LeadState,
)


def random_code(length: int) -> str:
    """A code from ``CODE_ALPHABET`` drawn with ``secrets`` (never derived from an id)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def new_token() -> str:
    return secrets.token_urlsafe(18)  # 24 URL-safe characters, 144 bits


def answer_days() -> int:
    return settings.LEAD_ANSWER_DAYS


class ServiceContactQuerySet(ScopedQuerySet):
    scope_lookup = "township__code"


class ServiceContact(models.Model):
    """A township's public numbers: the service phone printed on its plates and shown on the
    public pages, and the 举报电话 printed on its 受益户公示."""

    township = models.OneToOneField(
        "regions.Region",
        verbose_name=_("乡镇"),
        on_delete=models.PROTECT,
        related_name="service_contact",
    )
    service_phone = models.CharField(_("服务电话"), max_length=20)
    complaint_phone = models.CharField(_("举报电话"), max_length=20, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ServiceContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("乡镇服务电话")
        verbose_name_plural = _("乡镇服务电话")

    def __str__(self):
        return f"{self.township_id}: {self.service_phone}"


class PlateQuerySet(ScopedQuerySet):
    scope_lookup = "toilet__village__code"

    def active(self):
        return self.filter(revoked_at__isnull=True)


class Plate(models.Model):
    """A toilet's service plate (服务标识牌): a printed number and the QR token of its public
    page, both random. A lost or defaced plate is revoked (its page answers 404) and a new one
    issued; at most one plate per toilet is in force."""

    toilet = models.ForeignKey(
        Toilet, verbose_name=_("厕所"), on_delete=models.PROTECT, related_name="plates"
    )
    number = models.CharField(_("牌号"), max_length=PLATE_NUMBER_LENGTH, unique=True)
    token = models.CharField(_("二维码令牌"), max_length=40, unique=True)
    issued_at = models.DateTimeField(_("制牌时间"), auto_now_add=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("制牌人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("作废人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    revoke_reason = models.CharField(_("作废原因"), max_length=100, blank=True)

    objects = PlateQuerySet.as_manager()

    class Meta:
        verbose_name = _("服务标识牌")
        verbose_name_plural = _("服务标识牌")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["toilet"],
                condition=Q(revoked_at__isnull=True),
                name="public_plate_one_active_per_toilet",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoke_reason=""),
                name="public_plate_revoked_with_reason",
            ),
        ]

    def __str__(self):
        return f"标识牌 {self.display_number}"

    @property
    def display_number(self) -> str:
        return f"{self.number[:4]}-{self.number[4:]}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class LeadQuerySet(ScopedQuerySet):
    scope_lookup = "village__code"

    def waiting(self):
        return self.filter(state__in=WAITING_STATES)

    def overdue(self, now=None):
        """Leads still waiting for the township ``LEAD_ANSWER_DAYS`` after they came in."""
        now = now or timezone.now()
        return self.waiting().filter(created_at__lt=now - datetime.timedelta(days=answer_days()))


def lead_photo_path(instance, filename):
    return f"public/leads/{instance.village_id}/{filename}"


class Lead(models.Model):
    """A public report or maintenance request (线索), from a plate's page or a 公示's page,
    with the short lookup code its sender checks the answer with."""

    kind = models.CharField(_("类型"), max_length=12, choices=LeadKind.choices)
    category = models.CharField(_("类别"), max_length=16, choices=LeadCategory.choices)
    code = models.CharField(_("查询码"), max_length=LOOKUP_CODE_LENGTH, unique=True)
    village = models.ForeignKey(
        "regions.Region", verbose_name=_("行政村"), on_delete=models.PROTECT, related_name="+"
    )
    toilet = models.ForeignKey(
        Toilet,
        verbose_name=_("厕所"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
    )
    plate = models.ForeignKey(
        Plate, verbose_name=_("标识牌"), on_delete=models.PROTECT, null=True, blank=True
    )
    posting = models.ForeignKey(
        "Posting",
        verbose_name=_("公示"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="objections",
    )
    description = models.TextField(_("情况描述"), max_length=500)
    photo = models.ImageField(_("照片"), upload_to=lead_photo_path, blank=True)
    phone = models.CharField(_("回访电话"), max_length=20, blank=True)
    state = models.CharField(
        _("状态"), max_length=12, choices=LeadState.choices, default=LeadState.NEW
    )
    answer = models.CharField(_("答复"), max_length=300, blank=True)
    assignee = models.CharField(_("承办人"), max_length=50, blank=True)
    ledger_entry = models.ForeignKey(
        LedgerEntry,
        verbose_name=_("整改台账"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)

    objects = LeadQuerySet.as_manager()

    class Meta:
        verbose_name = _("线索")
        verbose_name_plural = _("线索")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "created_at"], name="public_lead_state_created")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind=LeadKind.REPORT, category__in=[c.value for c in REPORT_CATEGORIES])
                    | Q(
                        kind=LeadKind.MAINTENANCE,
                        category__in=[c.value for c in MAINTENANCE_CATEGORIES],
                    )
                ),
                name="public_lead_category_of_kind",
            ),
            models.CheckConstraint(
                condition=Q(toilet__isnull=False) | Q(posting__isnull=False),
                name="public_lead_about_toilet_or_posting",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=[LeadState.CONVERTED, LeadState.MERGED])
                | Q(ledger_entry__isnull=False),
                name="public_lead_ledger_linked",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=[s.value for s in ENDED_LEAD_STATES]) | ~Q(answer=""),
                name="public_lead_ended_answered",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.code}"

    @property
    def is_ended(self) -> bool:
        return self.state in ENDED_LEAD_STATES

    def due_at(self):
        return self.created_at + datetime.timedelta(days=answer_days())

    def is_overdue(self, now=None) -> bool:
        return self.state in WAITING_STATES and (now or timezone.now()) > self.due_at()


class LeadLogQuerySet(ImmutableQuerySet):
    scope_lookup = "lead__village__code"


def log_photo_path(instance, filename):
    return f"public/leads/{instance.lead.village_id}/done/{filename}"


class LeadLog(models.Model):
    """An immutable row per step of a lead: who (none for the public's own filing), when,
    from, to, the note, and for a finished maintenance request its photo."""

    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="log")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    action = models.CharField(_("操作"), max_length=12)
    from_state = models.CharField(_("原状态"), max_length=12, choices=LeadState.choices, blank=True)
    to_state = models.CharField(_("新状态"), max_length=12, choices=LeadState.choices)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    photo = models.ImageField(_("照片"), upload_to=log_photo_path, blank=True)

    objects = LeadLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("线索日志")
        verbose_name_plural = _("线索日志")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.lead_id}: {self.from_state or '—'} → {self.to_state}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("lead log rows are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("lead log rows are immutable")


class PostingQuerySet(ScopedQuerySet):
    scope_lookup = "village__code"


def posting_photo_path(instance, filename):
    return f"public/postings/{instance.village_id}/{filename}"


class Posting(models.Model):
    """A 受益户信息公示 of one village for one year: the list as it was drawn up (names and
    masked ID numbers only, frozen), the 举报电话, the posting period, and the township's
    record that it was posted (date and photo)."""

    village = models.ForeignKey(
        "regions.Region", verbose_name=_("行政村"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    rows = models.JSONField(_("公示名单"), default=list)
    complaint_phone = models.CharField(_("举报电话"), max_length=20)
    starts_on = models.DateField(_("公示开始"))
    ends_on = models.DateField(_("公示结束"))
    token = models.CharField(_("异议二维码令牌"), max_length=40, unique=True, default=new_token)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    posted_on = models.DateField(_("张贴日期"), null=True, blank=True)
    posted_photo = models.ImageField(_("张贴照片"), upload_to=posting_photo_path, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = PostingQuerySet.as_manager()

    class Meta:
        verbose_name = _("受益户公示")
        verbose_name_plural = _("受益户公示")
        ordering = ["-year", "village__code"]
        constraints = [
            models.UniqueConstraint(fields=["village", "year"], name="public_posting_one_per_year"),
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="public_posting_period"
            ),
        ]

    def __str__(self):
        return f"{self.year}年受益户公示 · {self.village_id}"

    def is_open(self, today=None) -> bool:
        today = today or timezone.localdate()
        return self.starts_on <= today <= self.ends_on
