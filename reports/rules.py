"""The constraint engine: the rules printed under the summary form, kept in the form's own
notation, parsed once and evaluated against any table (built here or uploaded)."""

import re
from dataclasses import dataclass

from .columns import COLUMNS

# As printed in 填报说明 2 of seed 000 (the ellipsis form "12+…+19" is accepted too).
PRINTED_RULES = (
    "1=2+3+4；6=7+8；6+9=10+11；6+9=20+21；6+9=22+23+24+25+26+27+28；3≥7；1≥6+9；"
    "6+9≤12+13+14+15+16+17+18+19；6+9≥29+32"
)
# Implied by the column definitions; checked as well.
IMPLIED_RULES = "29=30+31；33=6+9-29-32；4≥8"

_OPS = {"=": "=", "≥": "≥", ">=": "≥", "≤": "≤", "<=": "≤"}
_BROKEN = {"=": "≠", "≥": "<", "≤": ">"}
_TERM = re.compile(r"\s*([+-]?)\s*(\d+|…|\.\.\.)\s*")
# Spellings met in typed and printed rule texts: the minus sign (33=6+9−29−32), full-width
# operators from a Chinese input method, the midline ellipsis.
_NORMALIZE = str.maketrans(
    {"−": "-", "－": "-", "＋": "+", "＝": "=", "≧": "≥", "≦": "≤", "⋯": "…", "　": " "}
)


class RuleSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    text: str
    left: tuple[tuple[int, int], ...]  # (sign, column)
    op: str
    right: tuple[tuple[int, int], ...]
    left_text: str
    right_text: str

    def sides(self, values: dict[int, int]) -> tuple[int, int]:
        def total(terms):
            return sum(sign * values.get(col, 0) for sign, col in terms)

        return total(self.left), total(self.right)

    def holds(self, left: int, right: int) -> bool:
        if self.op == "=":
            return left == right
        if self.op == "≥":
            return left >= right
        return left <= right

    def describe(self, label: str, left: int, right: int) -> str:
        """`海门街道: 6+9 (=12) ≠ 10+11 (=11)`"""
        return (
            f"{label}: {self.left_text} (={left}) {_BROKEN[self.op]} {self.right_text} (={right})"
        )


def _parse_side(text: str, rule: str) -> tuple[tuple[int, int], ...]:
    if not text.strip():
        raise RuleSyntaxError(f"规则“{rule}”缺少一侧")
    position, terms, pending_range = 0, [], False
    while position < len(text):
        match = _TERM.match(text, position)
        if match is None:
            raise RuleSyntaxError(f"规则“{rule}”无法识别：{text[position:].strip()}")
        sign_text, token = match.groups()
        position = match.end()
        if token in ("…", "..."):
            if not terms or sign_text == "-":
                raise RuleSyntaxError(f"规则“{rule}”中的省略号位置不对")
            pending_range = True
            continue
        if not sign_text and terms and not pending_range:
            raise RuleSyntaxError(f"规则“{rule}”缺少运算符")
        column, sign = int(token), -1 if sign_text == "-" else 1
        if column not in COLUMNS:
            raise RuleSyntaxError(f"规则“{rule}”中的第 {column} 列不存在（共 33 列）")
        if pending_range:
            start = terms[-1][1]
            if column <= start or sign < 0:
                raise RuleSyntaxError(f"规则“{rule}”中的省略范围不对")
            terms.extend((1, c) for c in range(start + 1, column))
            pending_range = False
        terms.append((sign, column))
    if pending_range:
        raise RuleSyntaxError(f"规则“{rule}”以省略号结尾")
    return tuple(terms)


def parse_rule(text: str) -> Rule:
    text = text.translate(_NORMALIZE).strip()
    match = re.fullmatch(r"(.+?)(>=|<=|≥|≤|=)(.+)", text)
    if match is None:
        raise RuleSyntaxError(f"规则“{text}”缺少 =、≥ 或 ≤")
    left, op, right = match.groups()
    return Rule(
        text=text,
        left=_parse_side(left, text),
        op=_OPS[op],
        right=_parse_side(right, text),
        left_text=left.strip(),
        right_text=right.strip(),
    )


def parse_rules(text: str) -> list[Rule]:
    return [parse_rule(part) for part in re.split(r"[；;\n]", text) if part.strip()]


RULES = parse_rules(PRINTED_RULES) + parse_rules(IMPLIED_RULES)
TOTAL_RULE = "合计=各行之和"
_RULE_COLUMNS = {rule.text: {column for _, column in (*rule.left, *rule.right)} for rule in RULES}
_TOTAL_COLUMN = re.compile(re.escape(TOTAL_RULE) + r"（第(\d+)列）")


def rule_columns(rule_text: str) -> set[int]:
    """The columns a broken rule involves: those of a printed or implied rule, or the one
    column of a 合计 rule (as ``check_table`` names it)."""
    if rule_text in _RULE_COLUMNS:
        return _RULE_COLUMNS[rule_text]
    match = _TOTAL_COLUMN.fullmatch(rule_text)
    return {int(match.group(1))} if match else set()


@dataclass(frozen=True)
class Violation:
    row: str
    rule: str
    left: int
    right: int
    message: str

    def as_dict(self) -> dict:
        return {
            "row": self.row,
            "rule": self.rule,
            "left": self.left,
            "right": self.right,
            "message": self.message,
        }


def check_row(label: str, values: dict[int, int], rules: list[Rule] = RULES) -> list[Violation]:
    violations = []
    for rule in rules:
        left, right = rule.sides(values)
        if not rule.holds(left, right):
            violations.append(
                Violation(label, rule.text, left, right, rule.describe(label, left, right))
            )
    return violations


def check_table(
    rows: list[tuple[str, dict[int, int]]],
    total: tuple[str, dict[int, int]] | None = None,
    rules: list[Rule] = RULES,
) -> list[Violation]:
    """Every rule on every row (the 合计 row included), then the 合计 row against the sum of
    the rows above it, column by column."""
    violations = []
    for label, values in rows:
        violations += check_row(label, values, rules)
    if total is not None:
        label, values = total
        violations += check_row(label, values, rules)
        for column in COLUMNS:
            summed = sum(row.get(column, 0) for _, row in rows)
            given = values.get(column, 0)
            if summed != given:
                violations.append(
                    Violation(
                        label,
                        f"{TOTAL_RULE}（第{column}列）",
                        given,
                        summed,
                        f"{label}: 第{column}列 (={given}) ≠ 各行之和 (={summed})",
                    )
                )
    return violations
