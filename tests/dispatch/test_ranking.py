"""The ranking by the county's formula: components, ties (1, 2, 2, 4), weights changing the
order, what would move a township up, and the change against the previous briefing."""

from decimal import Decimal

import pytest

from dispatch import ranking
from dispatch.models import DEFAULT_WEIGHTS

ZERO = {
    "registered": 10,
    "surveyed": 10,
    "problems": 10,
    "closed": 0,
    "overdue": 0,
    "spot_checked": 0,
    "spot_differing": 0,
}


def row(code, **figures):
    return {"code": code, "name": f"乡镇{code}", **ZERO, **figures}


def test_components_and_score_with_the_default_formula():
    r = row("a", surveyed=9, closed=5, overdue=3, spot_checked=10, spot_differing=1)
    parts = ranking.components(r, DEFAULT_WEIGHTS)
    assert parts == {
        "coverage": Decimal("36.00"),  # 40 × 0.9
        "closeout": Decimal("30.00"),  # 60 × 0.5
        "overdue": Decimal("-1.50"),  # 0.5 × 3
        "discrepancy": Decimal("-2.00"),  # 20 × 0.1
    }
    assert ranking.score(r, DEFAULT_WEIGHTS) == Decimal("62.50")


def test_empty_denominators():
    nothing = row("a", registered=0, surveyed=0, problems=0, closed=0)
    parts = ranking.components(nothing, DEFAULT_WEIGHTS)
    assert parts["coverage"] == 0  # nothing registered: no coverage
    assert parts["closeout"] == Decimal("60.00")  # no problem toilet: nothing left to close
    assert parts["discrepancy"] == 0  # nothing checked: no penalty


def test_ties_share_a_place_and_the_next_is_skipped():
    rows = [row("a", closed=9), row("b", closed=5), row("c", closed=5), row("d", closed=1)]
    ranked = ranking.rank(rows, DEFAULT_WEIGHTS)
    assert [(r["code"], r["place"], r["tied"]) for r in ranked] == [
        ("a", 1, False),
        ("b", 2, True),
        ("c", 2, True),
        ("d", 4, False),
    ]
    assert ranking.places([Decimal(3), Decimal(3), Decimal(3)]) == [1, 1, 1]


def test_weights_change_the_order():
    surveying = row("a", surveyed=10, closed=2)  # all surveyed, little closed
    closing = row("b", surveyed=5, closed=8)  # half surveyed, most closed
    by_coverage = {**DEFAULT_WEIGHTS, "coverage": Decimal(80), "closeout": Decimal(20)}
    by_closeout = {**DEFAULT_WEIGHTS, "coverage": Decimal(20), "closeout": Decimal(80)}
    assert [r["code"] for r in ranking.rank([surveying, closing], by_coverage)] == ["a", "b"]
    assert [r["code"] for r in ranking.rank([surveying, closing], by_closeout)] == ["b", "a"]
    overdue_heavy = {**DEFAULT_WEIGHTS, "overdue": Decimal(50)}
    late = row("c", closed=9, overdue=1)
    on_time = row("d", closed=8)
    assert [r["code"] for r in ranking.rank([late, on_time], DEFAULT_WEIGHTS)] == ["c", "d"]
    assert [r["code"] for r in ranking.rank([late, on_time], overdue_heavy)] == ["d", "c"]


def test_what_would_move_a_township_up():
    rows = [row("a", closed=8), row("b", closed=6), row("c", closed=5, surveyed=8, overdue=2)]
    ranked = ranking.rank(rows, DEFAULT_WEIGHTS)  # a 88, b 76, c 32+30-1 = 61
    c = next(r for r in ranked if r["code"] == "c")
    assert c["place"] == 3
    advice = {a["lever"]: a for a in ranking.move_up(c, ranked, DEFAULT_WEIGHTS)}
    # Close-outs: 32 + 60·(5+n)/10 − 1 > 76 → n = 3 (79), above b, below a.
    assert advice["closeout"]["n"] == 3
    assert advice["closeout"]["place"] == 2
    assert advice["closeout"]["text"] == "再销号 3 户可升至第 2 名"
    # Surveys alone (at most 2 left: 40 + 30 − 1 = 69) cannot pass b; overdue alone neither.
    assert "coverage" not in advice and "overdue" not in advice
    first = next(r for r in ranked if r["code"] == "a")
    assert ranking.move_up(first, ranked, DEFAULT_WEIGHTS) == []
    # A tie is not passed by an equal score: one more close-out is needed than to draw level.
    tied = ranking.rank([row("x", closed=5), row("y", closed=5)], DEFAULT_WEIGHTS)
    assert ranking.move_up(tied[1], tied, DEFAULT_WEIGHTS) == []  # both first
    behind = ranking.rank([row("x", closed=5), row("y", closed=4)], DEFAULT_WEIGHTS)
    advice = ranking.move_up(behind[1], behind, DEFAULT_WEIGHTS)
    assert [(a["lever"], a["n"], a["place"]) for a in advice] == [("closeout", 2, 1)]


def test_the_overdue_lever():
    # a 70; b 40 + 36 − 10 = 66: 9 fewer overdue make 70.5 (8 would only draw level).
    ranked = ranking.rank([row("a", closed=5), row("b", closed=6, overdue=20)], DEFAULT_WEIGHTS)
    b = ranked[1]
    advice = ranking.move_up(b, ranked, DEFAULT_WEIGHTS)
    assert {a["lever"]: a["n"] for a in advice} == {"closeout": 1, "overdue": 9}
    assert advice[1]["text"] == "逾期问题减少 9 户可升至第 1 名"


def test_change_against_the_previous_briefing():
    before = ranking.rank([row("a", closed=5), row("b", closed=6)], DEFAULT_WEIGHTS)
    after = ranking.rank([row("a", closed=8), row("b", closed=6), row("n")], DEFAULT_WEIGHTS)
    change = ranking.change(after, before)
    assert change["a"]["places"] == 1 and change["a"]["arrow"] == "▲"
    assert change["a"]["closed"] == 3
    assert change["a"]["score"] == "18.00"
    assert change["b"]["places"] == -1 and change["b"]["arrow"] == "▼"
    assert "n" not in change  # new in the table: nothing to compare
    assert ranking.change(after, None) == {}


@pytest.mark.parametrize(
    ("weights", "text"),
    [
        (DEFAULT_WEIGHTS, "得分 = 40×摸排覆盖率 + 60×销号率 − 0.5×逾期户数 − 20×抽查不一致率"),
        (
            {"coverage": "50.00", "closeout": "50.00", "overdue": "1.00", "discrepancy": "0.00"},
            "得分 = 50×摸排覆盖率 + 50×销号率 − 1×逾期户数 − 0×抽查不一致率",
        ),
    ],
)
def test_formula_text(weights, text):
    assert ranking.formula_text(weights) == text
