"""The daily ledger snapshots: recorded by the beat task, backfilled from the logs, and the
trend chart's fallback to the logs when there are none, all telling the same story."""

import datetime

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from dashboards.models import LedgerSnapshot
from dashboards.snapshots import backfill, record_snapshots
from dashboards.tasks import record_snapshots_task
from tests.dashboards.test_numbers import data

pytestmark = pytest.mark.django_db


def test_the_task_records_every_township_every_day(tree, users, survey, ledger):
    assert record_snapshots_task.delay().get() == 3  # T1, T2, T3 (with zeros where empty)
    today = timezone.localdate()
    t1 = LedgerSnapshot.objects.get(day=today, township=tree.t1)
    # V1: closed, reopened (open again), overdue (planned), public (accepted).
    assert (t1.open, t1.closed) == (3, 1)
    assert t1.by_state == {"closed": 1, "planned": 1, "accepted": 1, **t1.by_state}
    assert sum(t1.by_state.values()) == 4
    t2 = LedgerSnapshot.objects.get(day=today, township=tree.t2)
    assert (t2.open, t2.closed) == (1, 0)
    # Re-running the same day replaces that day's record.
    record_snapshots()
    assert LedgerSnapshot.objects.filter(day=today).count() == 3


def test_the_beat_runs_it_daily():
    entries = [e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "dashboards.record_snapshots" in entries


def test_the_backfill_from_the_logs_agrees_with_the_record(tree, users, survey, ledger):
    today = timezone.localdate()
    record_snapshots()
    recorded = {s.township_id: (s.open, s.closed, s.by_state) for s in LedgerSnapshot.objects.all()}
    LedgerSnapshot.objects.all().delete()
    assert backfill(today - datetime.timedelta(days=2), today) == 9
    backfilled = {
        s.township_id: (s.open, s.closed, s.by_state)
        for s in LedgerSnapshot.objects.filter(day=today)
    }
    assert backfilled == recorded
    # Before anything was found: zeros.
    earlier = LedgerSnapshot.objects.get(day=today - datetime.timedelta(days=2), township=tree.t1)
    assert (earlier.open, earlier.closed) == (0, 0)


def test_the_command(tree, users, survey, ledger, capsys):
    call_command("backfill_ledger_snapshots", "--days", "5")
    assert LedgerSnapshot.objects.count() == 15
    assert "已补录 15 条" in capsys.readouterr().out


def test_the_trend_falls_back_to_the_logs_and_agrees_with_the_snapshots(
    tree, users, survey, ledger, as_user
):
    client = as_user(users.county)
    from_logs = data(client, "trend")
    assert from_logs["extra"]["source"] == "台账日志"
    assert from_logs["rows"][-1] == {
        "label": timezone.localdate().isoformat(),
        "values": [4, 1],
        "code": "",
    }
    today = timezone.localdate()
    backfill(today - datetime.timedelta(days=3), today)
    from_snapshots = data(client, "trend")
    assert from_snapshots["extra"]["source"] == "每日记录"
    assert from_snapshots["rows"][-1]["values"] == [4, 1]
    # A township's own trend: only its entries.
    township = data(as_user(users.township), "trend")
    assert township["rows"][-1]["values"] == [3, 1]


def test_the_trend_of_a_village_replays_its_logs(tree, users, survey, ledger, as_user):
    chart = data(as_user(users.surveyor_v2), "trend")
    assert chart["rows"] == []  # nothing ever found in V2
    chart = data(as_user(users.surveyor), "trend")
    assert chart["rows"][-1]["values"] == [3, 1]
    response = as_user(users.surveyor).get(reverse("dashboards:index"))
    assert response.status_code == 200
