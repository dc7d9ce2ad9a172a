"""What a briefing counts: the period (county days) and the totals, which are the 33-column
summary's for the same cut-off (reports.build), through close-outs and reopens."""

import datetime

import pytest
from django.utils import timezone

from dispatch import periods
from dispatch.models import BriefingKind
from dispatch.services import generate_briefing
from rectification.choices import LedgerState
from reports.build import build_summary
from tests.factories import InspectionFactory, ToiletFactory
from tests.ledger import drive, move, open_entry

pytestmark = pytest.mark.django_db


def at(day, hour, minute=0):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def by_name(briefing):
    return {row["name"]: row for row in briefing.data["rows"]}


def test_periods_are_county_days():
    friday = datetime.date(2026, 12, 4)
    assert periods.week_of(friday) == (datetime.date(2026, 11, 28), friday)
    assert periods.week_of(datetime.date(2026, 11, 28)) == (datetime.date(2026, 11, 28), friday)
    assert periods.week_of(datetime.date(2026, 12, 5))[0] == datetime.date(2026, 12, 5)
    assert periods.month_of(datetime.date(2027, 2, 9)) == (
        datetime.date(2027, 2, 1),
        datetime.date(2027, 2, 28),
    )
    # 2027-02-28 is a Sunday: the last working day is Friday the 26th.
    assert periods.last_working_day(datetime.date(2027, 2, 3)) == datetime.date(2027, 2, 26)
    assert periods.is_last_working_day(datetime.date(2027, 2, 26))
    assert not periods.is_last_working_day(datetime.date(2027, 2, 28))
    assert periods.is_last_working_day(datetime.date(2026, 12, 31))  # a Thursday


def test_an_inspection_on_the_last_day_counts_and_the_next_days_does_not(
    tree, users, register, survey
):
    start, end = periods.week_of(timezone.localdate() + datetime.timedelta(days=7))
    toilets = [ToiletFactory(household=register.h1) for _ in range(3)]
    InspectionFactory(round=survey, toilet=toilets[0], inspected_at=at(start, 0, 0))
    InspectionFactory(round=survey, toilet=toilets[1], inspected_at=at(end, 23, 59))
    InspectionFactory(
        round=survey, toilet=toilets[2], inspected_at=at(end + datetime.timedelta(days=1), 8)
    )
    InspectionFactory(
        round=survey, toilet=register.t1, inspected_at=at(start - datetime.timedelta(days=1), 12)
    )
    briefing = generate_briefing(
        actor=users.county,
        county=tree.county,
        kind=BriefingKind.WEEK,
        now=at(end + datetime.timedelta(days=1), 10),
        day=end,
    )
    assert (briefing.period_start, briefing.period_end) == (start, end)
    assert briefing.cutoff == periods.end_of_day(end)
    t1 = by_name(briefing)["沙埠镇"]
    assert t1["surveyed_period"] == 2  # the first day's at 00:00 and the last day's at 23:59
    assert t1["surveyed"] == 3  # plus the one before the period; never the next day's
    assert t1["registered"] == 4
    assert t1["coverage_pct"] == "75.0"


def test_the_friday_briefing_counts_up_to_its_generation(tree, users, register, survey):
    friday = periods.week_of(timezone.localdate() + datetime.timedelta(days=7))[1]
    InspectionFactory(round=survey, toilet=register.t1, inspected_at=at(friday, 14, 59))
    InspectionFactory(round=survey, toilet=register.t3, inspected_at=at(friday, 15, 1))
    briefing = generate_briefing(
        actor=None, county=tree.county, kind=BriefingKind.WEEK, now=at(friday, 15)
    )
    assert briefing.cutoff == at(friday, 15)
    assert by_name(briefing)["沙埠镇"]["surveyed_period"] == 1
    assert by_name(briefing)["康熙岭镇"]["surveyed_period"] == 0


def assert_totals_match(briefing, survey, county):
    summary = build_summary(survey, county, briefing.cutoff)
    rows = by_name(briefing)
    for srow in summary.rows:
        row, v = rows[srow.name], srow.values
        assert row["registered"] == v[1]
        assert row["problems"] == v[6] + v[9]
        assert row["closed"] == v[29] + v[32]
        assert row["unfinished"] == v[33]
    total, v = briefing.data["total"], summary.total
    assert (total["registered"], total["problems"], total["closed"], total["unfinished"]) == (
        v[1],
        v[6] + v[9],
        v[29] + v[32],
        v[33],
    )


def test_totals_equal_the_summary_through_close_out_and_reopen(
    tree, users, register, survey, surveyor_v3
):
    entry = open_entry(users.surveyor, survey, register.t1)
    open_entry(surveyor_v3, survey, register.t3, usability="not_year_round", cats=("water",))
    open_entry(users.surveyor, survey, ToiletFactory(household=register.h1), cats=("room",))

    def brief():
        return generate_briefing(actor=users.county, county=tree.county, kind=BriefingKind.MONTH)

    first = brief()
    assert_totals_match(first, survey, tree.county)
    assert by_name(first)["沙埠镇"]["problems"] == 2
    assert by_name(first)["沙埠镇"]["found_period"] == 2

    entry = drive(entry, township=users.township, surveyor=users.surveyor, to=LedgerState.CLOSED)
    closed = brief()
    assert_totals_match(closed, survey, tree.county)
    t1 = by_name(closed)["沙埠镇"]
    assert (t1["closed"], t1["closed_period"], t1["planned"], t1["rectified"]) == (1, 1, 1, 1)
    assert t1["unfinished"] == 1

    move(entry, "reopen", users.county, note="复核发现化粪池仍渗漏")
    reopened = brief()
    assert_totals_match(reopened, survey, tree.county)
    t1 = by_name(reopened)["沙埠镇"]
    assert (t1["closed"], t1["closed_period"], t1["unfinished"]) == (0, 0, 2)
    assert t1["planned"] == 1 and t1["rectified"] == 1  # what was done stays done
    assert reopened.edition == 3


def test_overdue_at_the_period_end(tree, users, register, survey):
    entry = open_entry(users.surveyor, survey, register.t1)
    drive(entry, township=users.township, surveyor=users.surveyor, to=LedgerState.IN_PROGRESS)
    deadline = entry.__class__.objects.get(pk=entry.pk).deadline
    later = at(deadline + datetime.timedelta(days=1), 16)
    briefing = generate_briefing(
        actor=None,
        county=tree.county,
        kind=BriefingKind.WEEK,
        now=later,
        day=deadline + datetime.timedelta(days=1),
    )
    assert by_name(briefing)["沙埠镇"]["overdue"] == 1
    on_time = generate_briefing(
        actor=users.county, county=tree.county, kind=BriefingKind.MONTH, now=at(deadline, 16)
    )
    assert by_name(on_time)["沙埠镇"]["overdue"] == 0


def test_spot_check_discrepancy_of_published_samples(tree, users, register, survey):
    from surveys.models import SpotCheckItem, SpotCheckSample

    inspections = [
        InspectionFactory(round=survey, toilet=t)
        for t in [register.t1, *(ToiletFactory(household=register.h1) for _ in range(3))]
    ]
    now = timezone.now()
    published = SpotCheckSample.objects.create(
        round=survey, percent=50, seed=1, created_by=users.county, published_at=now
    )
    for inspection, differs in zip(inspections, [True, False, False, False], strict=True):
        SpotCheckItem.objects.create(
            sample=published, original=inspection, checked_at=now, differs=differs
        )
    hidden = SpotCheckSample.objects.create(
        round=survey, percent=50, seed=2, created_by=users.county
    )
    SpotCheckItem.objects.create(
        sample=hidden, original=inspections[1], checked_at=now, differs=True
    )
    briefing = generate_briefing(actor=users.county, county=tree.county, kind=BriefingKind.WEEK)
    t1 = by_name(briefing)["沙埠镇"]
    assert (t1["spot_checked"], t1["spot_differing"], t1["discrepancy_rate"]) == (4, 1, 25.0)
    assert t1["components"]["discrepancy"] == "-5.00"  # 20 × 0.25
    assert by_name(briefing)["康熙岭镇"]["discrepancy_rate"] is None
