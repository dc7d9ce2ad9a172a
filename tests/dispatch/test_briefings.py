"""Briefings as records: immutable, regenerated as numbered editions, made by the schedule
(beat entries, the task functions with a fixed "now"), compared with the previous one; the
formula edited by the county only."""

import datetime

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispatch import tasks
from dispatch.models import Briefing, BriefingKind, RankingFormula
from dispatch.services import generate_briefing, save_formula, weights_of
from rectification.choices import LedgerState
from surveys.services import close_round
from tests.factories import SurveyRoundFactory, ToiletFactory
from tests.ledger import drive, open_entry

pytestmark = pytest.mark.django_db


def at(day, hour, minute=0):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def by_name(briefing):
    return {row["name"]: row for row in briefing.data["rows"]}


def test_beat_schedule_entries():
    schedule = settings.CELERY_BEAT_SCHEDULE
    weekly = schedule["dispatch-weekly-briefings"]
    assert weekly["task"] == "dispatch.weekly_briefings"
    assert weekly["schedule"] == crontab(hour=15, minute=0, day_of_week="fri")
    monthly = schedule["dispatch-monthly-briefings"]
    assert monthly["task"] == "dispatch.monthly_briefings"
    assert monthly["schedule"] == crontab(hour=15, minute=0, day_of_week="mon-fri")
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"
    from config.celery import app

    assert "dispatch.weekly_briefings" in app.tasks
    assert "dispatch.monthly_briefings" in app.tasks


def test_the_weekly_task_briefs_counties_with_an_open_round(tree, users, register, survey):
    friday = datetime.date(2027, 1, 8)
    # The county's, then its city's and its province's (counties, cities as rows).
    assert tasks.weekly(now=at(friday, 15)) == 3
    briefing = Briefing.objects.get()
    assert (briefing.county, briefing.round, briefing.kind) == (tree.county, survey, "week")
    assert (briefing.period_start, briefing.period_end) == (datetime.date(2027, 1, 2), friday)
    assert briefing.generated_by is None
    assert [r["name"] for r in briefing.data["rows"]] == ["沙埠镇", "康熙岭镇"]
    # County B has no round: nothing. A retried run makes nothing twice.
    assert tasks.weekly(now=at(friday, 15, 5)) == 3
    assert Briefing.objects.count() == 1


def test_the_monthly_task_acts_on_the_last_working_day_only(tree, users, register, survey):
    assert tasks.monthly(now=at(datetime.date(2027, 2, 25), 15)) == 0  # Thursday
    assert tasks.monthly(now=at(datetime.date(2027, 2, 26), 15)) == 3  # last weekday
    briefing = Briefing.objects.get()
    assert briefing.kind == BriefingKind.MONTH
    assert (briefing.period_start, briefing.period_end) == (
        datetime.date(2027, 2, 1),
        datetime.date(2027, 2, 28),
    )
    assert briefing.cutoff == at(datetime.date(2027, 2, 26), 15)


def test_a_recently_closed_round_is_still_briefed(tree, users, register, survey):
    close_round(actor=users.county, survey_round=survey)
    assert tasks.weekly(now=timezone.now() + datetime.timedelta(days=3)) == 3
    assert tasks.weekly(now=timezone.now() + datetime.timedelta(days=60)) == 0


def test_the_round_of_another_county_briefs_that_county(tree, users, register, survey):
    SurveyRoundFactory(county=tree.county_b, name="钦北区摸排", status="open")
    friday = datetime.date(2027, 1, 8)
    assert tasks.weekly(now=at(friday, 15)) == 4  # two counties, their city, the province
    assert set(Briefing.objects.values_list("county__name", flat=True)) == {"钦南区", "钦北区"}


def test_briefings_are_immutable(tree, users, register, survey):
    briefing = generate_briefing(actor=users.county, county=tree.county, kind="week")
    briefing.data = {"rows": []}
    with pytest.raises(ValueError):
        briefing.save()
    with pytest.raises(ValueError):
        Briefing.objects.filter(pk=briefing.pk).update(edition=9)
    with pytest.raises(ValueError):
        Briefing.objects.all().delete()
    with pytest.raises(ValueError):
        briefing.delete()


def test_regenerating_the_same_period(tree, users, register, survey):
    scheduled = generate_briefing(actor=None, county=tree.county, kind="week")
    assert generate_briefing(actor=None, county=tree.county, kind="week") == scheduled
    second = generate_briefing(actor=users.county, county=tree.county, kind="week")
    third = generate_briefing(actor=users.county, county=tree.county, kind="week")
    assert [scheduled.edition, second.edition, third.edition] == [1, 2, 3]
    assert "（第2版）" in second.title
    assert second.generated_by == users.county
    # The schedule still finds its own and makes no fourth.
    assert generate_briefing(actor=None, county=tree.county, kind="week") == scheduled
    assert Briefing.objects.count() == 3


def test_only_the_county_generates_and_edits_the_formula(tree, users, register, survey):
    for user in (users.township, users.inspector, users.surveyor, users.outsider):
        with pytest.raises(PermissionDenied):
            generate_briefing(actor=user, county=tree.county, kind="week")
        with pytest.raises(PermissionDenied):
            save_formula(actor=user, county=tree.county, weights=weights_of(tree.county))
    with pytest.raises(ValidationError):
        generate_briefing(actor=users.outsider, county=tree.county_b, kind="week")  # no round


def test_the_formula_is_frozen_with_the_briefing(tree, users, register, survey):
    first = generate_briefing(actor=users.county, county=tree.county, kind="week")
    assert first.formula["weights"]["closeout"] == "60"
    weights = {"coverage": "20", "closeout": "80", "overdue": "1", "discrepancy": "10"}
    formula = save_formula(actor=users.county, county=tree.county, weights=weights)
    assert formula.updated_by == users.county
    assert RankingFormula.objects.get(region=tree.county).closeout == 80
    second = generate_briefing(actor=users.county, county=tree.county, kind="week")
    assert second.formula["weights"]["closeout"] == "80.00"
    first.refresh_from_db()
    assert first.formula["weights"]["closeout"] == "60"
    with pytest.raises(ValidationError) as refused:
        save_formula(actor=users.county, county=tree.county, weights={**weights, "overdue": "-1"})
    assert "overdue" in refused.value.error_dict


def test_the_change_against_the_previous_briefing(tree, users, register, survey, surveyor_v3):
    entry = open_entry(users.surveyor, survey, register.t1)
    open_entry(surveyor_v3, survey, register.t3)
    week1 = generate_briefing(actor=None, county=tree.county, kind="week")
    assert [r["place"] for r in week1.data["rows"]] == [1, 1]  # the same: a tie
    assert week1.previous is None and week1.data["change"] == {}
    drive(entry, township=users.township, surveyor=users.surveyor, to=LedgerState.CLOSED)
    week2 = generate_briefing(
        actor=None, county=tree.county, kind="week", now=timezone.now() + datetime.timedelta(7)
    )
    assert week2.previous == week1
    change = week2.data["change"]
    t1, t2 = tree.t1.code, tree.t2.code
    assert (change[t1]["places"], change[t1]["closed"], change[t1]["arrow"]) == (0, 1, "—")
    assert (change[t2]["places"], change[t2]["arrow"]) == (-1, "▼")
    assert change[t1]["score"] == "60.00"
    # A month is compared with months only.
    month = generate_briefing(actor=None, county=tree.county, kind="month")
    assert month.previous is None


def test_generating_takes_a_fixed_number_of_queries(tree, users, register, survey):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            generate_briefing(actor=users.county, county=tree.county, kind="week")
        return len(captured)

    few = queries()
    for _ in range(5):
        open_entry(users.surveyor, survey, ToiletFactory(household=register.h1))
    assert queries() == few
