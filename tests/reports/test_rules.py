"""The constraint engine of the summary table: the rules as printed under the form (seed 000,
填报说明 2) and the implied ones, parsed from the form's own notation and evaluated on rows and
on the 合计 row."""

import pytest

from reports.columns import COLUMNS
from reports.rules import (
    IMPLIED_RULES,
    PRINTED_RULES,
    RULES,
    TOTAL_RULE,
    RuleSyntaxError,
    check_row,
    check_table,
    parse_rule,
    parse_rules,
)

P = 1  # a plus term


def terms(*columns, sign=P):
    return tuple((sign, c) for c in columns)


# Every rule of the form, with the terms it must parse to.
EXPECTED = {
    "1=2+3+4": (terms(1), "=", terms(2, 3, 4)),
    "6=7+8": (terms(6), "=", terms(7, 8)),
    "6+9=10+11": (terms(6, 9), "=", terms(10, 11)),
    "6+9=20+21": (terms(6, 9), "=", terms(20, 21)),
    "6+9=22+23+24+25+26+27+28": (terms(6, 9), "=", terms(*range(22, 29))),
    "3≥7": (terms(3), "≥", terms(7)),
    "1≥6+9": (terms(1), "≥", terms(6, 9)),
    "6+9≤12+13+14+15+16+17+18+19": (terms(6, 9), "≤", terms(*range(12, 20))),
    "6+9≥29+32": (terms(6, 9), "≥", terms(29, 32)),
    "29=30+31": (terms(29), "=", terms(30, 31)),
    "33=6+9-29-32": (terms(33), "=", ((1, 6), (1, 9), (-1, 29), (-1, 32))),
    "4≥8": (terms(4), "≥", terms(8)),
}


def valid_row() -> dict[int, int]:
    """A row that satisfies every rule: 10 toilets, 3 problem ones, 1 closed out."""
    values = dict.fromkeys(COLUMNS, 0)
    values.update({1: 10, 2: 1, 3: 6, 4: 3, 5: 2})
    values.update({6: 2, 7: 1, 8: 1, 9: 1, 10: 2, 11: 1})
    values.update({12: 1, 14: 2, 19: 1, 20: 2, 21: 1, 23: 1, 25: 2})
    values.update({29: 1, 30: 1, 31: 0, 32: 0, 33: 2})
    return values


def test_it_runs_exactly_the_printed_and_the_implied_rules():
    assert [rule.text for rule in RULES] == list(EXPECTED)
    assert PRINTED_RULES.split("；") == list(EXPECTED)[:9]
    assert IMPLIED_RULES.split("；") == list(EXPECTED)[9:]


@pytest.mark.parametrize("text", list(EXPECTED))
def test_it_parses_each_rule_of_the_form_to_its_terms(text):
    rule = parse_rule(text)
    left, op, right = EXPECTED[text]
    assert (rule.left, rule.op, rule.right) == (left, op, right)
    assert rule.text == text


@pytest.mark.parametrize(
    "text",
    ["6+9≤12+…+19", "6+9≤12+...+19", "6+9≤12+13+…+19", "6+9 ≤ 12 + … + 19", "6+9≤12+⋯+19"],
)
def test_it_expands_the_ellipsis_form(text):
    rule = parse_rule(text)
    assert rule.left == terms(6, 9)
    assert rule.op == "≤"
    assert rule.right == terms(*range(12, 20))


@pytest.mark.parametrize(
    ("text", "op", "right"),
    [
        ("33=6+9−29−32", "=", ((1, 6), (1, 9), (-1, 29), (-1, 32))),  # U+2212 as in DESIGN.md
        ("6+9＝10＋11", "=", terms(10, 11)),  # full-width, as typed with a Chinese IME
        ("1>=6+9", "≥", terms(6, 9)),
        ("6+9<=12+13", "≤", terms(12, 13)),
    ],
)
def test_it_accepts_other_spellings_of_the_operators(text, op, right):
    rule = parse_rule(text)
    assert (rule.op, rule.right) == (op, right)


def test_it_splits_a_rule_list_on_either_semicolon_or_a_newline():
    rules = parse_rules("1=2+3+4；6=7+8;3≥7\n4≥8；")
    assert [r.text for r in rules] == ["1=2+3+4", "6=7+8", "3≥7", "4≥8"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "缺少 =、≥ 或 ≤"),
        ("1+2+3", "缺少 =、≥ 或 ≤"),
        ("=1", "缺少 =、≥ 或 ≤"),
        ("1=", "缺少 =、≥ 或 ≤"),
        ("1= ", "缺少 =、≥ 或 ≤"),
        ("1=2+", "无法识别"),
        ("1=2=3", "无法识别"),
        ("1=a+b", "无法识别"),
        ("1=2*3", "无法识别"),
        ("1=2 3", "缺少运算符"),
        ("1=34", "第 34 列不存在"),
        ("0=1", "第 0 列不存在"),
        ("6+9≤…+19", "省略号位置不对"),
        ("6+9≤12-…+19", "省略号位置不对"),
        ("6+9≤12+…", "以省略号结尾"),
        ("6+9≤19+…+12", "省略范围不对"),
        ("6+9≤12+…-19", "省略范围不对"),
    ],
)
def test_it_refuses_a_bad_rule_with_a_chinese_message(text, says):
    with pytest.raises(RuleSyntaxError) as error:
        parse_rule(text)
    assert says in str(error.value)
    assert "规则" in str(error.value)


def test_a_bad_rule_in_a_list_refuses_the_whole_list():
    with pytest.raises(RuleSyntaxError, match="第 40 列"):
        parse_rules("1=2+3+4；6=40")


def test_a_valid_row_breaks_no_rule():
    assert check_row("沙埠镇", valid_row()) == []


def test_it_names_the_row_the_rule_and_both_sides_of_a_broken_equation():
    values = valid_row()
    values.update({6: 11, 7: 10, 9: 1, 10: 10, 11: 1})  # 6+9 = 12, 10+11 = 11
    [violation] = [v for v in check_row("海门街道", values) if v.rule == "6+9=10+11"]
    assert (violation.row, violation.left, violation.right) == ("海门街道", 12, 11)
    assert violation.message == "海门街道: 6+9 (=12) ≠ 10+11 (=11)"
    assert violation.as_dict() == {
        "row": "海门街道",
        "rule": "6+9=10+11",
        "left": 12,
        "right": 11,
        "message": "海门街道: 6+9 (=12) ≠ 10+11 (=11)",
    }


def test_a_broken_at_least_rule_reads_as_less_than():
    values = valid_row()
    values[7] = 7  # 3 (=6) ≥ 7 (=7) fails
    messages = [v.message for v in check_row("沙埠镇", values) if v.rule == "3≥7"]
    assert messages == ["沙埠镇: 3 (=6) < 7 (=7)"]


def test_a_broken_at_most_rule_reads_as_greater_than():
    values = valid_row()
    for column in range(12, 20):
        values[column] = 0
    messages = [v.message for v in check_row("沙埠镇", values) if v.rule.startswith("6+9≤")]
    assert messages == ["沙埠镇: 6+9 (=3) > 12+13+14+15+16+17+18+19 (=0)"]


def test_the_ellipsis_rule_reports_its_own_notation():
    [rule] = parse_rules("6+9≤12+…+19")
    [violation] = check_row("沙埠镇", {6: 2, 9: 1, 14: 1}, [rule])
    assert violation.message == "沙埠镇: 6+9 (=3) > 12+…+19 (=1)"


def test_the_implied_rules_are_checked():
    values = valid_row()
    values.update({30: 0, 33: 3, 8: 4})
    broken = {v.rule for v in check_row("沙埠镇", values)}
    assert broken == {"29=30+31", "33=6+9-29-32", "4≥8", "6=7+8"}


def test_a_missing_column_counts_as_zero():
    assert check_row("空行", {}) == []


def test_it_checks_every_row_and_the_total_row():
    good, bad = valid_row(), valid_row()
    bad[2] = 5  # 1 = 2+3+4 breaks
    total = {c: good[c] + bad[c] for c in COLUMNS}
    violations = check_table([("沙埠镇", good), ("康熙岭镇", bad)], ("合计", total))
    assert {(v.row, v.rule) for v in violations} == {("康熙岭镇", "1=2+3+4"), ("合计", "1=2+3+4")}


def test_it_checks_the_total_row_against_the_sum_of_the_rows():
    rows = [("沙埠镇", valid_row()), ("康熙岭镇", valid_row())]
    total = {c: 2 * valid_row()[c] for c in COLUMNS}
    assert check_table(rows, ("合计", total)) == []

    # Column 5 (涉及行政村数) takes part in no rule: only the 合计 check can see it.
    total[5] += 1
    [violation] = check_table(rows, ("合计", total))
    assert violation.row == "合计"
    assert violation.rule == f"{TOTAL_RULE}（第5列）"
    assert (violation.left, violation.right) == (5, 4)
    assert violation.message == "合计: 第5列 (=5) ≠ 各行之和 (=4)"


def test_a_table_without_a_total_row_checks_the_rows_only():
    assert check_table([("沙埠镇", valid_row())]) == []
