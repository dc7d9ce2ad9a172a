"""The upload-validation page: a unit that still fills the summary in Excel uploads its sheet
and sees it checked by the same engine as the validate_summary command, with the bad cells
and the rows that break a rule highlighted; and an empty template in the official layout."""

import logging
from dataclasses import dataclass, field

from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from core.responses import attachment

from ..columns import COLUMNS, column_titles
from ..forms import UploadForm
from ..queries import latest_bucket_labels, template_rows
from ..rules import IMPLIED_RULES, PRINTED_RULES, rule_columns
from ..sheet import TITLE_SUFFIX, SheetFormatError, read_summary, summary_workbook_bytes

logger = logging.getLogger(__name__)


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
        involved = set().union(*(rule_columns(v.rule) for v in broken)) if broken else set()
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
        titles = column_titles(latest_bucket_labels(self.request.user))
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
            bucket_labels=latest_bucket_labels(request.user),
        )
        stamp = timezone.localdate().strftime("%Y%m%d")
        name = f"{unit or '空白'}-汇总表模板-{stamp}.xlsx"
        return attachment(data, name)
