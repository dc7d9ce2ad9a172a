"""The ledger import template: its columns (any order in the file), the values each list
column accepts, and the example row of the downloadable template."""

from dataclasses import dataclass

from surveys.choices import PROBLEM_CATEGORIES, Usability
from toilets.choices import FlushKind, Funding, TechType, ToiletKind

CATEGORY_SEPARATOR = "、"


@dataclass(frozen=True)
class Column:
    name: str  # the header in the sheet, as users write it
    key: str  # the attribute of a parsed row
    required: bool = False
    choices: dict[str, str] | None = None  # accepted text → stored value
    width: int = 14
    hint: str = ""


# Accepted spellings of each list value. The first of each value is what the template's
# drop-down offers; the others are what older county ledgers commonly wrote.
KIND_CHOICES = {"户厕": ToiletKind.HOUSEHOLD, "公厕": ToiletKind.PUBLIC}
FLUSH_CHOICES = {
    "水冲厕所": FlushKind.FLUSH,
    "旱厕": FlushKind.DRY,
    "水冲式": FlushKind.FLUSH,
    "水冲": FlushKind.FLUSH,
    "旱厕所": FlushKind.DRY,
}
FUNDING_CHOICES = {
    "财政支持": Funding.GOVERNMENT,
    "自建": Funding.SELF_BUILT,
    Funding.GOVERNMENT.label: Funding.GOVERNMENT,  # 财政支持改造
    Funding.SELF_BUILT.label: Funding.SELF_BUILT,  # 农户自建
}
USABILITY_CHOICES = {label: value for value, label in Usability.choices}
TECH_CHOICES = {label: value for value, label in TechType.choices}
CLOSED, NOT_CLOSED = "已销号", "未销号"
CLOSE_CHOICES = {CLOSED: CLOSED, NOT_CLOSED: NOT_CLOSED}
CATEGORY_NAMES = [name for _code, name, _column in PROBLEM_CATEGORIES]

COLUMNS = [
    Column("区划代码", "code", required=True, width=16, hint="12 位行政村代码"),
    Column("村民小组", "group", width=10),
    Column("厕所类别", "kind", required=True, choices=KIND_CHOICES, width=10),
    Column("户主姓名", "head_name", width=10, hint="户厕必填"),
    Column("身份证号", "id_number", width=21, hint="户厕必填，18 位"),
    Column("联系电话", "phone", width=14),
    Column("公厕名称", "public_name", width=14, hint="公厕必填"),
    Column("技术模式", "tech_type", required=True, choices=TECH_CHOICES, width=18),
    Column("厕所类型", "flush_kind", choices=FLUSH_CHOICES, width=10),
    Column("建造年份", "build_year", required=True, width=10),
    Column("资金来源", "funding", required=True, choices=FUNDING_CHOICES, width=10),
    Column("使用情况", "usability", required=True, choices=USABILITY_CHOICES, width=14),
    Column("问题类型", "categories", width=24, hint="多个用“、”分隔"),
    Column("整改情况", "closed", choices=CLOSE_CHOICES, width=10, hint="无问题的厕所留空"),
    Column("摸排人", "surveyor_name", width=10),
    Column("摸排日期", "inspected_on", required=True, width=12),
    # Instead of the code (a sheet may lack the 区划代码 column then): the village by name,
    # within the importer's county (imports.villages). Headers 乡镇（街道）/ 行政村（社区）.
    Column("乡镇", "township_name", width=12, hint="乡镇（街道）名称，无区划代码时填写"),
    Column("行政村", "village_name", width=12, hint="行政村（社区）名称，无区划代码时填写"),
]
COLUMN_BY_NAME = {c.name: c for c in COLUMNS}
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
HEADERS = [c.name for c in COLUMNS]
# Columns a sheet may lack; 区划代码 too where the sheet has 行政村 (``missing_headers``).
OPTIONAL_HEADERS = ("乡镇", "行政村")


def missing_headers(found, *, required_only: bool = False) -> list[str]:
    """The template columns a sheet's header (the names in ``found``) lacks; with
    ``required_only`` (a header mapped by the user) only those whose values are required."""
    missing = [
        c.name
        for c in COLUMNS
        if c.name not in found
        and c.name not in OPTIONAL_HEADERS
        and (c.required or not required_only)
    ]
    if "行政村" in found and "区划代码" in missing:
        missing.remove("区划代码")
    return missing


# The offered (first) spelling of each list value, for the template's drop-downs.
DROPDOWNS = {
    "厕所类别": ["户厕", "公厕"],
    "技术模式": list(TECH_CHOICES),
    "厕所类型": ["水冲厕所", "旱厕"],
    "资金来源": ["财政支持", "自建"],
    "使用情况": list(USABILITY_CHOICES),
    "整改情况": [CLOSED, NOT_CLOSED],
}

EXAMPLE_ROW = {
    "区划代码": "450702100201",
    "村民小组": "一组",
    "厕所类别": "户厕",
    "户主姓名": "王建国",
    "身份证号": "45070219800101123X",
    "联系电话": "13812345678",
    "公厕名称": "",
    "技术模式": "三格化粪池式",
    "厕所类型": "水冲厕所",
    "建造年份": 2019,
    "资金来源": "财政支持",
    "使用情况": "不能使用",
    "问题类型": "厕具问题、粪池问题",
    "整改情况": "未销号",
    "摸排人": "李明",
    "摸排日期": "2022-05-10",
    "乡镇": "",
    "行政村": "",
}
