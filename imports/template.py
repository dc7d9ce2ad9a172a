"""The downloadable ledger template: the header row with hints, one example row, drop-down
lists (kept on a hidden sheet, since long lists exceed Excel's 255-character inline limit),
text-formatted code and ID columns, and a sheet explaining every column in Chinese."""

import io

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from toilets.choices import TECH_TYPE_FLUSH, FlushKind, TechType

from .columns import (
    CATEGORY_NAMES,
    CATEGORY_SEPARATOR,
    CLOSE_CHOICES,
    COLUMNS,
    DROPDOWNS,
    EXAMPLE_ROW,
    FLUSH_CHOICES,
    FUNDING_CHOICES,
    KIND_CHOICES,
)
from .synonyms import SYNONYMS

SHEET_TITLE = "摸排台账"
OPTIONS_TITLE = "选项"
GUIDE_TITLE = "填写说明"
FILENAME = "农村户厕摸排台账导入模板.xlsx"
FIRST_DATA_ROW = 2
LAST_DATA_ROW = 10001
# Cells Excel must keep as typed: a 12-digit code or an 18-digit ID as a number loses digits.
TEXT_COLUMNS = ("区划代码", "身份证号", "联系电话")

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="E2EFDA")
_REQUIRED_FONT = Font(bold=True, color="C00000")


def _joined(values) -> str:
    return "、".join(values)


def _flush_note() -> str:
    by_kind: dict[str, list[str]] = {FlushKind.FLUSH: [], FlushKind.DRY: []}
    must = []
    for tech, (default, _fixed) in TECH_TYPE_FLUSH.items():
        label = TechType(tech).label
        if default is None:
            must.append(label)
        else:
            by_kind[default].append(label)
    spellings = _other_spellings(FLUSH_CHOICES, DROPDOWNS["厕所类型"])
    note = (
        f"水冲厕所 或 旱厕{spellings}。留空时按技术模式确定：{_joined(by_kind[FlushKind.FLUSH])}"
        f"为水冲厕所，{_joined(by_kind[FlushKind.DRY])}为旱厕"
    )
    if must:
        note += f"；技术模式为{_joined(must)}时必须填写"
    return note + "。"


def _other_spellings(choices: dict, offered: list[str]) -> str:
    others = [text for text in choices if text not in offered]
    return f"（也可写 {_joined(others)}）" if others else ""


def column_notes() -> dict[str, str]:
    """What to write in each column, in Chinese (the 填写说明 sheet and the header hints)."""
    categories = CATEGORY_SEPARATOR.join(CATEGORY_NAMES)
    return {
        "区划代码": "行政村的 12 位统计用区划代码，如 450702100201；"
        "必须是您管辖范围内的行政村。请保持文本格式，不要让 Excel 变成科学计数法。"
        "可用名称代替区划代码：没有代码时留空，改填“乡镇”“行政村”两列。",
        "村民小组": "村民小组名称，如 一组。",
        "厕所类别": " 或 ".join(DROPDOWNS["厕所类别"])
        + f"{_other_spellings(KIND_CHOICES, DROPDOWNS['厕所类别'])}。",
        "户主姓名": "户厕必填，公厕留空。同一户的多个厕所填写相同的户主和身份证号。",
        "身份证号": "户厕必填。18 位身份证号（最后一位可为 X），系统按校验位核对；"
        "旧式 15 位号码也可。按身份证号识别农户，重复导入时更新同一农户。",
        "联系电话": "11 位手机号或带区号的固定电话（如 0777-1234567）。",
        "公厕名称": "公厕必填，户厕留空。",
        "技术模式": f"从下拉列表选择：{_joined(DROPDOWNS['技术模式'])}。",
        "厕所类型": _flush_note(),
        "建造年份": "4 位年份，如 2019。",
        "资金来源": " 或 ".join(DROPDOWNS["资金来源"])
        + f"{_other_spellings(FUNDING_CHOICES, DROPDOWNS['资金来源'])}。"
        "各级财政支持改造的厕所选“财政支持”，农户自己建的选“自建”。",
        "使用情况": f"{_joined(DROPDOWNS['使用情况'])}。“不能使用”和“不能全年使用”的是问题厕所。",
        "问题类型": f"问题厕所至少填一项，多个用“{CATEGORY_SEPARATOR}”分隔。可填：{categories}。"
        "正常使用的厕所留空。",
        "整改情况": f"问题厕所填 {_joined(CLOSE_CHOICES)}；无问题的厕所留空。"
        "“已销号”表示已完成整改并销号。",
        "摸排人": "摸排人员姓名。",
        "摸排日期": "格式如 2022-05-10（也可以是 Excel 日期）。",
        "乡镇": "乡镇（街道）名称，如 沙埠镇。可用名称代替区划代码：没有区划代码时与“行政村”"
        "一起填写；村名在您管辖的范围内唯一时可以不填。",
        "行政村": "行政村（社区）名称，如 沙埠村（“沙埠村委会”“沙埠”也可以）。可用名称代替区划"
        "代码：没有区划代码时必填；两者都填时必须与区划代码一致。",
    }


# When an optional column must still be filled.
REQUIRED_WHEN = {
    "户主姓名": "户厕必填",
    "身份证号": "户厕必填",
    "公厕名称": "公厕必填",
    "厕所类型": "视技术模式",
    "问题类型": "问题厕所必填",
    "整改情况": "问题厕所必填",
    "乡镇": "选填",
    "行政村": "无区划代码时必填",
}


def need_of(column) -> str:
    return "必填" if column.required else REQUIRED_WHEN.get(column.name, "选填")


def _header_hint(column, note: str) -> Comment:
    need = need_of(column)
    text = f"{column.name}（{need}）\n{note}"
    comment = Comment(text, "填写提示")
    comment.width = 300
    comment.height = 40 + 18 * (len(text) // 22 + 1)
    return comment


def _options_sheet(workbook) -> dict[str, str]:
    """The hidden sheet of drop-down values, one column per list; returns each list's
    range reference for the validations."""
    sheet = workbook.create_sheet(OPTIONS_TITLE)
    sheet.sheet_state = "hidden"
    ranges = {}
    for index, (name, values) in enumerate(DROPDOWNS.items(), start=1):
        letter = get_column_letter(index)
        sheet.cell(row=1, column=index, value=name)
        for row, value in enumerate(values, start=2):
            sheet.cell(row=row, column=index, value=value)
        last = len(values) + 1
        ranges[name] = f"{quote_sheetname(OPTIONS_TITLE)}!${letter}$2:${letter}${last}"
    return ranges


def _data_sheet(sheet, ranges: dict[str, str], notes: dict[str, str]):
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        header = sheet.cell(row=1, column=index, value=column.name)
        header.font = _REQUIRED_FONT if column.required else _HEADER_FONT
        header.fill = _HEADER_FILL
        header.alignment = Alignment(horizontal="center", vertical="center")
        header.comment = _header_hint(column, notes.get(column.name, ""))
        sheet.column_dimensions[letter].width = column.width
        example = sheet.cell(row=FIRST_DATA_ROW, column=index, value=EXAMPLE_ROW[column.name])
        if column.name in TEXT_COLUMNS:
            sheet.column_dimensions[letter].number_format = "@"
            example.number_format = "@"
            example.value = str(example.value)
        if column.name in ranges:
            validation = DataValidation(
                type="list",
                formula1=ranges[column.name],
                allow_blank=True,
                showDropDown=False,  # openpyxl's name for "hide the arrow": False shows it
                showErrorMessage=True,
                errorTitle="请从下拉列表选择",
                error=f"“{column.name}”只能填写下拉列表中的值。",
                showInputMessage=True,
                promptTitle=column.name,
                prompt="请从下拉列表选择。",
            )
            validation.add(f"{letter}{FIRST_DATA_ROW}:{letter}{LAST_DATA_ROW}")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"
    sheet.row_dimensions[1].height = 22


def _guide_sheet(workbook, notes: dict[str, str]):
    sheet = workbook.create_sheet(GUIDE_TITLE)
    wrap = Alignment(wrap_text=True, vertical="top")
    lines = [
        "农村户厕摸排台账导入模板 填写说明",
        "1. 在“摸排台账”表中每行填写一个厕所（户厕或公厕），第 1 行表头不要删除；"
        "红色表头为必填列。第 2 行是示例，导入前请删除或改成实际数据。",
        "2. 填好后在系统“导入摸排台账”页面上传，选择或填写摸排轮次名称。系统先检查每一行，"
        "全部无误后由您确认导入；有任何错误时不会导入任何数据，请按错误清单修改后重新上传。",
        "3. 同一文件改正后可以重新导入：已有的农户、厕所和摸排记录会被更新，不会重复新增。",
        "4. 文件可以是 .xlsx、.xls（Excel 97-2003 或 WPS）或 .ods 格式，不超过 50 MB。",
        "5. 已有的县级台账也可以直接导入：表头可以在前 10 行中的任意一行（上面可以有标题行），"
        "也可以是两行表头（如“户主信息”下分“姓名”“身份证号”）；列名可以用下表“也可写作”中的名称，"
        "列的顺序不限；序号、备注等其他列不导入，检查结果会列出这些未使用的列。",
        "6. 可用名称代替区划代码：没有行政村区划代码时，“区划代码”列可以留空或删去，改填“乡镇”"
        "“行政村”两列的名称，系统在您管辖的范围内按名称查找行政村。",
        "7. 系统认不出表头时，检查结果页会列出文件中的各列，请为每一列选择对应的台账列（或“不导入”）"
        "后重新检查；本县今后上传同样表头的台账时自动识别。",
    ]
    for row, text in enumerate(lines, start=1):
        cell = sheet.cell(row=row, column=1, value=text)
        cell.alignment = wrap
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=4)
        sheet.row_dimensions[row].height = 20 if row == 1 else 36
    sheet.cell(row=1, column=1).font = Font(bold=True, size=13)
    start = len(lines) + 2
    for index, title in enumerate(("列名", "是否必填", "填写要求", "也可写作"), start=1):
        cell = sheet.cell(row=start, column=index, value=title)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
    for offset, column in enumerate(COLUMNS, start=1):
        row = start + offset
        values = (
            column.name,
            need_of(column),
            notes.get(column.name, ""),
            "、".join(SYNONYMS.get(column.name, ())),
        )
        for index, value in enumerate(values, start=1):
            sheet.cell(row=row, column=index, value=value).alignment = wrap
    sheet.column_dimensions["A"].width = 12
    sheet.column_dimensions["B"].width = 16
    sheet.column_dimensions["C"].width = 80
    sheet.column_dimensions["D"].width = 40
    sheet.freeze_panes = sheet.cell(row=start + 1, column=1)


def template_workbook_bytes() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    notes = column_notes()
    _guide_sheet(workbook, notes)
    ranges = _options_sheet(workbook)
    _data_sheet(sheet, ranges, notes)
    workbook.active = 0
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
