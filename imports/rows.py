"""One spreadsheet row of the ledger, checked cell by cell and as a whole.

``clean_row`` turns the raw values (in ``columns.HEADERS`` order) into a ``LedgerRow`` or a
list of errors naming the column. What needs the database (does the village exist, is it in
the importer's region, does the ID number clash) is checked afterwards, for all rows at once.
"""

import datetime
import re
from dataclasses import dataclass

from openpyxl.utils.datetime import from_excel

from surveys.choices import PROBLEM_CATEGORIES, PROBLEM_USABILITY, Usability
from toilets.choices import EARLIEST_BUILD_YEAR, TECH_TYPE_FLUSH, FlushKind, TechType, ToiletKind
from toilets.identity import id_number_problem, normalize_id_number, phone_problem

from .columns import CATEGORY_NAMES, CLOSED, COLUMN_BY_KEY, COLUMNS
from .results import RowError

EARLIEST_SURVEY = datetime.date(2000, 1, 1)
_CODE = re.compile(r"^\d{12}$")
_CATEGORY_SPLIT = re.compile(r"[、,，;；/\s]+")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
# "厕具" and "厕具问题" both name the category; the code is what the inspection stores.
_CATEGORY_CODES = {name: code for code, name, _ in PROBLEM_CATEGORIES} | {
    name.removesuffix("问题"): code for code, name, _ in PROBLEM_CATEGORIES
}
_MAX_LENGTH = {"group": 50, "head_name": 50, "public_name": 100, "surveyor_name": 50}


@dataclass(slots=True)
class LedgerRow:
    number: int
    code: str
    group: str
    kind: str
    head_name: str
    id_number: str
    phone: str
    public_name: str
    tech_type: str
    flush_kind: str
    build_year: int
    funding: str
    usability: str
    categories: tuple[str, ...]
    closed: bool
    surveyor_name: str
    inspected_on: datetime.date

    @property
    def is_problem(self) -> bool:
        return self.usability in PROBLEM_USABILITY

    @property
    def is_household(self) -> bool:
        return self.kind == ToiletKind.HOUSEHOLD


class _Bad(Exception):
    pass


def text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


def _code(value) -> str:
    code = re.sub(r"\s+", "", text(value))
    if not code:
        raise _Bad("必须填写 12 位行政村区划代码")
    if not _CODE.match(code):
        raise _Bad(f"“{code}”不是 12 位数字的区划代码")
    return code


def _id_number(value) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        digits = text(value)
        if len(digits) != 15:
            raise _Bad(
                "身份证号被 Excel 存成了数字，后几位可能已丢失；请把该列设为“文本”后重新填写"
            )
        value = digits
    number = normalize_id_number(text(value))
    if not number:
        raise _Bad("户厕必须填写户主身份证号")
    problem = id_number_problem(number)
    if problem:
        raise _Bad(problem)
    return number


def _phone(value) -> str:
    phone = re.sub(r"\s+", "", text(value))
    problem = phone_problem(phone)
    if problem:
        raise _Bad(problem)
    return phone


def _year(value) -> int:
    raw = text(value).removesuffix("年")
    if not raw:
        raise _Bad("必须填写建造年份")
    if not raw.isdigit():
        raise _Bad(f"“{text(value)}”不是年份，请填写 4 位数字年份，如 2019")
    year = int(raw)
    this_year = datetime.date.today().year
    if not EARLIEST_BUILD_YEAR <= year <= this_year:
        raise _Bad(f"建造年份 {year} 不可能，应在 {EARLIEST_BUILD_YEAR} 到 {this_year} 年之间")
    return year


def _date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        day = value.date()
    elif isinstance(value, datetime.date):
        day = value
    elif isinstance(value, int | float) and not isinstance(value, bool) and 30000 < value < 80000:
        day = from_excel(value).date()  # a date cell saved as its serial number
    else:
        raw = text(value)
        if not raw:
            raise _Bad("必须填写摸排日期")
        for fmt in _DATE_FORMATS:
            try:
                day = datetime.datetime.strptime(raw, fmt).date()
                break
            except ValueError:
                continue
        else:
            raise _Bad(f"“{raw}”不是日期，请按 2022-05-10 的格式填写")
    today = datetime.date.today()
    if day > today:
        raise _Bad(f"摸排日期 {day:%Y-%m-%d} 晚于今天")
    if day < EARLIEST_SURVEY:
        raise _Bad(f"摸排日期 {day:%Y-%m-%d} 过早，请检查")
    return day


def _choice(column, value) -> str:
    raw = re.sub(r"\s+", "", text(value))
    if not raw:
        if column.required:
            raise _Bad(f"必须填写{column.name}")
        return ""
    if raw not in column.choices:
        offered = "、".join(dict.fromkeys(column.choices))
        raise _Bad(f"“{raw}”不在可选值中，应为：{offered}")
    return column.choices[raw]


def _categories(value) -> tuple[str, ...]:
    codes = []
    for name in _CATEGORY_SPLIT.split(text(value)):
        if not name:
            continue
        code = _CATEGORY_CODES.get(name)
        if code is None:
            raise _Bad(f"没有“{name}”这一问题类型，应为：{'、'.join(CATEGORY_NAMES)}")
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def _plain(key):
    limit = _MAX_LENGTH.get(key)

    def clean(value):
        result = text(value)
        if limit and len(result) > limit:
            raise _Bad(f"不能超过 {limit} 个字")
        return result

    return clean


def _keep(value):
    return value


def _cleaner(column):
    if column.key == "id_number":
        return _keep  # only household toilets need one: checked with the row
    if column.choices is not None:
        return lambda value: _choice(column, value)
    special = {
        "code": _code,
        "phone": _phone,
        "build_year": _year,
        "inspected_on": _date,
        "categories": _categories,
    }
    return special.get(column.key) or _plain(column.key)


_CLEANERS = [(column, _cleaner(column)) for column in COLUMNS]


def clean_row(number: int, values: tuple) -> tuple[LedgerRow | None, list[RowError]]:
    errors: list[RowError] = []
    cleaned: dict = {}
    for (column, cleaner), value in zip(_CLEANERS, values, strict=True):
        try:
            cleaned[column.key] = cleaner(value)
        except _Bad as bad:
            errors.append(RowError(number, column.name, str(bad)))
            cleaned[column.key] = None

    def fail(key, message):
        errors.append(RowError(number, COLUMN_BY_KEY[key].name, message))

    kind = cleaned["kind"]
    if kind == ToiletKind.HOUSEHOLD:
        if cleaned["head_name"] == "":
            fail("head_name", "户厕必须填写户主姓名")
        try:
            cleaned["id_number"] = _id_number(cleaned["id_number"])
        except _Bad as bad:
            fail("id_number", str(bad))
    else:
        cleaned["id_number"] = ""
        if kind == ToiletKind.PUBLIC and cleaned["public_name"] == "":
            fail("public_name", "公厕必须填写公厕名称")

    tech = cleaned["tech_type"]
    if tech:
        default, fixed = TECH_TYPE_FLUSH[tech]
        label = TechType(tech).label
        flush = cleaned["flush_kind"]
        if flush == "" and default is None:
            fail("flush_kind", f"{label}须注明是水冲厕所还是旱厕")
        elif flush == "":
            cleaned["flush_kind"] = default
        elif fixed and flush not in (None, default):
            fail("flush_kind", f"{label}只能是{FlushKind(default).label}")

    usability = cleaned["usability"]
    if usability == Usability.NORMAL:
        if cleaned["categories"]:
            fail("categories", "使用情况为正常使用，不应填写问题类型")
        if cleaned["closed"]:
            fail("closed", "使用情况为正常使用，整改情况应留空")
    elif usability and cleaned["categories"] == ():
        fail("categories", "问题厕所（不能使用或不能全年使用）必须填写问题类型")

    if errors:
        return None, errors
    cleaned["closed"] = cleaned["closed"] == CLOSED
    return LedgerRow(number=number, **cleaned), []
