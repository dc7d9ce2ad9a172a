"""A briefing as a spreadsheet (core.xlsx): the ranking table, the 合计 row, the formula."""

from core.xlsx import write_xlsx

from .figures import LEAD_COUNTS, WORK_PROBLEM_COUNTS
from .models import Briefing, UnitBriefing

HEADERS = [
    "名次",
    "乡镇（街道）",
    "得分",
    "覆盖率得分",
    "销号率得分",
    "逾期扣分",
    "抽查扣分",
    "较上期名次",
    "户厕底数",
    "本期摸排",
    "累计摸排",
    "本期发现问题",
    "累计问题厕所",
    "本期制定方案",
    "累计制定方案",
    "本期整改",
    "累计整改",
    "本期销号",
    "累计销号",
    "未完成整改",
    "逾期",
    "抽查不一致率（%）",
    "本期收到群众反映",
    "本期答复群众反映",
    "逾期未答复群众反映",
    "逾期未答复较上期",
    "工作推进问题",
    "工作推进问题已销号",
    "工作推进问题逾期",
]


def _moved(change: dict | None) -> str:
    if not change:
        return "—"
    n = change["places"]
    return f"▲{n}" if n > 0 else f"▼{-n}" if n < 0 else "持平"


def _figures(row: dict) -> list:
    return [
        row["registered"],
        row["surveyed_period"],
        row["surveyed"],
        row["found_period"],
        row["problems"],
        row["planned_period"],
        row["planned"],
        row["rectified_period"],
        row["rectified"],
        row["closed_period"],
        row["closed"],
        row["unfinished"],
        row["overdue"],
        row["discrepancy_rate"] if row["discrepancy_rate"] is not None else "—",
        # A briefing frozen before the leads were counted has none of their figures.
        *(row.get(key, "—") for key in LEAD_COUNTS),
    ]


def _lead_change(change: dict | None):
    """A number (a text "+1" would be escaped as a formula); "—" with nothing to compare."""
    delta = (change or {}).get("leads_overdue")
    return "—" if delta is None else delta


def _work_problems(row: dict) -> list:
    """A briefing frozen before the work problems were counted has none of their figures."""
    return [row.get(key, "—") for key in WORK_PROBLEM_COUNTS]


def _ranking(row: dict) -> list:
    if row["place"] is None:  # a unit where no county has a round yet (市级、省级通报)
        return ["未排名", row["name"], "—", "—", "—", "—", "—"]
    parts = row["components"]
    return [
        f"{row['place']}（并列）" if row["tied"] else row["place"],
        row["name"],
        float(row["score"]),
        float(parts["coverage"]),
        float(parts["closeout"]),
        float(parts["overdue"]),
        float(parts["discrepancy"]),
    ]


def _unit_columns(briefing, row: dict) -> list:
    """A city's or province's briefing: the row's round(s) and its delivery."""
    if not isinstance(briefing, UnitBriefing):
        return []
    if briefing.row_label == "市":
        rounds = f"{row['briefed']}/{row['counties']}"
    else:
        rounds = "；".join(row["rounds"]) or "未开展摸排"
    delivery = row["delivery"]
    if delivery is None:
        state = "—"
    else:
        state = delivery["label"] + ("（逾期）" if delivery["late"] else "")
    return [rounds, state]


def briefing_xlsx(briefing: Briefing | UnitBriefing) -> bytes:
    data = briefing.data
    rows = []
    for row in data["rows"]:
        rows.append(
            [
                *_ranking(row),
                _moved(data["change"].get(row["code"])),
                *_figures(row),
                _lead_change(data["change"].get(row["code"])),
                *_work_problems(row),
                *_unit_columns(briefing, row),
            ]
        )
    total = data["total"]
    rows.append(["", total["name"], "", "", "", "", "", "", *_figures(total), "",
                 *_work_problems(total)])  # fmt: skip
    rows.append([])
    rows.append(["排名公式", briefing.formula["text"]])
    rows.append(["说明", "得分相同者名次并列，下一名次顺延（如 1、2、2、4）。"])
    if data.get("lead_answer_days") is not None:
        rows.append(
            [
                "群众反映",
                f"本期收到、本期答复（办结）的条数；逾期未答复为截至数据时点超过 "
                f"{data['lead_answer_days']} 天仍未答复的条数，不计入得分。",
            ]
        )
    if total.get("work_problems") is not None:
        rows.append(
            [
                "工作推进问题",
                "截至数据时点登记的工作推进中存在的问题、其中已整改销号的和超过整改时限仍未"
                "销号的个数，不计入得分；合计含县级本级登记的问题。",
            ]
        )
    rows.append(["数据截至", briefing.cutoff])
    headers = HEADERS
    if isinstance(briefing, UnitBriefing):
        rounds = "开展摸排的县（区）" if briefing.row_label == "市" else "当前轮次"
        headers = [HEADERS[0], briefing.row_label, *HEADERS[2:], rounds, "汇总表报送"]
        collection = data.get("collection")
        if collection:
            rows.insert(
                -1,
                ["汇总任务", f"{collection['name']}（{collection['deadline']} 截止）"],
            )
    return write_xlsx(briefing.get_kind_display(), headers, rows)


def unit_briefing_xlsx(briefing: UnitBriefing) -> bytes:
    return briefing_xlsx(briefing)


def filename(briefing: Briefing | UnitBriefing) -> str:
    return f"{briefing.title}.xlsx"
