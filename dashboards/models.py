from django.db import models
from django.utils.translation import gettext_lazy as _

from regions.scoping import ScopedQuerySet


class LedgerSnapshotQuerySet(ScopedQuerySet):
    scope_lookup = "township__code"


class LedgerSnapshot(models.Model):
    """One township's problem ledger on one day: how many entries were open and how many
    closed out (销号) at the end of that day, and the count per state. Recorded by the daily
    beat task (``dashboards.record_snapshots``) and backfilled from the ledger logs by
    ``manage.py backfill_ledger_snapshots``; the 整改进度趋势 chart reads them."""

    day = models.DateField(_("日期"))
    township = models.ForeignKey(
        "regions.Region", verbose_name=_("乡镇"), on_delete=models.PROTECT, related_name="+"
    )
    open = models.PositiveIntegerField(_("未销号"))
    closed = models.PositiveIntegerField(_("已销号"))
    by_state = models.JSONField(_("各状态数"), default=dict)

    objects = LedgerSnapshotQuerySet.as_manager()

    class Meta:
        verbose_name = _("台账每日记录")
        verbose_name_plural = _("台账每日记录")
        ordering = ["day", "township__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "township"], name="dashboards_snapshot_one_per_day"
            )
        ]

    def __str__(self):
        return f"{self.day} {self.township_id}: {self.open}/{self.closed}"
