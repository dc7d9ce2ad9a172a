"""The ledger import pages: the template download, the upload form, the job page (progress
bar, then the check's preview or its errors, the confirm button, the result), the polled
status and the error list as a spreadsheet. A job is only ever looked up through
``ImportJob.objects.mine`` (another user's job is a 404)."""

from pathlib import PurePath

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.generic import DetailView

from core.responses import attachment
from core.web.progress import progress_payload, progress_response
from core.xlsx import write_xlsx
from surveys.models import SurveyRound

from .forms import MAX_UPLOAD_BYTES, UploadForm, megabytes
from .jobs import can_import
from .models import ImportJob, ImportStatus
from .results import COUNT_LABELS
from .services import confirm_import, start_check
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
        context.update(
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


class ErrorsDownloadView(JobQuerysetMixin, View):
    def get(self, request, pk):
        job = self.get_job(pk)
        if not job.errors:
            raise Http404("该文件没有错误清单。")
        rows = ([e["row"], e["column"], e["message"]] for e in job.errors)
        data = write_xlsx("错误清单", ["行号", "列", "问题"], rows)
        return attachment(data, f"{PurePath(job.original_name).stem}-错误清单.xlsx")
