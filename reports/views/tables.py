"""The summary table as HTML: the three header levels with their spans, and the rows with the
cells a broken rule involves marked."""

from ..build import TOTAL_LABEL
from ..columns import COLUMNS, HEADER, column_titles
from ..queries import bucket_labels, frozen_rows, values_of
from ..rules import check_table, rule_columns
from ..sheet import row_label


def header_rows(bucket_labels=None) -> list[list[dict]]:
    """The three header levels as HTML cells with their spans, as printed on the form."""
    titles = column_titles(bucket_labels)
    levels: list[list[dict]] = [[], [], []]

    def place(group, level):
        leaf = not group.children
        levels[level].append(
            {
                "title": titles[group.first] if leaf else group.title,
                "colspan": group.last - group.first + 1,
                "rowspan": 3 - level if leaf else 1,
            }
        )
        for child in group.children:
            place(child, level + 1)

    for group in HEADER:
        place(group, 0)
    return levels


def table_rows(rows, total, violations, links=None) -> list[dict]:
    """Rows ready for the template: each cell with whether a broken rule involves it."""
    bad: dict[str, set[int]] = {}
    for violation in violations:
        bad.setdefault(violation.row, set()).update(rule_columns(violation.rule))
    links = links or {}
    out = []
    for code, name, values, is_total in [
        *((row.code, row.name, row.values, False) for row in rows),
        ("", TOTAL_LABEL, total, True),
    ]:
        columns = bad.get(name, set())
        out.append(
            {
                "name": name,
                "url": links.get(code, ""),
                "total": is_total,
                "bad": bool(columns),
                "cells": [
                    {"column": c, "value": values.get(c, 0), "bad": c in columns} for c in COLUMNS
                ],
            }
        )
    return out


def table_context(survey_round, rows, total, violations, links=None, row_label="单位") -> dict:
    """``rows``: the table's rows (each with code, name and values), 合计 apart."""
    return {
        "header": header_rows(bucket_labels(survey_round)),
        "numbers": COLUMNS,
        "table": table_rows(rows, total, violations, links),
        "violations": violations,
        "row_label": row_label,
    }


def frozen_table(submission) -> dict:
    """A submission's table as it was frozen, with the rules checked again."""
    rows = frozen_rows(submission)
    total = values_of(submission.total)
    violations = check_table([(row.name, row.values) for row in rows], (TOTAL_LABEL, total))
    label = row_label(submission.region.level)
    # A round's table takes its template's year columns from the round, a collection's from
    # the collection (both have ``template``).
    source = submission.survey_round or submission.collection
    return table_context(source, rows, total, violations, row_label=label)
