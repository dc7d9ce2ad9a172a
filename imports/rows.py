"""One spreadsheet row of the ledger, checked cell by cell and as a whole.

``clean_row`` turns the raw values (in ``columns.HEADERS`` order) into a ``LedgerRow`` and the
list of its errors, each naming the column. Every cell is checked, whatever the others hold,
so a row's errors come all at once; a cell that cannot be read is None in the row. What needs
the database (does the village exist, is it in the importer's region, does the ID number
clash) is checked afterwards, for all rows at once, bad ones included.

Values are taken as people write them:

- list columns through a ``aliases.Vocabulary`` (official values, built-in aliases, the
  county's own), full-width or half-width, with or without spaces;
- problem categories separated by any of 、，,；; / ／ | or spaces (full-width too);
- ID numbers with spaces or a lower-case x, or as text with a leading apostrophe;
- dates as Excel dates, Excel serial numbers, ``2022-04-15``, ``2022/4/15``, ``2022.4.15``,
  ``2022年4月15日`` (or 号), ``20220415`` (text or number), with or without a time after them.
"""

import datetime
import operator
import re
import time
import unicodedata
import weakref
from dataclasses import dataclass, field

from openpyxl.utils.datetime import from_excel

from surveys.choices import PROBLEM_USABILITY, Usability
from toilets.choices import EARLIEST_BUILD_YEAR, TECH_TYPE_FLUSH, FlushKind, TechType, ToiletKind
from toilets.identity import id_number_problem, normalize_id_number, phone_problem

from .aliases import BUILT_IN_VOCABULARY, AliasColumn, Vocabulary
from .columns import CLOSED, COLUMN_BY_KEY, COLUMNS
from .results import RowError

EARLIEST_SURVEY = datetime.date(2000, 1, 1)
_CODE = re.compile(r"^\d{12}$")
# After NFKC, which makes ，；／｜ and the full-width space half-width.
_CATEGORY_SPLIT = re.compile(r"[、,;/|\\\s]+")
# 2022-04-15, 2022/4/15, 2022.4.15, 2022年4月15日 (号), 20220415; a time after it is ignored.
_DATE = re.compile(
    r"^(?P<y>\d{4})(?:[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})[日号]?|(?P<m8>\d{2})(?P<d8>\d{2}))"
    r"(?:[T\s]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_QUOTES = "'‘’\"“”`"
_MAX_LENGTH = {
    "group": 50,
    "head_name": 50,
    "public_name": 100,
    "surveyor_name": 50,
    "township_name": 100,
    "village_name": 100,
}


@dataclass(slots=True)
class LedgerRow:
    """A row's values as stored. In a row with errors a cell that could not be read is None;
    only rows without errors are ever written."""

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
    township_name: str  # the village by name, where the row has no code (imports.villages)
    village_name: str
    bad: bool = False  # the row has errors of its own
    # Set from ``kind`` when the row is made (the engine asks it of every row several times).
    is_household: bool = field(init=False, default=False)

    def __post_init__(self):
        self.is_household = self.kind == ToiletKind.HOUSEHOLD

    @property
    def is_problem(self) -> bool:
        return self.usability in PROBLEM_USABILITY


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


def _half_width(value) -> str:
    """The cell as text in NFKC: full-width digits, letters and punctuation half-width."""
    return unicodedata.normalize("NFKC", text(value)).strip()


def _code(value) -> str:
    code = re.sub(r"\s+", "", _half_width(value)).strip(_QUOTES)
    if not code:
        return ""  # 乡镇 and 行政村 names may stand in for it: checked with the row
    if not _CODE.match(code):
        raise _Bad(f"“{code}”不是 12 位数字的区划代码")
    return code


_ID18 = re.compile(r"[0-9]{17}[0-9X]")  # ASCII only: \d also takes full-width digits
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643
_ID_ZERO = 48 * sum(_ID_WEIGHTS)  # the weighted sum of seventeen "0" characters
_ID_CHECK = "10X98765432"
# Birth dates (YYYYMMDD) of ID numbers found valid: once valid, always (they only need to be
# on or after 1900-01-01 and not after today). At most some 46,000 dates.
_GOOD_BIRTHS: set[str] = set()


def _valid_id18(number: str) -> bool:
    """True when ``number`` — 17 digits and a digit or X, as written — is a valid ID number
    (``toilets.identity.id_number_problem`` says nothing); False means "ask it". The same
    rules, made cheap for the 100,000 different numbers of a big ledger."""
    birth = number[6:14]
    if birth not in _GOOD_BIRTHS:
        if id_number_problem(number) is not None:
            return False
        _GOOD_BIRTHS.add(birth)
        return True
    total = sum(map(operator.mul, number[:17].encode(), _ID_WEIGHTS)) - _ID_ZERO
    return _ID_CHECK[total % 11] == number[17]


def _id_number(value) -> str:
    if value.__class__ is str and len(value) == 18 and _ID18.match(value) and _valid_id18(value):
        return value  # the common case: nothing to normalize, and valid
    if isinstance(value, int | float) and not isinstance(value, bool):
        digits = text(value)
        if len(digits) != 15:
            raise _Bad(
                "身份证号被 Excel 存成了数字，后几位可能已丢失；请把该列设为“文本”后重新填写"
            )
        value = digits
    number = normalize_id_number(_half_width(value)).strip(_QUOTES)
    if not number:
        raise _Bad("户厕必须填写户主身份证号")
    problem = id_number_problem(number)
    if problem:
        raise _Bad(problem)
    return number


def _phone(value) -> str:
    phone = re.sub(r"\s+", "", _half_width(value)).strip(_QUOTES)
    problem = phone_problem(phone)
    if problem:
        raise _Bad(problem)
    return phone


def _year(value) -> int:
    raw = re.sub(r"\s+", "", _half_width(value)).removesuffix("年")
    if not raw:
        raise _Bad("必须填写建造年份")
    if not raw.isdigit():
        raise _Bad(f"“{text(value)}”不是年份，请填写 4 位数字年份，如 2019")
    year = int(raw)
    this_year = datetime.date.today().year
    if not EARLIEST_BUILD_YEAR <= year <= this_year:
        raise _Bad(f"建造年份 {year} 不可能，应在 {EARLIEST_BUILD_YEAR} 到 {this_year} 年之间")
    return year


def _day_of(raw: str) -> datetime.date | None:
    match = _DATE.match(raw)
    if match is None:
        return None
    month, day = match["m"] or match["m8"], match["d"] or match["d8"]
    try:
        return datetime.date(int(match["y"]), int(month), int(day))
    except ValueError:
        return None


def _date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        day = value.date()
    elif isinstance(value, datetime.date):
        day = value
    elif isinstance(value, int | float) and not isinstance(value, bool) and 30000 < value < 80000:
        day = from_excel(value).date()  # a date cell saved as its serial number
    else:
        raw = _half_width(value)
        if not raw:
            raise _Bad("必须填写摸排日期")
        day = _day_of(raw)
        if day is None:
            raise _Bad(
                f"“{raw}”不是日期，请按 2022-05-10 的格式填写"
                "（也可写 2022/5/10、2022.5.10、2022年5月10日、20220510）"
            )
    today = datetime.date.today()
    if day > today:
        raise _Bad(f"摸排日期 {day:%Y-%m-%d} 晚于今天")
    if day < EARLIEST_SURVEY:
        raise _Bad(f"摸排日期 {day:%Y-%m-%d} 过早，请检查")
    return day


def _choice(column, value, vocabulary: Vocabulary) -> str:
    raw = re.sub(r"\s+", "", text(value))
    if not raw:
        if column.required:
            raise _Bad(f"必须填写{column.name}")
        return ""
    found = vocabulary.value(column.key, raw)
    if found is None:
        raise _Bad(f"“{raw}”不在可选值中。{vocabulary.accepted_text(column.key)}")
    return found


def _categories(value, vocabulary: Vocabulary) -> tuple[str, ...]:
    codes = []
    unknown = []
    for name in _CATEGORY_SPLIT.split(_half_width(value)):
        if not name:
            continue
        code = vocabulary.value(AliasColumn.CATEGORIES, name)
        if code is None:
            unknown.append(name)
        elif code not in codes:
            codes.append(code)
    if unknown:
        names = "”“".join(unknown)
        these = "这一" if len(unknown) == 1 else "这些"
        accepted = vocabulary.accepted_text(AliasColumn.CATEGORIES)
        raise _Bad(f"没有“{names}”{these}问题类型。{accepted}")
    return tuple(codes)


def _plain(key):
    limit = _MAX_LENGTH.get(key)

    def clean(value, vocabulary):
        result = text(value)
        if limit and len(result) > limit:
            raise _Bad(f"不能超过 {limit} 个字")
        return result

    return clean


def _keep(value, vocabulary):
    return value


def _cleaner(column):
    """``clean(value, vocabulary)`` for the column's cells."""
    if column.key == "id_number":
        return _keep  # only household toilets need one: checked with the row
    if column.choices is not None:
        return lambda value, vocabulary: _choice(column, value, vocabulary)
    if column.key == "categories":
        return _categories
    special = {
        "code": _code,
        "phone": _phone,
        "build_year": _year,
        "inspected_on": _date,
    }
    plain = special.get(column.key)
    if plain is not None:
        return lambda value, vocabulary: plain(value)
    return _plain(column.key)


_CLEANERS = [(column, _cleaner(column)) for column in COLUMNS]
# A cell's cleaning depends only on its value, the vocabulary and today's date, and a
# ledger repeats most values (villages, types, dates …): each column remembers up to
# MEMO_SIZE cleaned values per vocabulary and day, as ("ok", value) or ("bad", message).
MEMO_SIZE = 4096
_MEMOS: "weakref.WeakKeyDictionary[Vocabulary, tuple]" = weakref.WeakKeyDictionary()
_OK, _BAD = "ok", "bad"


def _memos(vocabulary: Vocabulary) -> list[dict | None]:
    held = _MEMOS.get(vocabulary)
    if held is None or time.time() >= held[0]:  # (asking the date of every row is not free)
        today = datetime.date.today()
        tomorrow = datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time())
        memos = [None if cleaner is _keep else {} for _column, cleaner in _CLEANERS]
        held = _MEMOS[vocabulary] = (tomorrow.timestamp(), memos)
    return held[1]


_KEYS = [column.key for column, _cleaner in _CLEANERS]
_FUNCTIONS = [cleaner for _column, cleaner in _CLEANERS]


def clean_row(
    number: int, values: tuple, vocabulary: Vocabulary = BUILT_IN_VOCABULARY
) -> tuple[LedgerRow, list[RowError]]:
    """The row and every error it has on its own (an empty list: the row is good)."""
    errors: list[RowError] = []
    cleaned: dict = {}
    for key, cleaner, memo, value in zip(
        _KEYS, _FUNCTIONS, _memos(vocabulary), values, strict=True
    ):
        if memo is None:
            cleaned[key] = cleaner(value, vocabulary)
            continue
        # A text is its own key (no text equals a tuple); other values go with their class
        # (1, 1.0 and True are equal keys, not equal cells).
        memo_key = value if value.__class__ is str else (value.__class__, value)
        try:
            outcome = memo.get(memo_key)
        except TypeError:  # an unhashable value: cleaned as it comes
            memo_key, outcome = None, None
        if outcome is None:
            try:
                outcome = (_OK, cleaner(value, vocabulary))
            except _Bad as bad:
                outcome = (_BAD, str(bad))
            if memo_key is not None and len(memo) < MEMO_SIZE:
                memo[memo_key] = outcome
        if outcome[0] is _OK:
            cleaned[key] = outcome[1]
        else:
            errors.append(RowError(number, COLUMN_BY_KEY[key].name, outcome[1]))
            cleaned[key] = None

    def fail(key, message):
        errors.append(RowError(number, COLUMN_BY_KEY[key].name, message))

    if cleaned["code"] == "" and cleaned["village_name"] == "":
        if cleaned["township_name"]:
            fail("village_name", "只填了乡镇，还须填写行政村名称（或填写区划代码）")
        else:
            fail("code", "必须填写 12 位行政村区划代码，或填写乡镇、行政村名称")

    kind = cleaned["kind"]
    if kind == ToiletKind.HOUSEHOLD:
        if cleaned["head_name"] == "":
            fail("head_name", "户厕必须填写户主姓名")
        try:
            cleaned["id_number"] = _id_number(cleaned["id_number"])
        except _Bad as bad:
            fail("id_number", str(bad))
            cleaned["id_number"] = None
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

    if cleaned["closed"] is not None:
        cleaned["closed"] = cleaned["closed"] == CLOSED
    return LedgerRow(number=number, bad=bool(errors), **cleaned), errors
