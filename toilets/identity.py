"""Resident ID numbers (GB 11643) and phone numbers: validation and on-screen masking."""

import datetime
import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"  # index = weighted sum mod 11
_ID18_RE = re.compile(r"^\d{17}[\dX]$")
_ID15_RE = re.compile(r"^\d{15}$")
_PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def normalize_id_number(raw: str) -> str:
    return re.sub(r"\s+", "", raw or "").upper().replace("x", "X")


def check_character(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def _birth_date_ok(text: str) -> bool:
    try:
        born = datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return False
    return datetime.date(1900, 1, 1) <= born <= datetime.date.today()


def id_number_problem(value: str) -> str | None:
    """A Chinese message saying what is wrong with the ID number, or None when it is valid.

    18-digit numbers are checked for format, birth date and the check character; old 15-digit
    numbers for format and birth date only. The address part is where the ID was issued and
    is never required to match the county.
    """
    if _ID18_RE.match(value):
        if not _birth_date_ok(value[6:14]):
            return f"身份证号中的出生日期 {value[6:14]} 无效"
        expected = check_character(value[:17])
        if value[17] != expected:
            return f"身份证号校验位错误：最后一位应为 {expected}，请核对是否录错"
        return None
    if _ID15_RE.match(value):
        if not _birth_date_ok("19" + value[6:12]):
            return f"身份证号中的出生日期 19{value[6:12]} 无效"
        return None
    return "身份证号应为 18 位（最后一位可为 X）或旧式 15 位数字"


def phone_problem(value: str) -> str | None:
    if value and not _PHONE_RE.match(value):
        return "联系电话应为 11 位手机号或带区号的固定电话（如 0777-1234567）"
    return None


def mask_id_number(value: str) -> str:
    """``450702********1234``: keep the issuing area and the last four characters."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
