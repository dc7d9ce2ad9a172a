"""The ledger import pages: the template download, the upload form, the job page (progress
bar, then the check's preview or its errors, the confirm button, the result), the polled
status and the error list as a spreadsheet. A check that finds the header lacking columns
offers the mapping step (the file's columns → ours or 不导入) to the job's uploader. A job is only ever looked up through
``ImportJob.objects.mine`` (another user's job is a 404).

The alias page (取值别名) lists, per list column, the official values, the built-in aliases
and the county's own; the county's staff add and delete the county's own. A county is only
ever looked up through ``ValueAlias.objects.counties_visible_to`` (another county is a 404);
a township's staff read their county's page, only the county's staff write (403)."""

from pathlib import PurePath

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.generic import DetailView

from core.responses import attachment
from core.web.forms import put_errors
from core.web.progress import progress_payload, progress_response
from core.xlsx import write_xlsx
from surveys.models import SurveyRound

from . import aliases
from .engine import importer_county
from .forms import MAX_UPLOAD_BYTES, HeaderMappingForm, UploadForm, megabytes
from .jobs import can_import
from .models import ImportJob, ImportStatus, ValueAlias
from .results import COUNT_LABELS
from .services import confirm_import, map_headers, start_check
from .template import FILENAME, template_workbook_bytes

RECENT_JOBS = 20
ERRORS_SHOWN = 500
ROUND_CHOICES = 50
NO_IMPORT_RIGHT = (
    "导入摸排台账需要乡镇审核员或县级管理员角色，您的角色没有导入权限。"
    "如需导入，请把填好的台账交给所在乡镇或县级管理员。"
)


class TemplateDownloadView(LoginRequiredMixin, View):
    def get(self, request):
        return attachment(template_workbook_bytes(), FILENAME)


def round_names(user) -> list[str]:
    names = SurveyRound.objects.visible_to(user).order_by("-start_date", "-id")
    unique = dict.fromkeys(names.values_list("name", flat=True)[: ROUND_CHOICES * 2])
    return list(unique)[:ROUND_CHOICES]


class ImportRightMixin(LoginRequiredMixin):
    """Pages that upload or confirm need the IMPORT_LEDGER capability."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not can_import(request.user):
            raise PermissionDenied(NO_IMPORT_RIGHT)
        return super().dispatch(request, *args, **kwargs)


class UploadView(ImportRightMixin, View):
    template_name = "imports/upload.html"

    def context(self, form):
        user = self.request.user
        return {
            "form": form,
            "round_names": round_names(user),
            "jobs": ImportJob.objects.mine(user)[:RECENT_JOBS],
            "max_size": megabytes(MAX_UPLOAD_BYTES),
        }

    def get(self, request):
        return render(request, self.template_name, self.context(UploadForm()))

    def post(self, request):
        form = UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(request, self.template_name, self.context(form), status=400)
        job = start_check(request.user, form.cleaned_data["file"], form.cleaned_data["round_name"])
        return redirect("imports:job", pk=job.pk)


class JobQuerysetMixin(LoginRequiredMixin):
    def get_queryset(self):
        return ImportJob.objects.mine(self.request.user).select_related("region", "created_by")

    def get_job(self, pk) -> ImportJob:
        return get_object_or_404(self.get_queryset(), pk=pk)


def status_payload(job: ImportJob) -> dict:
    return progress_payload(job, finished=not job.busy, busy=job.busy)


def offered_mapping(job: ImportJob) -> dict | None:
    """The mapping step a failed check offers: {"missing": [...], "columns": [...]}."""
    if job.status != ImportStatus.FAILED or not isinstance(job.result, dict):
        return None
    return job.result.get("mapping") or None


def count_rows(job: ImportJob) -> list[tuple[str, str, int]]:
    counts = job.counts
    return [(key, label, counts.get(key, 0)) for key, label in COUNT_LABELS.items()]


class JobDetailView(JobQuerysetMixin, DetailView):
    template_name = "imports/job.html"
    context_object_name = "job"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = self.object
        errors = job.errors
        mapping = offered_mapping(job) if can_import(self.request.user) else None
        if mapping is not None and "mapping_form" not in context:
            context["mapping_form"] = HeaderMappingForm(columns=mapping["columns"])
        context.update(
            mapping=mapping,
            preview=job.result.get("preview", []) if isinstance(job.result, dict) else [],
            status=status_payload(job),
            counts=count_rows(job),
            errors=errors[:ERRORS_SHOWN],
            error_count=job.result.get("error_count", len(errors)),
            errors_stored=len(errors),
            errors_capped=len(errors) > ERRORS_SHOWN,
            can_confirm=(
                job.status == ImportStatus.CHECKED
                and job.confirmed_at is None
                and can_import(self.request.user)
            ),
            statuses=ImportStatus,
        )
        return context


class JobStatusView(JobQuerysetMixin, View):
    """What the progress bar polls."""

    def get(self, request, pk):
        return progress_response(status_payload(self.get_job(pk)))


class ConfirmView(ImportRightMixin, JobQuerysetMixin, View):
    def post(self, request, pk):
        job = self.get_job(pk)
        if confirm_import(request.user, job):
            messages.success(request, "已确认导入，正在写入数据…")
        elif job.status == ImportStatus.CHECKED:
            messages.info(request, "该文件已确认导入，请勿重复提交。")
        else:
            messages.error(
                request, "只有检查通过、尚未导入的文件才能确认导入，本次未导入任何数据。"
            )
        return redirect("imports:job", pk=job.pk)


class MappingView(ImportRightMixin, JobQuerysetMixin, View):
    """The mapping step's form: map the file's columns and check the file again."""

    def post(self, request, pk):
        job = self.get_job(pk)
        mapping = offered_mapping(job)
        if mapping is None:
            messages.error(request, "只有因表头缺少列而检查失败的文件才能设置表头对应。")
            return redirect("imports:job", pk=job.pk)
        form = HeaderMappingForm(request.POST, columns=mapping["columns"])
        if form.is_valid():
            try:
                map_headers(actor=request.user, job=job, chosen=form.chosen())
            except ValidationError as exc:
                put_errors(form, exc)
            else:
                messages.success(request, "已按您选择的表头对应重新检查；本县今后的台账按此识别。")
                return redirect("imports:job", pk=job.pk)
        view = JobDetailView(request=request, kwargs={"pk": pk}, object=job)
        context = view.get_context_data(object=job, mapping_form=form)
        return render(request, JobDetailView.template_name, context, status=400)


class ErrorsDownloadView(JobQuerysetMixin, View):
    def get(self, request, pk):
        job = self.get_job(pk)
        if not job.errors:
            raise Http404("该文件没有错误清单。")
        rows = ([e["row"], e["column"], e["message"]] for e in job.errors)
        data = write_xlsx("错误清单", ["行号", "列", "问题"], rows)
        return attachment(data, f"{PurePath(job.original_name).stem}-错误清单.xlsx")


# Value aliases ------------------------------------------------------------------------------


class AliasForm(forms.Form):
    """One alias of the county: the official value it names (grouped by column, so the
    column follows from it) and the text ledgers write for it."""

    target = forms.ChoiceField(
        label="规范值",
        help_text="选择这个写法表示的规范值（按列分组）。",
        error_messages={
            "required": "请选择别名表示的规范值。",
            "invalid_choice": "请选择列表中的规范值。",
        },
    )
    alias = forms.CharField(
        label="别名（台账中的写法）",
        max_length=aliases.ALIAS_MAX_LENGTH,
        help_text="如“三格”。不能与该列的规范值或系统内置的别名相同。",
        error_messages={
            "required": "请填写别名，即台账里的写法。",
            "max_length": f"别名不能超过 {aliases.ALIAS_MAX_LENGTH} 个字。",
        },
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [("", "请选择…")] + [
            (
                column.label,
                [
                    (f"{column.value}:{value}", text)
                    for value, text in aliases.official_values(column)
                ],
            )
            for column in aliases.AliasColumn
        ]

    def column_and_value(self) -> tuple[str, str]:
        column, _, value = self.cleaned_data["target"].partition(":")
        return column, value


def alias_rows(county) -> list[dict]:
    """One row per official value of each list column: its built-in aliases and the
    county's own."""
    own: dict[tuple[str, str], list[ValueAlias]] = {}
    for alias in ValueAlias.objects.filter(county=county).order_by("alias"):
        own.setdefault((alias.column, alias.value), []).append(alias)
    rows = []
    for column in aliases.AliasColumn:
        built_in: dict[str, list[str]] = {}
        for text, value in aliases.built_in_aliases(column).items():
            built_in.setdefault(value, []).append(text)
        values = aliases.official_values(column)
        for index, (value, text) in enumerate(values):
            rows.append(
                {
                    "column": column.label,
                    "first": index == 0,
                    "span": len(values),
                    "official": text,
                    "built_in": built_in.get(value, []),
                    "own": own.get((column.value, value), []),
                }
            )
    return rows


class AliasCountyMixin(ImportRightMixin):
    def get_county(self, code):
        return get_object_or_404(
            ValueAlias.objects.counties_visible_to(self.request.user), code=code
        )


class AliasHomeView(ImportRightMixin, View):
    """The importer's own county's page; a user above the county level picks a county."""

    def get(self, request):
        county = importer_county(request.user)
        if county is not None:
            return redirect("imports:aliases", code=county.code)
        counties = ValueAlias.objects.counties_visible_to(request.user).order_by("code")
        return render(request, "imports/alias_counties.html", {"counties": counties})


class AliasListView(AliasCountyMixin, View):
    template_name = "imports/aliases.html"

    def render_page(self, county, form, status=200):
        can_edit = aliases.can_edit_aliases(self.request.user, county)
        context = {
            "county": county,
            "rows": alias_rows(county),
            "can_edit": can_edit,
            "form": form if can_edit else None,
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, code):
        return self.render_page(self.get_county(code), AliasForm())

    def post(self, request, code):
        county = self.get_county(code)
        if not aliases.can_edit_aliases(request.user, county):
            raise PermissionDenied(aliases.NO_ALIAS_RIGHT)
        form = AliasForm(request.POST)
        if form.is_valid():
            column, value = form.column_and_value()
            try:
                created = aliases.add_alias(
                    actor=request.user,
                    county=county,
                    column=column,
                    alias=form.cleaned_data["alias"],
                    value=value,
                )
            except ValidationError as exc:
                put_errors(form, exc, renamed={"value": "target", "column": "target"})
            else:
                messages.success(
                    request,
                    f"已添加别名：{created.get_column_display()}“{created.alias}”表示"
                    f"“{created.official_text}”，本县今后导入的台账按此识别。",
                )
                return redirect("imports:aliases", code=county.code)
        return self.render_page(county, form, status=400)


class AliasDeleteView(AliasCountyMixin, View):
    def post(self, request, code, pk):
        county = self.get_county(code)
        if not aliases.can_edit_aliases(request.user, county):
            raise PermissionDenied(aliases.NO_ALIAS_RIGHT)
        alias = get_object_or_404(ValueAlias.objects.visible_to(request.user), pk=pk, county=county)
        try:
            aliases.delete_alias(actor=request.user, county=county, alias_id=alias.pk)
        except ValueAlias.DoesNotExist:
            raise Http404("没有这个别名。") from None
        messages.success(
            request,
            f"已删除别名：{alias.get_column_display()}“{alias.alias}”（表示“{alias.official_text}”）。",
        )
        return redirect("imports:aliases", code=county.code)
