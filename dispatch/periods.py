"""Briefing periods, in county days (Asia/Shanghai).

- A weekly briefing (周通报) covers Saturday to Friday, the week that ends on the Friday the
  progress is reported (每周五下午), generated on that Friday at 15:00.
- A half-monthly briefing (半月通报, seed 004: 每半月排名) covers the 1st–15th or the 16th to the
  month's end; it is generated on demand only (no schedule).
- A monthly briefing (月通报) covers the calendar month, generated on its last working day
  (Monday–Friday) at 15:00. Public holidays and 调休 working weekends are not known to the
  system: a month whose last weekday is a holiday still gets its briefing on that day.

A briefing's cut-off is the end of the period's last day, or the moment it was generated if
that is earlier (the Friday 15:00 briefing counts what was entered by 15:00).
"""

import calendar
import datetime

from django.utils import timezone

from .models import BriefingKind

FRIDAY = 4


def week_of(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    end = day + datetime.timedelta(days=(FRIDAY - day.weekday()) % 7)
    return end - datetime.timedelta(days=6), end


def month_of(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def half_month_of(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    first, last = month_of(day)
    if day.day <= 15:
        return first, day.replace(day=15)
    return day.replace(day=16), last


def period_of(kind: str, day: datetime.date) -> tuple[datetime.date, datetime.date]:
    if kind == BriefingKind.MONTH:
        return month_of(day)
    if kind == BriefingKind.HALF_MONTH:
        return half_month_of(day)
    return week_of(day)


def last_working_day(day: datetime.date) -> datetime.date:
    """The month's last Monday–Friday (holidays out of scope)."""
    last = month_of(day)[1]
    while last.weekday() > FRIDAY:
        last -= datetime.timedelta(days=1)
    return last


def is_last_working_day(day: datetime.date) -> bool:
    return day == last_working_day(day)


def start_of_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def end_of_day(day: datetime.date) -> datetime.datetime:
    """The last microsecond of ``day``, county time (the build's cut-offs are inclusive)."""
    return start_of_day(day + datetime.timedelta(days=1)) - datetime.timedelta(microseconds=1)


def cutoff_for(period_end: datetime.date, now: datetime.datetime) -> datetime.datetime:
    return min(now, end_of_day(period_end))
