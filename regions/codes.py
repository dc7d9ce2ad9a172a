"""The 12-digit 统计用区划代码: its level and its ancestors, derived from the digits alone.

Digits 1–2 province, 3–4 city, 5–6 county, 7–9 township, 10–12 village. A code's level is
given by its trailing zeros. Some cities have no county level (e.g. 441900: 东莞市), so a
township's nearest existing ancestor may be the city; the ancestor list collapses such gaps.
"""

import re

from .choices import Level

CODE_RE = re.compile(r"^\d{12}$")

# Significant digits of a code at each level: the prefix shared by its whole subtree.
LEVEL_DIGITS = {
    Level.PROVINCE: 2,
    Level.CITY: 4,
    Level.COUNTY: 6,
    Level.TOWNSHIP: 9,
    Level.VILLAGE: 12,
}


def is_valid_code(code: str) -> bool:
    return bool(CODE_RE.match(code)) and code[:2] != "00"


def level_of(code: str) -> Level:
    for level, digits in LEVEL_DIGITS.items():
        if code[digits:].strip("0") == "":
            return level
    raise AssertionError("unreachable: a 12-digit code always has a level")


def prefix_of(code: str) -> str:
    return code[: LEVEL_DIGITS[level_of(code)]]


def ancestor_codes(code: str) -> list[str]:
    """Codes of every possible ancestor, nearest first (gaps such as 441900 collapse)."""
    own_digits = LEVEL_DIGITS[level_of(code)]
    seen: list[str] = []
    for digits in sorted(LEVEL_DIGITS.values(), reverse=True):
        if digits >= own_digits:
            continue
        candidate = code[:digits].ljust(12, "0")
        if candidate != code and candidate not in seen:
            seen.append(candidate)
    return seen


def parent_code(code: str) -> str | None:
    ancestors = ancestor_codes(code)
    return ancestors[0] if ancestors else None
