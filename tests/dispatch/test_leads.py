"""The public's leads (线索) in a briefing: received and answered in the period, overdue at its
end — the same leads the township's queue shows — on the page, the township's view, the
spreadsheet and the change against the previous briefing; another county's leads never;
an old briefing frozen without these figures still reads."""

import copy
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from dispatch import periods
from dispatch.models import Briefing, BriefingKind
from dispatch.services import generate_briefing
from public import services as public
from public.models import Lead
from tests.images import jpeg

pytestmark = pytest.mark.django_db

DAYS = 3
LEAD_KEYS = ["leads_period", "leads_answered_period", "leads_overdue"]


@pytest.fixture(autouse=True)
def answer_days(settings):
    settings.LEAD_ANSWER_DAYS = DAYS


@pytest.fixture
def plates(users, register):
    """A plate on a toilet of each township of the county, and one in the other county."""
    return {
        "t1": public.issue_plate(actor=users.township, toilet=register.t1),
        "t2": public.issue_plate(actor=users.township_t2, toilet=register.t3),
        "b": public.Plate.objects.create(
            toilet=register.t4, number="ACDEFGHJ", token="b" * 24, issued_by=users.outsider
        ),
    }


def file(plate, kind="report", category="tank", at=None) -> Lead:
    lead = public.file_lead(
        plate=plate,
        filing=public.Filing(kind=kind, category=category, description="化粪池满了，往外冒"),
    )
    if at is not None:
        Lead.objects.filter(pk=lead.pk).update(created_at=at)
        lead.refresh_from_db()
    return lead


def answer(actor, lead, at=None) -> Lead:
    lead = public.act(actor=actor, lead=lead, action="close", answer="已安排清掏。")
    if at is not None:
        Lead.objects.filter(pk=lead.pk).update(answered_at=at)
    return lead


def row_of(briefing, township):
    return next(r for r in briefing.data["rows"] if r["code"] == township.code)


def this_week_start():
    return periods.start_of_day(periods.week_of(timezone.localdate())[0])


def this_week_end():
    """The end of this week's Friday: a cut-off after anything a test does now."""
    return periods.end_of_day(periods.week_of(timezone.localdate())[1])


def test_the_figures_are_what_the_queue_shows(as_user, users, tree, survey, plates):
    start = this_week_start()
    before = start - datetime.timedelta(days=DAYS + 2)
    overdue = file(plates["t1"], at=before)  # waiting since before the period: overdue
    answered = answer(users.township, file(plates["t1"], at=before))  # answered now
    fresh = file(plates["t1"])  # came in now: not overdue yet
    assigned = public.act(
        actor=users.township,
        lead=file(plates["t1"], kind="maintenance", category="pumping", at=before),
        action="assign",
        assignee="李师傅",
    )  # assigned is not an answer: still waiting, overdue
    file(plates["t2"], at=before)  # the other township's
    file(plates["b"], at=before)
    file(plates["b"])  # the other county's: never counted

    briefing = generate_briefing(actor=users.county, county=tree.county, kind=BriefingKind.WEEK)
    t1 = row_of(briefing, tree.t1)
    assert (t1["leads_period"], t1["leads_answered_period"], t1["leads_overdue"]) == (1, 1, 2)

    queue = as_user(users.township).get(reverse("public:queue"), {"show": "overdue"})
    tabs = {key: count for key, _, count in queue.context["tabs"]}
    assert tabs["overdue"] == t1["leads_overdue"]
    shown = {lead.code for lead in queue.context["page_obj"]}
    assert shown == {overdue.code, assigned.code}
    assert answered.code not in shown and fresh.code not in shown
    every = as_user(users.township).get(reverse("public:queue"), {"show": "all"})
    leads = list(every.context["page_obj"])
    assert t1["leads_period"] == sum(lead.created_at >= start for lead in leads)
    assert t1["leads_answered_period"] == sum(
        lead.answered_at is not None and lead.answered_at >= start for lead in leads
    )

    t2 = row_of(briefing, tree.t2)
    assert (t2["leads_period"], t2["leads_answered_period"], t2["leads_overdue"]) == (0, 0, 1)
    total = briefing.data["total"]
    assert (total["leads_period"], total["leads_answered_period"], total["leads_overdue"]) == (
        1,
        1,
        3,
    )
    assert briefing.data["lead_answer_days"] == DAYS
    other = as_user(users.outsider).get(reverse("public:queue"), {"show": "overdue"})
    assert {key: n for key, _, n in other.context["tabs"]}["overdue"] == 1  # not in county A's


def test_overdue_at_the_period_end_counts_once_and_an_answer_moves_it(users, tree, survey, plates):
    """Last week's briefing counts a lead waiting at its end as overdue, even if answered
    since; this week's counts the answer, and the lead is no longer overdue."""
    last_week = timezone.localdate() - datetime.timedelta(days=7)
    start, end = periods.week_of(last_week)
    lead = file(plates["t1"], at=periods.start_of_day(start) - datetime.timedelta(days=DAYS))
    # Filed in the period, due after its end: not overdue yet at the end.
    file(plates["t1"], at=periods.end_of_day(end) - datetime.timedelta(days=1))
    answer(users.township, lead)
    now = this_week_end()
    week1 = generate_briefing(
        actor=users.county, county=tree.county, kind="week", day=last_week, now=now
    )
    row = row_of(week1, tree.t1)
    assert (row["leads_period"], row["leads_answered_period"], row["leads_overdue"]) == (1, 0, 1)

    week2 = generate_briefing(actor=users.county, county=tree.county, kind="week", now=now)
    assert week2.previous == week1
    row = row_of(week2, tree.t1)
    assert (row["leads_answered_period"], row["leads_overdue"]) == (1, 1)  # the other is due now
    change = week2.data["change"][tree.t1.code]
    assert (change["leads_period"], change["leads_answered_period"]) == (-1, 1)
    assert change["leads_overdue"] == 0


def test_the_change_shows_on_the_page_the_township_view_and_the_spreadsheet(
    as_user, users, tree, survey, plates
):
    last_week = timezone.localdate() - datetime.timedelta(days=7)
    now = this_week_end()
    generate_briefing(actor=users.county, county=tree.county, kind="week", day=last_week, now=now)
    for _ in range(2):  # the period's first hour: overdue by its end, after last week's
        file(plates["t1"], at=this_week_start() + datetime.timedelta(hours=1))
    briefing = generate_briefing(actor=users.county, county=tree.county, kind="week", now=now)
    client = as_user(users.township)

    html = client.get(reverse("dispatch:detail", args=[briefing.pk])).content.decode()
    assert "群众反映" in html and "逾期未答复<br><small>较上期</small>" in html
    assert '<td class="num leads warn">2<small class="delta" title="较上期">+2</small></td>' in html
    assert f"超过 {DAYS} 天仍未答复" in html

    mine = client.get(reverse("dispatch:mine")).content.decode()
    assert '逾期未答复 <strong class="down">2</strong> 条（较上期增加 2 条）' in mine

    response = client.get(reverse("dispatch:xlsx", args=[briefing.pk]))
    sheet = load_workbook(io.BytesIO(response.content)).active
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    head = table[0]
    t1 = next(r for r in table if r[1] == "沙埠镇")
    figures = dict(zip(head, t1, strict=False))
    assert figures["本期收到群众反映"] == 2
    assert figures["逾期未答复群众反映"] == 2
    assert figures["逾期未答复较上期"] == 2
    total = next(r for r in table if r[1] == "合计")
    assert dict(zip(head, total, strict=False))["逾期未答复群众反映"] == 2


def test_a_briefing_frozen_before_the_lead_figures_still_reads(
    as_user, users, tree, survey, plates
):
    """Briefings are immutable JSON: one made before the leads were counted has none of their
    keys. Its page, the township's view and its spreadsheet show "—"; the next briefing
    computes no lead change against it."""
    model = generate_briefing(actor=users.county, county=tree.county, kind="month")
    data = copy.deepcopy(model.data)
    for row in [*data["rows"], data["total"]]:
        for key in LEAD_KEYS:
            del row[key]
    del data["lead_answer_days"]
    start, end = periods.week_of(timezone.localdate() - datetime.timedelta(days=7))
    old = Briefing.objects.create(
        county=tree.county,
        round=survey,
        kind="week",
        period_start=start,
        period_end=end,
        edition=1,
        cutoff=periods.end_of_day(end),
        generated_at=periods.end_of_day(end),
        data=data,
        formula=model.formula,
    )
    client = as_user(users.township)
    html = client.get(reverse("dispatch:detail", args=[old.pk])).content.decode()
    assert "群众反映" in html and '<td class="num">—</td><td class="num">—</td>' in html
    assert "仍未答复" not in html
    mine = client.get(reverse("dispatch:mine"), {"kind": "week"}).content.decode()
    assert old.title in mine and "排第" in mine and 'id="leads"' not in mine
    sheet = load_workbook(
        io.BytesIO(client.get(reverse("dispatch:xlsx", args=[old.pk])).content)
    ).active
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    t1 = dict(zip(table[0], next(r for r in table if r[1] == "沙埠镇"), strict=False))
    assert t1["逾期未答复群众反映"] == "—" and t1["逾期未答复较上期"] == "—"

    file(plates["t1"], at=this_week_start() - datetime.timedelta(days=DAYS + 1))
    latest = generate_briefing(actor=users.county, county=tree.county, kind="week")
    assert latest.previous == old
    change = latest.data["change"][tree.t1.code]
    assert change["leads_overdue"] is None and change["closed"] == 0
    html = client.get(reverse("dispatch:detail", args=[latest.pk])).content.decode()
    assert '<td class="num leads warn">1</td>' in html  # no 较上期 without figures to compare


def test_photos_and_other_fields_of_a_lead_are_not_in_the_briefing(users, tree, survey, plates):
    """The briefing holds counts only: nothing a sender wrote or sent."""
    lead = public.file_lead(
        plate=plates["t1"],
        filing=public.Filing(
            kind="report",
            category="tank",
            description="化粪池满了，往外冒",
            phone="13900001111",
            photo=jpeg(),
        ),
    )
    briefing = generate_briefing(actor=users.county, county=tree.county, kind="week")
    frozen = str(briefing.data)
    assert lead.code not in frozen and "13900001111" not in frozen and "化粪池" not in frozen


def test_the_leads_take_one_query_whatever_their_number(users, tree, survey, plates):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            generate_briefing(actor=users.county, county=tree.county, kind="week")
        return len(captured)

    file(plates["t1"])
    few = queries()
    for plate in (plates["t1"], plates["t2"], plates["t2"]):
        file(plate, at=this_week_start() - datetime.timedelta(days=DAYS + 1))
    answer(users.township, file(plates["t1"]))
    assert queries() == few
