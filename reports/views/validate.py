"""The upload-validation page: a unit that still fills the summary in Excel uploads its sheet
and sees it checked by the same engine as the validate_summary command, with the bad cells
and the rows that break a rule highlighted; and an empty template in the official layout."""

import logging
import re
from dataclasses import dataclass, field

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from core.responses import attachment
from regions.choices import Level
from regions.models import Region
from regions.scoping import scope_of
from surveys.models import ReportTemplate, SurveyRound

from ..columns import COLUMNS, column_titles
from ..rules import IMPLIED_RULES, PRINTED_RULES, RULES, TOTAL_RULE
from ..sheet import (
    MAX_FILE_BYTES,
    TITLE_SUFFIX,
    SheetFormatError,
    read_summary,
    row_label,
    summary_workbook_bytes,
)

logger = logging.getLogger(__name__)

_PARENT_LEVELS = (Level.PROVINCE, Level.CITY, Level.COUNTY)  # a template row per child
# The build-year columns as printed on the form, when no report template says otherwise.
PRINTED_BUCKETS = ["2013以前", "2013至2016", "2017", "2018", "2019", "2020", "2021"]
_RULE_COLUMNS = {rule.text: {column for _, column in (*rule.left, *rule.right)} for rule in RULES}
_TOTAL_COLUMN = re.compile(re.escape(TOTAL_RULE) + r"（第(\d+)列）")


class UploadForm(forms.Form):
    file = forms.FileField(
        label="汇总表文件（.xlsx）",
        error_messages={"required": "请选择要检查的 .xlsx 文件。", "empty": "文件是空的。"},
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size == 0:
            raise forms.ValidationError("文件是空的。")
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"文件超过 {MAX_FILE_BYTES // (1024 * 1024)} MB，不是正常的汇总表。"
            )
        return upload


@dataclass
class Cell:
    column: int
    value: int
    ref: str = ""
    error: str = ""
    involved: bool = False


@dataclass
class SheetRow:
    label: str
    cells: list[Cell]
    is_total: bool = False
    violations: list = field(default_factory=list)


def _involved_columns(rule_text: str) -> set[int]:
    if rule_text in _RULE_COLUMNS:
        return _RULE_COLUMNS[rule_text]
    match = _TOTAL_COLUMN.fullmatch(rule_text)
    return {int(match.group(1))} if match else set()


def sheet_rows(parsed, violations) -> list[SheetRow]:
    """The parsed sheet as display rows: each cell with its reference, its error if any, and
    whether a broken rule of its row involves it."""
    errors = {e.cell: e.message for e in parsed.errors}
    by_label: dict[str, list] = {}
    for v in violations:
        by_label.setdefault(v.row, []).append(v)
    rows = [(label, values, False) for label, values in parsed.rows]
    if parsed.total is not None:
        rows.append((*parsed.total, True))
    display = []
    for label, values, is_total in rows:
        broken = by_label.get(label, [])
        involved = set().union(*(_involved_columns(v.rule) for v in broken)) if broken else set()
        cells = []
        for column in COLUMNS:
            ref = parsed.cells.get((label, column), "")
            cells.append(
                Cell(
                    column,
                    values.get(column, 0),
                    ref,
                    errors.get(ref, ""),
                    column in involved,
                )
            )
        display.append(SheetRow(label, cells, is_total, broken))
    return display


class ValidateView(LoginRequiredMixin, View):
    template_name = "reports/validate.html"

    def get(self, request):
        return render(request, self.template_name, {"form": UploadForm(), **self.base_context()})

    def base_context(self):
        titles = column_titles(bucket_labels(self.request.user))
        return {
            "headers": [(n, titles[n]) for n in COLUMNS],
            "printed_rules": PRINTED_RULES,
            "implied_rules": IMPLIED_RULES,
        }

    def post(self, request):
        form = UploadForm(request.POST, request.FILES)
        context = {"form": form, **self.base_context()}
        if not form.is_valid():
            return render(request, self.template_name, context, status=400)
        upload = form.cleaned_data["file"]
        try:
            parsed = read_summary(upload.read())
        except SheetFormatError as exc:
            form.add_error("file", str(exc))
            return render(request, self.template_name, context, status=400)
        except Exception:
            # Whatever a damaged file makes the reader raise, the answer is the same.
            logger.warning("unreadable upload %r", upload.name, exc_info=True)
            form.add_error("file", "无法读取该 Excel 文件，文件可能已损坏。")
            return render(request, self.template_name, context, status=400)
        violations = parsed.violations
        context.update(
            checked=True,
            file_name=upload.name,
            ok=not violations and not parsed.errors,
            rows=sheet_rows(parsed, violations),
            violations=violations,
            errors=parsed.errors,
            row_count=len(parsed.rows) + (1 if parsed.total else 0),
            form=UploadForm(),
        )
        return render(request, self.template_name, context)


def bucket_labels(user) -> list[str]:
    """The build-year columns of the user's latest round's template, else the default
    template's, else the printed ones."""
    survey_round = (
        SurveyRound.objects.visible_to(user).select_related("template").order_by("-id").first()
    )
    template = (
        survey_round.template
        if survey_round is not None
        else ReportTemplate.objects.filter(is_default=True).first()
    )
    return [b["label"] for b in template.year_buckets] if template else PRINTED_BUCKETS


def template_rows(user) -> tuple[str, str, list[str]]:
    """The unit, the row heading and the row labels of the user's empty template: a county
    (or city) lists its townships (counties), read through the scoping; a township or a
    village fills its own row."""
    scope = scope_of(user)
    region = scope.region if scope else None
    if region is None:
        return "", "单位", []
    if region.level in _PARENT_LEVELS:
        children = (
            Region.objects.visible_to(user)
            .filter(parent=region)
            .current()
            .order_by("code")
            .values_list("name", flat=True)
        )
        return region.name, row_label(region.level), list(children)
    return region.name, "乡镇" if region.level == Level.TOWNSHIP else "行政村", [region.name]


class ValidateTemplateView(LoginRequiredMixin, View):
    """An empty sheet in the official layout, zeros everywhere, for units that fill Excel."""

    def get(self, request):
        unit, row_label, labels = template_rows(request.user)
        data = summary_workbook_bytes(
            title=f"{unit}{TITLE_SUFFIX}",
            unit=unit,
            row_label=row_label,
            rows=[(label, {}) for label in labels],
            total={},
            bucket_labels=bucket_labels(request.user),
        )
        stamp = timezone.localdate().strftime("%Y%m%d")
        name = f"{unit or '空白'}-汇总表模板-{stamp}.xlsx"
        return attachment(data, name)
