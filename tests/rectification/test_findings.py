"""What a finding does to the problem ledger: the one rule (``rectification.findings.decide``)
over its whole table, and the pages, the API and the Excel import reaching the same ledger for
the same findings."""

import io
import itertools
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from imports.engine import import_ledger
from rectification.choices import ENDED_STATES, LedgerState
from rectification.findings import (
    CURRENT,
    OWN,
    Act,
    Decision,
    EntryFacts,
    decide,
    moved_entries,
    own_and_open,
)
from rectification.models import LedgerEntry
from surveys.choices import PROBLEM_CATEGORIES, Usability
from surveys.models import Inspection
from tests.factories import SurveyRoundFactory, ToiletFactory
from tests.ledger import drive, move, open_entry, plan_data
from tests.ledger_files import ledger_row, ledger_xlsx

S = LedgerState
OWN_PK, OTHER_PK = 1, 2


def own(state, moved=False):
    return EntryFacts(pk=OWN_PK, state=state, moved=moved)


def other(state, moved=False):
    return EntryFacts(pk=OTHER_PK, state=state, moved=moved)


def open_own(state, moved=False):
    """The own entry, which is also the toilet's open entry."""
    facts = own(state, moved)
    return {"own": facts, "current": facts}


# The rule, row by row -------------------------------------------------------------------

USABLE = {
    "nothing to act on": ({}, Decision(Act.NOTHING)),
    "own entry untouched: a mistake, withdrawn": (
        open_own(S.REGISTERED),
        Decision(Act.WITHDRAW, OWN),
    ),
    "own entry planned: stays, to be closed with evidence": (
        open_own(S.PLANNED, moved=True),
        Decision(Act.RECHECK, CURRENT),
    ),
    "own entry rectified: stays": (
        open_own(S.RECTIFIED, moved=True),
        Decision(Act.RECHECK, CURRENT),
    ),
    "an earlier round's entry, untouched: stays": (
        {"current": other(S.REGISTERED)},
        Decision(Act.RECHECK, CURRENT),
    ),
    "an earlier round's entry, in progress: stays": (
        {"current": other(S.IN_PROGRESS, moved=True)},
        Decision(Act.RECHECK, CURRENT),
    ),
    "own entry withdrawn already": ({"own": own(S.WITHDRAWN)}, Decision(Act.NOTHING)),
    "own entry closed out": ({"own": own(S.CLOSED, moved=True)}, Decision(Act.NOTHING)),
    "own entry withdrawn, another open": (
        {"own": own(S.WITHDRAWN), "current": other(S.REGISTERED)},
        Decision(Act.RECHECK, CURRENT),
    ),
}

PROBLEM = {
    "nothing yet: a new entry": ({}, Decision(Act.OPEN, state=S.REGISTERED)),
    "own entry untouched: its finding refreshed": (
        open_own(S.REGISTERED),
        Decision(Act.UPDATE, OWN),
    ),
    "own entry planned: finding refreshed, state kept": (
        open_own(S.PLANNED, moved=True),
        Decision(Act.UPDATE, OWN),
    ),
    "an earlier round's open entry: finding refreshed": (
        {"current": other(S.REGISTERED)},
        Decision(Act.UPDATE, CURRENT),
    ),
    "an earlier round's entry in progress: state kept": (
        {"current": other(S.IN_PROGRESS, moved=True)},
        Decision(Act.UPDATE, CURRENT),
    ),
    "own entry withdrawn by a correction: it comes back": (
        {"own": own(S.WITHDRAWN)},
        Decision(Act.UPDATE, OWN, S.REGISTERED),
    ),
    "own entry closed by an import: it comes back": (
        {"own": own(S.CLOSED)},
        Decision(Act.UPDATE, OWN, S.REGISTERED),
    ),
    "own entry withdrawn, another open: cannot come back (one open entry per toilet)": (
        {"own": own(S.WITHDRAWN), "current": other(S.REGISTERED)},
        Decision(Act.UPDATE, OWN),
    ),
    "own entry closed out by the workflow: broken again, a new entry": (
        {"own": own(S.CLOSED, moved=True)},
        Decision(Act.OPEN, state=S.REGISTERED),
    ),
    "own entry closed out, another open: that one is updated": (
        {"own": own(S.CLOSED, moved=True), "current": other(S.REGISTERED)},
        Decision(Act.UPDATE, CURRENT),
    ),
}

CLOSED_ROW = {  # the ledger row says 已销号 (the import only)
    "nothing yet: a new entry, closed": ({}, Decision(Act.OPEN, state=S.CLOSED)),
    "own entry untouched: closed": (open_own(S.REGISTERED), Decision(Act.UPDATE, OWN, S.CLOSED)),
    "own entry planned: closing needs evidence, state kept": (
        open_own(S.PLANNED, moved=True),
        Decision(Act.UPDATE, OWN),
    ),
    "own entry closed already: nothing moves": ({"own": own(S.CLOSED)}, Decision(Act.UPDATE, OWN)),
    "own entry closed out by the workflow: stays, not broken again": (
        {"own": own(S.CLOSED, moved=True)},
        Decision(Act.UPDATE, OWN),
    ),
    "own entry withdrawn, another open: closed (closing needs no free slot)": (
        {"own": own(S.WITHDRAWN), "current": other(S.REGISTERED)},
        Decision(Act.UPDATE, OWN, S.CLOSED),
    ),
    "an earlier round's entry, untouched: closed": (
        {"current": other(S.REGISTERED)},
        Decision(Act.UPDATE, CURRENT, S.CLOSED),
    ),
    "an earlier round's entry, planned: state kept": (
        {"current": other(S.PLANNED, moved=True)},
        Decision(Act.UPDATE, CURRENT),
    ),
}


def facts_of(case):
    return {"own": case.get("own"), "current": case.get("current")}


@pytest.mark.parametrize("case,expected", USABLE.values(), ids=USABLE.keys())
def test_a_usable_finding(case, expected):
    assert decide(is_problem=False, **facts_of(case)) == expected


@pytest.mark.parametrize("case,expected", PROBLEM.values(), ids=PROBLEM.keys())
def test_a_problem_finding(case, expected):
    assert decide(is_problem=True, **facts_of(case)) == expected


@pytest.mark.parametrize("case,expected", CLOSED_ROW.values(), ids=CLOSED_ROW.keys())
def test_a_problem_row_marked_closed_out(case, expected):
    assert decide(is_problem=True, closed=True, **facts_of(case)) == expected


@pytest.mark.parametrize(
    "case",
    [open_own(S.REGISTERED), open_own(S.PLANNED, moved=True), {"current": other(S.REGISTERED)}],
    ids=["own untouched", "own planned", "earlier round's"],
)
def test_a_usable_row_read_again_unchanged_does_nothing(case):
    assert decide(is_problem=False, changed=False, **facts_of(case)) == Decision(Act.NOTHING)


def test_a_problem_row_read_again_after_the_close_out_opens_nothing():
    """A re-import of the file after the workflow closed the entry out: the finding is the
    one that entry was opened for, so nothing new is opened."""
    closed_out = {"own": own(S.CLOSED, moved=True)}
    decision = decide(is_problem=True, changed=False, **facts_of(closed_out))
    assert decision == Decision(Act.UPDATE, OWN)


def every_situation():
    """Every own entry (none, or any state, touched or not) with every open entry it allows."""
    owns = [None] + [own(s, m) for s in S for m in (False, True)]
    others = [None] + [other(s, m) for s in S if s not in ENDED_STATES for m in (False, True)]
    for mine, theirs in itertools.product(owns, others):
        if mine is not None and not mine.ended:
            if theirs is not None:
                continue  # one open entry per toilet: an open own entry is the open one
            theirs = mine
        yield mine, theirs


@pytest.mark.parametrize("is_problem,closed", [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("changed", [True, False])
def test_the_rule_keeps_the_ledgers_invariants_in_every_situation(is_problem, closed, changed):
    for mine, theirs in every_situation():
        decision = decide(
            is_problem=is_problem, closed=closed, changed=changed, own=mine, current=theirs
        )
        target = decision.entry(mine, theirs)
        situation = (mine, theirs, decision)
        assert (target is None) == (decision.act in (Act.OPEN, Act.NOTHING)), situation
        if decision.act == Act.OPEN:  # never a second open entry
            assert theirs is None and decision.state == (S.CLOSED if closed else S.REGISTERED)
        if decision.state is not None and decision.act == Act.UPDATE:
            assert not target.moved, situation  # the workflow's state is never overridden
            if decision.state not in ENDED_STATES:  # back to open: only with no other open
                assert theirs is None or theirs.pk == target.pk, situation
        if decision.act == Act.WITHDRAW:  # only the untouched entry of this very finding
            assert target is mine and not mine.ended and not mine.moved, situation
        if decision.act == Act.RECHECK:
            assert target is theirs and not is_problem, situation
        if not is_problem:
            assert decision.act != Act.UPDATE and decision.state is None, situation
            if not changed:
                assert decision.act == Act.NOTHING, situation
        else:
            assert decision.act in (Act.OPEN, Act.UPDATE), situation


def test_own_and_open_pick_the_entries_a_finding_concerns():
    def entry(pk, state, opened_by):
        return SimpleNamespace(pk=pk, state=state, opened_by_inspection_id=opened_by)

    withdrawn, older_open = entry(1, S.WITHDRAWN, 10), entry(2, S.REGISTERED, 5)
    assert own_and_open([withdrawn, older_open], 10) == (withdrawn, older_open)
    assert own_and_open([older_open], 10) == (None, older_open)
    assert own_and_open([], 10) == (None, None)
    # Two entries opened by the same inspection (closed out, then broken again): the open one.
    closed_out, again = entry(3, S.CLOSED, 10), entry(4, S.REGISTERED, 10)
    assert own_and_open([again, closed_out], 10) == (again, again)
    assert own_and_open([closed_out, entry(5, S.WITHDRAWN, 10)], 10)[0].pk == 5


@pytest.mark.django_db
def test_moved_entries_are_those_the_close_out_workflow_acted_on(tree, users, register):
    survey = SurveyRoundFactory(county=tree.county)
    untouched = open_entry(users.surveyor, survey, register.t1)
    second = ToiletFactory(household=register.h1)
    planned = open_entry(users.surveyor, survey, second, cats=("room",))
    move(planned, "plan", users.township, plan=plan_data())
    assert moved_entries([untouched.pk, planned.pk]) == {planned.pk}
    assert moved_entries([]) == set()


# The pages, the API and the import reach the same ledger ---------------------------------

NAMES = {code: name for code, name, _ in PROBLEM_CATEGORIES}


class Page:
    """The surveyor's inspection form."""

    def __init__(self, client, users, survey, toilet):
        self.client = client(users.surveyor)
        self.url = reverse("surveys:inspect", args=[survey.pk, toilet.pk])

    def find(self, usability, categories=()):
        form = self.client.get(self.url).context["form"]
        data = {
            "household_present": "True",
            "check_method": "on_site",
            "usability": usability,
            "categories": list(categories),
            "minor_fixes": "",
            "notes": "",
            "partner_name": "李四",
            "inspected_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "signed": "on",
            # The page asks why a problem toilet has no photo.
            "evidence_reason": "农户不同意拍照",
            "version": form["version"].value() or "",
        }
        response = self.client.post(self.url, data)
        assert response.status_code == 302, response.context["form"].errors


class Api:
    """The inspections API, as the mobile app uses it."""

    def __init__(self, api, users, survey, toilet):
        api.force_authenticate(users.surveyor)
        self.api, self.survey, self.toilet, self.created = api, survey, toilet, None

    def find(self, usability, categories=()):
        data = {"usability": usability, "categories": list(categories)}
        if self.created is None:
            data.update(
                round=self.survey.pk,
                toilet=self.toilet.pk,
                partner_name="李四",
                inspected_at=timezone.now().isoformat(),
                household_present=True,
                check_method="on_site",
                signed=True,
            )
            response = self.api.post("/api/inspections/", data, format="json")
            assert response.status_code == 201, response.content
        else:
            data["version"] = self.created["version"]
            url = f"/api/inspections/{self.created['id']}/"
            response = self.api.patch(url, data, format="json")
            assert response.status_code == 200, response.content
        self.created = response.json()


class Import:
    """The county's Excel survey ledger, imported again after each correction."""

    def __init__(self, users, toilet):
        self.actor, self.toilet = users.county, toilet

    def find(self, usability, categories=()):
        household = self.toilet.household
        row = ledger_row(
            身份证号=household.id_number,
            户主姓名=household.head_name,
            技术模式=self.toilet.get_tech_type_display(),
            建造年份=self.toilet.build_year,
            使用情况=Usability(usability).label,
            问题类型="、".join(NAMES[c] for c in categories),
            整改情况="未销号" if categories else "",
        )
        result = import_ledger(
            io.BytesIO(ledger_xlsx([row])), round_name="2022年摸排", actor=self.actor
        )
        assert result.saved, result.errors
        assert Inspection.objects.get().toilet == self.toilet  # matched, not a new toilet


@pytest.fixture(params=["page", "api", "import"])
def channel(request, tree, users, register, as_user, api):
    survey = SurveyRoundFactory(county=tree.county, name="2022年摸排")
    return {
        "page": lambda: Page(as_user, users, survey, register.t1),
        "api": lambda: Api(api, users, survey, register.t1),
        "import": lambda: Import(users, register.t1),
    }[request.param]()


def ledger(toilet):
    """What the ledger shows of the toilet: each entry's state, usability, problem types and
    the states its log went through."""
    return [
        (
            entry.state,
            entry.usability,
            sorted(c.code for c in entry.categories.all()),
            [log.to_state for log in entry.log.order_by("id")],
        )
        for entry in LedgerEntry.objects.filter(toilet=toilet).order_by("id")
    ]


@pytest.mark.django_db
def test_the_same_findings_give_the_same_ledger_on_every_channel(channel, register, users):
    toilet = register.t1

    channel.find("unusable", ["fixture", "tank"])
    assert ledger(toilet) == [("registered", "unusable", ["fixture", "tank"], ["registered"])]

    channel.find("normal")  # corrected: the entry never stood
    assert ledger(toilet) == [
        ("withdrawn", "unusable", ["fixture", "tank"], ["registered", "withdrawn"])
    ]

    channel.find("not_year_round", ["frost"])  # corrected back: the same entry comes back
    assert ledger(toilet) == [
        ("registered", "not_year_round", ["frost"], ["registered", "withdrawn", "registered"])
    ]

    entry = LedgerEntry.objects.get(toilet=toilet)
    move(entry, "plan", users.township, plan=plan_data())
    channel.find("normal")  # found usable once the work has begun: stays, closed with evidence
    history = ["registered", "withdrawn", "registered", "planned", "planned"]
    assert ledger(toilet) == [("planned", "not_year_round", ["frost"], history)]
    assert entry.log.order_by("id").last().note.endswith("使用正常，待按整改流程核实销号")

    channel.find("unusable", ["tank"])  # a problem again: the finding follows, the state stays
    assert ledger(toilet) == [("planned", "unusable", ["tank"], [*history, "planned"])]


@pytest.mark.django_db
def test_after_a_close_out_a_reimport_changes_nothing_and_a_correction_is_broken_again(
    tree, users, register
):
    toilet = register.t1
    excel = Import(users, toilet)
    excel.find("unusable", ["tank"])
    entry = LedgerEntry.objects.get(toilet=toilet)
    drive(entry, township=users.township, surveyor=users.surveyor, to=S.CLOSED)
    closed_out = ledger(toilet)

    excel.find("unusable", ["tank"])  # the same file again
    assert ledger(toilet) == closed_out

    excel.find("unusable", ["room"])  # a corrected row: the toilet is broken again
    assert ledger(toilet) == [*closed_out, ("registered", "unusable", ["room"], ["registered"])]
