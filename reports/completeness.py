"""全覆盖、不漏一户 at submission: the coverage of the submitted area and the exceptions that
excuse the toilets still without a verified inspection.

A submission (township or county) is refused while any toilet in use registered in its area has
no inspection in the round, or an inspection not yet verified, unless an exception for its
village covers exactly those toilets: a reason from ``ExceptionReason`` (其他 needs a text) and
the toilet ids the submitter saw. An exception whose toilets are no longer the village's
incomplete ones (someone registered, inspected or verified a toilet meanwhile) is stale and
refused. The coverage figures and the exceptions are frozen on ``Submission.coverage`` (JSON:
they are part of the immutable snapshot, read only with it, never queried or edited on their
own, so a separate table would add nothing but joins) and printed on the stamped file.
"""

from dataclasses import dataclass, field

from django.urls import reverse

from regions.models import Region
from surveys.queries import area_coverage

from .models import ExceptionReason

TEXT_MAX = 200


class Detail(str):
    """One line of a refusal, optionally with a link to where it can be fixed."""

    url = ""
    link_text = ""

    def __new__(cls, text, url="", link_text=""):
        detail = super().__new__(cls, text)
        detail.url = url
        detail.link_text = link_text
        return detail


@dataclass
class VillageCoverage:
    village: Region
    registered: int
    inspected: int
    verified: int
    missing_ids: list[int] = field(default_factory=list)
    unverified_ids: list[int] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return len(self.missing_ids)

    @property
    def unverified(self) -> int:
        return len(self.unverified_ids)

    @property
    def incomplete_ids(self) -> list[int]:
        return sorted(self.missing_ids + self.unverified_ids)

    @property
    def reached(self) -> bool:
        return self.inspected > 0

    @property
    def township(self) -> str:
        parent = self.village.parent
        return parent.name if parent is not None else ""


@dataclass
class Coverage:
    region: Region
    villages: list[VillageCoverage]

    @property
    def incomplete(self) -> list[VillageCoverage]:
        return [v for v in self.villages if v.incomplete_ids]

    @property
    def total(self) -> dict:
        return totals_of(
            {
                "registered": v.registered,
                "inspected": v.inspected,
                "verified": v.verified,
                "missing": v.missing,
                "unverified": v.unverified,
                "reached": v.reached,
            }
            for v in self.villages
        )

    def by_code(self) -> dict[str, VillageCoverage]:
        return {v.village.code: v for v in self.villages}


def totals_of(rows) -> dict:
    keys = ("registered", "inspected", "verified", "missing", "unverified")
    total = dict.fromkeys(keys, 0) | {"villages": 0, "reached": 0}
    for row in rows:
        for key in keys:
            total[key] += row[key]
        total["villages"] += 1
        total["reached"] += 1 if row["reached"] else 0
    return total


def coverage_of(user, survey_round, region: Region) -> Coverage:
    """The live coverage of ``region`` within the user's scope (four queries)."""
    return Coverage(
        region=region,
        villages=[VillageCoverage(**row) for row in area_coverage(user, survey_round, region)],
    )


@dataclass
class ExceptionInput:
    """What the submitter recorded for one village: the reason, a text (required for 其他) and
    the toilet ids the page showed as missing or unverified."""

    village_code: str
    reason: str
    text: str = ""
    toilets: list[int] = field(default_factory=list)


def parse_toilets(text: str) -> list[int]:
    """The hidden field's "12,15,18" back to ids (garbage is dropped: the set then differs and
    the exception is refused as stale)."""
    return sorted({int(part) for part in (text or "").split(",") if part.strip().isdigit()})


def counts_text(village: VillageCoverage) -> str:
    return f"未摸排 {village.missing} 户、已摸排未核查 {village.unverified} 户"


def links_for(survey_round, village: VillageCoverage) -> tuple[str, str]:
    if village.missing:
        url = reverse("surveys:coverage-missing", args=[survey_round.pk])
        return f"{url}?village={village.village.code}", "查看未摸排清单"
    url = reverse("surveys:review", args=[survey_round.pk])
    return f"{url}?village={village.village.code}", "查看待核查记录"


def input_problems(exceptions: list[ExceptionInput], coverage: Coverage) -> list[Detail]:
    """What is wrong with the recorded exceptions themselves: a village outside the area (not
    named), a village twice, a reason not on the list, 其他 without a text."""
    villages = coverage.by_code()
    problems, seen, outside = [], set(), 0
    for item in exceptions:
        village = villages.get(item.village_code)
        if village is None:
            outside += 1
            continue
        name = village.village.name
        if item.village_code in seen:
            problems.append(Detail(f"{name}：同一个村只能填写一条例外说明。"))
        seen.add(item.village_code)
        if item.reason not in ExceptionReason.values:
            problems.append(Detail(f"{name}：请从列表中选择例外原因。"))
        elif item.reason == ExceptionReason.OTHER and not item.text.strip():
            problems.append(Detail(f"{name}：例外原因为“其他”时须填写具体说明。"))
        if len(item.text.strip()) > TEXT_MAX:
            problems.append(Detail(f"{name}：说明不能超过 {TEXT_MAX} 字。"))
    if outside:
        problems.insert(
            0, Detail(f"有 {outside} 条例外说明的村不在本单位范围内或不存在，请刷新后重新填写。")
        )
    return problems


def coverage_problems(
    survey_round, coverage: Coverage, exceptions: dict[str, dict]
) -> list[Detail]:
    """Each village whose incomplete toilets no exception covers exactly (an exception for a
    village with nothing missing is stale too). ``exceptions`` maps a village code to its
    exception (``toilets``: the ids it covers). A village outside the area is not named."""
    problems = []
    by_code = coverage.by_code()
    for village in coverage.villages:
        exception = exceptions.get(village.village.code)
        label = (
            village.village.name
            if village.village.parent_id == coverage.region.pk
            else f"{village.township}{village.village.name}"
        )
        if exception is None:
            if village.incomplete_ids:
                url, link_text = links_for(survey_round, village)
                problems.append(
                    Detail(f"{label}：{counts_text(village)}，没有例外说明。", url, link_text)
                )
            continue
        covered = sorted(int(pk) for pk in exception.get("toilets", []))
        if covered != village.incomplete_ids or not covered:
            url, link_text = (
                links_for(survey_round, village) if village.incomplete_ids else ("", "")
            )
            problems.append(
                Detail(
                    f"{label}：例外说明涵盖 {len(covered)} 户，当前{counts_text(village)}"
                    f"（共 {len(village.incomplete_ids)} 户），厕所已有变化，例外说明已过期，"
                    "请刷新后重新填写。",
                    url,
                    link_text,
                )
            )
    for code in exceptions:
        if code not in by_code:
            problems.append(Detail("有例外说明的村不在本单位范围内。"))
    return problems


def frozen_exception(village: VillageCoverage, item: ExceptionInput) -> dict:
    return {
        "village": village.village.code,
        "name": village.village.name,
        "township": village.township,
        "reason": item.reason,
        "reason_label": ExceptionReason(item.reason).label,
        "text": item.text.strip(),
        "toilets": village.incomplete_ids,
        "missing": village.missing,
        "unverified": village.unverified,
        "count": len(village.incomplete_ids),
    }


def frozen(coverage: Coverage, exceptions: list[dict]) -> dict:
    """What ``Submission.coverage`` stores."""
    return {
        "villages": [
            {
                "code": v.village.code,
                "name": v.village.name,
                "township": v.township,
                "registered": v.registered,
                "inspected": v.inspected,
                "verified": v.verified,
                "missing": v.missing,
                "unverified": v.unverified,
                "reached": v.reached,
            }
            for v in coverage.villages
        ],
        "total": coverage.total,
        "exceptions": exceptions,
    }


def summary_line(total: dict) -> str:
    return (
        f"摸排覆盖：在用厕所 {total['registered']} 座，已摸排 {total['inspected']} 座，"
        f"已核查 {total['verified']} 座；已摸排的行政村 {total['reached']} 个"
        f"（共 {total['villages']} 个）。"
    )


def exception_line(item: dict) -> str:
    text = f"（{item['text']}）" if item.get("text") else ""
    return (
        f"{item.get('township', '')}{item['name']}：{item['reason_label']}{text}，"
        f"{item['count']} 户（未摸排 {item['missing']}、未核查 {item['unverified']}）"
    )


def note_lines(coverage: dict) -> list[str]:
    """The coverage and the exceptions as printed under the stamped table's notes."""
    if not coverage:
        return []
    lines = [summary_line(coverage["total"])]
    exceptions = coverage.get("exceptions", [])
    if exceptions:
        count = sum(item["count"] for item in exceptions)
        lines.append(f"例外说明（{len(exceptions)} 个村，共 {count} 户未摸排或未核查）：")
        lines += [f"  {i}. {exception_line(item)}" for i, item in enumerate(exceptions, 1)]
    else:
        lines.append("例外说明：无（全部在用厕所均已摸排并核查）。")
    return lines


def township_rows(coverage: dict) -> list[dict]:
    """A frozen (or live, via ``frozen``) coverage grouped by township: the county's view."""
    groups: dict[str, list[dict]] = {}
    for row in coverage.get("villages", []):
        groups.setdefault(row.get("township", ""), []).append(row)
    return [{"name": name, **totals_of(rows)} for name, rows in groups.items()]
