"""The problem ledger's list pages (问题台账, 整改日志), their exports and the overdue dashboard.

Every page reads through ``visible_to(user)``, the shared filtersets and ``queries``; the
exports take the same querystring as the page they sit on, so a download holds exactly the
rows on screen.
"""

from urllib.parse import urlencode

from django.contrib.auth.mixins import LoginRequiredMixin
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView

from core.users import display_name
from core.web.views import FilteredListView, ListExportView
from regions.choices import PLAN_ACCEPT, Level
from regions.models import Region
from regions.scoping import has_capability, scope_of

from .. import exports
from ..choices import LedgerState
from ..filters import QUEUES, LedgerFilter, LedgerLogFilter
from ..models import LedgerEntry, LedgerLog
from ..overdue import overdue_by_township
from ..queries import Tab, ledger_counts, overdue_trend, queues_for, unfiltered_by
from ..workflow import action_label

TREND_DAYS = 30


def _link(params, **overrides) -> str:
    query = params.copy()
    for key in ["page", "state", "queue", *overrides]:
        query.pop(key, None)
    for key, value in overrides.items():
        query[key] = value
    return f"?{query.urlencode()}"


# The ledger -----------------------------------------------------------------------------


class LedgerListView(FilteredListView):
    """问题台账: the problem toilets of the user's village, township or county."""

    model = LedgerEntry
    filterset_class = LedgerFilter
    template_name = "rectification/ledger_list.html"

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related(*exports.LEDGER_RELATED)
            .prefetch_related("categories")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, params, today = self.request.user, self.request.GET, timezone.localdate()
        filterset = self.filterset
        cleaned = filterset.form.cleaned_data if filterset.is_bound and filterset.is_valid() else {}
        queues = queues_for(user)
        by_state, by_queue = ledger_counts(
            unfiltered_by(filterset, {"state", "queue"}), queues, today
        )
        current_state, current_queue = cleaned.get("state"), cleaned.get("queue")
        state_tabs = [
            Tab(s, s.label, by_state[s], _link(params, state=s), s == current_state)
            for s in LedgerState
            if by_state[s] or s != LedgerState.WITHDRAWN
        ]
        queue_tabs = [
            Tab(k, QUEUES[k][0], by_queue[k], _link(params, queue=k), k == current_queue)
            for k in queues
        ]
        for entry in context["object_list"]:
            entry.overdue_days = (today - entry.deadline).days if entry.is_overdue(today) else 0

        scope = scope_of(user)
        village = cleaned.get("village")
        if village is None and scope is not None and scope.region is not None:
            village = scope.region if scope.region.level == Level.VILLAGE else None
        region_filter = {
            key: cleaned[key].code for key in ("township", "village") if cleaned.get(key)
        }
        context.update(
            state_tabs=state_tabs,
            queue_tabs=queue_tabs,
            all_url=_link(params),
            current_queue=current_queue,
            total=sum(by_state.values()),
            bulk_accept=current_queue == "to_accept" and has_capability(user, PLAN_ACCEPT),
            notice_village=village,
            log_query=urlencode(region_filter),
        )
        return context


class LedgerExportView(ListExportView):
    """The ledger as xlsx: same filters, same scoping, masked unless allowed."""

    kind = "export_ledger"


# The log --------------------------------------------------------------------------------


class LogListView(FilteredListView):
    """整改日志: every change of the ledger entries the user can see, newest first."""

    model = LedgerLog
    filterset_class = LedgerLogFilter
    template_name = "rectification/log_list.html"

    def get_queryset(self):
        return super().get_queryset().select_related(*exports.LOG_RELATED).order_by("-at", "-id")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        for name in ("since", "until"):
            self.filterset.form.fields[name].widget.input_type = "date"
        for log in context["object_list"]:
            log.actor_name = display_name(log.actor)
            log.action_label = action_label(log.action)
        return context


class LogExportView(ListExportView):
    kind = "export_ledger_log"


# Overdue --------------------------------------------------------------------------------


class OverdueView(LoginRequiredMixin, TemplateView):
    """逾期台账: today's overdue entries per township, and the trend the daily task recorded."""

    template_name = "rectification/overdue.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, today = self.request.user, timezone.localdate()
        overdue = overdue_by_township(LedgerEntry.objects.visible_to(user), today)
        ledger = reverse("rectification:ledger")
        rows = []
        townships = Region.objects.visible_to(user).filter(level=Level.TOWNSHIP)
        for township in townships.select_related("parent"):
            count = len(overdue.get(township.prefix, ()))
            if township.abolished and not count:
                continue
            query = urlencode({"township": township.code, "queue": "overdue"})
            rows.append((township, count, f"{ledger}?{query}"))
        scope = scope_of(user)
        if not rows and scope is not None and scope.region is not None:
            # A village user sees no township: its own village is the one row.
            region = scope.region
            if region.level == Level.VILLAGE:
                query = urlencode({"village": region.code, "queue": "overdue"})
                count = sum(len(ids) for ids in overdue.values())
                rows.append((region, count, f"{ledger}?{query}"))
        rows.sort(key=lambda row: (-row[1], row[0].code))

        trend = overdue_trend(user, today, TREND_DAYS)
        peak = max((day["total"] for day in trend), default=0)
        for day in trend:
            day["percent"] = round(day["total"] * 100 / peak) if peak else 0
        context.update(
            rows=rows,
            total=sum(row[1] for row in rows),
            show_county=len({row[0].parent_id for row in rows}) > 1,
            trend=trend,
            trend_days=TREND_DAYS,
            is_village=scope is not None
            and scope.region is not None
            and scope.region.level == Level.VILLAGE,
        )
        return context
