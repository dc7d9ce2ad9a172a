from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from regions.scoping import ScopedQuerySet
from surveys.choices import Usability
from surveys.models import Inspection, ProblemCategory, SurveyRound
from toilets.models import Toilet

from .choices import ENDED_STATES, LedgerState


class LedgerEntryQuerySet(ScopedQuerySet):
    scope_lookup = "toilet__village__code"

    def open(self):
        return self.exclude(state__in=ENDED_STATES)


class LedgerEntry(models.Model):
    """A problem toilet in the ledger (问题台账). A toilet has at most one open entry; a later
    finding updates it rather than opening a second one."""

    toilet = models.ForeignKey(
        Toilet, verbose_name=_("厕所"), on_delete=models.PROTECT, related_name="ledger_entries"
    )
    found_in = models.ForeignKey(
        SurveyRound, verbose_name=_("发现轮次"), on_delete=models.PROTECT, related_name="+"
    )
    opened_by_inspection = models.ForeignKey(
        Inspection,
        verbose_name=_("发现记录"),
        on_delete=models.PROTECT,
        related_name="opened_entries",
    )
    last_inspection = models.ForeignKey(
        Inspection,
        verbose_name=_("最近摸排记录"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    usability = models.CharField(_("使用情况"), max_length=16, choices=Usability.choices)
    categories = models.ManyToManyField(ProblemCategory, verbose_name=_("问题类型"))
    state = models.CharField(
        _("状态"), max_length=12, choices=LedgerState.choices, default=LedgerState.REGISTERED
    )
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
            )
        ]

    def __str__(self):
        return f"{self.toilet} · {self.get_state_display()}"


class LedgerLogQuerySet(ScopedQuerySet):
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
