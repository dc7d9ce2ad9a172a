"""The ranking (考核排名) by the county's formula, and what would move a township up.

score = coverage × 覆盖率 + closeout × 销号率 − overdue × 逾期户数 − discrepancy × 抽查不一致率

- 覆盖率 = surveyed / registered (0 when nothing is registered);
- 销号率 = closed / problem toilets (1 when the township has no problem toilet: nothing is
  left to close);
- 抽查不一致率 = differing / checked spot-check items (0 when none was checked).

Each component is rounded to 0.01 point and the score is their sum, so the figures shown add
up exactly. Equal scores share a place and the next place is skipped (1, 2, 2, 4).
Everything here is pure: it reads the frozen rows and the frozen formula only.
"""

from decimal import Decimal

CENT = Decimal("0.01")
COMPONENTS = [
    # (key, label, sign)
    ("coverage", "摸排覆盖率", 1),
    ("closeout", "销号率", 1),
    ("overdue", "逾期扣分", -1),
    ("discrepancy", "抽查不一致扣分", -1),
]


def formula_text(weights: dict) -> str:
    w = {k: _num(v) for k, v in weights.items()}
    return (
        f"得分 = {w['coverage']}×摸排覆盖率 + {w['closeout']}×销号率 − "
        f"{w['overdue']}×逾期户数 − {w['discrepancy']}×抽查不一致率"
    )


def _num(value) -> str:
    d = Decimal(str(value)).normalize()
    return format(d, "f")


def _ratio(part: int, whole: int, empty: Decimal) -> Decimal:
    return Decimal(part) / Decimal(whole) if whole else empty


def _pct(part: int, whole: int) -> str | None:
    """A rate as shown: percent with one decimal; None (shown "—") without a denominator."""
    if not whole:
        return None
    return str((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1")))


def components(row: dict, weights: dict) -> dict[str, Decimal]:
    w = {k: Decimal(str(v)) for k, v in weights.items()}
    coverage = _ratio(row["surveyed"], row["registered"], Decimal(0))
    closeout = _ratio(row["closed"], row["problems"], Decimal(1))
    discrepancy = _ratio(row["spot_differing"], row["spot_checked"], Decimal(0))
    return {
        "coverage": (w["coverage"] * coverage).quantize(CENT),
        "closeout": (w["closeout"] * closeout).quantize(CENT),
        "overdue": -(w["overdue"] * row["overdue"]).quantize(CENT),
        "discrepancy": -(w["discrepancy"] * discrepancy).quantize(CENT),
    }


def score(row: dict, weights: dict) -> Decimal:
    return sum(components(row, weights).values(), Decimal(0))


def places(scores: list[Decimal]) -> list[int]:
    """Competition ranking: 1 + the number of strictly higher scores."""
    return [1 + sum(1 for other in scores if other > s) for s in scores]


def rank(rows: list[dict], weights: dict) -> list[dict]:
    """The rows with their components, score and place, best first (code order within a tie);
    Decimals as strings so the result can be frozen in JSON."""
    scored = []
    for row in rows:
        parts = components(row, weights)
        scored.append((row, parts, sum(parts.values(), Decimal(0))))
    ranks = places([s for _, _, s in scored])
    result = []
    for (row, parts, total), place in zip(scored, ranks, strict=True):
        tied = ranks.count(place) > 1
        result.append(
            {
                **row,
                "components": {k: str(v) for k, v in parts.items()},
                "score": str(total),
                "place": place,
                "tied": tied,
                "coverage_pct": _pct(row["surveyed"], row["registered"]),
                "closeout_pct": _pct(row["closed"], row["problems"]),
            }
        )
    result.sort(key=lambda r: (r["place"], r["code"]))
    return result


# What would move a township up -------------------------------------------------------------

LEVERS = [
    # (key, how many are still possible, the changed row, the advice's wording)
    (
        "closeout",
        lambda r: r["problems"] - r["closed"],
        lambda r, n: {**r, "closed": r["closed"] + n},
        "再销号 {n} 户",
    ),
    (
        "coverage",
        lambda r: r["registered"] - r["surveyed"],
        lambda r, n: {**r, "surveyed": r["surveyed"] + n},
        "再摸排 {n} 户",
    ),
    (
        "overdue",
        lambda r: r["overdue"],
        lambda r, n: {**r, "overdue": r["overdue"] - n},
        "逾期问题减少 {n} 户",
    ),
]


def _smallest(limit: int, passes) -> int | None:
    """The smallest n in 1..limit with passes(n) (passes is monotonic), by bisection."""
    if limit < 1 or not passes(limit):
        return None
    low, high = 1, limit
    while low < high:
        mid = (low + high) // 2
        if passes(mid):
            high = mid
        else:
            low = mid + 1
    return low


def move_up(row: dict, ranked: list[dict], weights: dict) -> list[dict]:
    """For a township below first place: the smallest change in one component that lifts its
    score above the next township's above it, and the place it would then hold. Each lever
    alone, the others as they are (closing an overdue entry would also lift the overdue
    component, so the close-out figure is an upper bound). Spot-check results are not a lever:
    a township cannot change them."""
    mine = Decimal(row["score"])
    others = [Decimal(r["score"]) for r in ranked if r["code"] != row["code"]]
    above = [s for s in others if s > mine]
    if not above:
        return []
    target = min(above)
    advice = []
    for key, room, changed, wording in LEVERS:
        n = _smallest(
            room(row), lambda n, changed=changed: score(changed(row, n), weights) > target
        )
        if n is None:
            continue
        new = score(changed(row, n), weights)
        place = 1 + sum(1 for s in others if s > new)
        advice.append(
            {
                "lever": key,
                "n": n,
                "place": place,
                "score": str(new),
                "text": f"{wording.format(n=n)}可升至第 {place} 名",
            }
        )
    return advice


# Figures whose change against the previous briefing is shown; the leads' are None when
# either briefing was frozen before they were counted.
CHANGED = ["closed", "surveyed", "overdue"]
CHANGED_IF_PRESENT = ["leads_period", "leads_answered_period", "leads_overdue"]


def _delta(row: dict, old: dict, key: str) -> int | None:
    if row.get(key) is None or old.get(key) is None:
        return None
    return row[key] - old[key]


def change(ranked: list[dict], previous: list[dict] | None) -> dict[str, dict]:
    """Per township code: places moved (positive: up ▲) and the deltas of score and figures
    against the previous briefing of the same kind; nothing for a township new in the table."""
    if not previous:
        return {}
    before = {r["code"]: r for r in previous}
    result = {}
    for row in ranked:
        old = before.get(row["code"])
        if old is None:
            continue
        moved = old["place"] - row["place"]
        result[row["code"]] = {
            "previous_place": old["place"],
            "places": moved,
            "arrow": "▲" if moved > 0 else "▼" if moved < 0 else "—",
            "score": str(Decimal(row["score"]) - Decimal(old["score"])),
            **{key: row[key] - old[key] for key in CHANGED},
            **{key: _delta(row, old, key) for key in CHANGED_IF_PRESENT},
        }
    return result
