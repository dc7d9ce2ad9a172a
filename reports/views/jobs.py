"""Report jobs in the browser: start one, watch its progress bar, download the result. Every
job is looked up through reports.queries.jobs_visible_to: another region's job is a 404, and so is
another person's export job."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import DetailView, ListView

from core.exports import exports
from core.responses import stored_attachment
from core.web.progress import progress_payload, progress_response
from regions.models import Region

from ..jobs import describe, kind_labels
from ..models import JobStatus, ReportJob
from ..queries import PERSONAL_JOB_KINDS, jobs_visible_to
from ..services import start_job

JOB_LIST_SIZE = 30
HTML_CONTENT_TYPE = "text/html; charset=utf-8"  # the village book (reports.book)


def status_payload(job: ReportJob) -> dict:
    done = job.status == JobStatus.DONE and bool(job.result)
    return progress_payload(
        job,
        finished=job.status in (JobStatus.DONE, JobStatus.FAILED),
        download_url=reverse("reports:job-download", args=[job.pk]) if done else None,
        result_name=job.result_name if done else "",
    )


class JobStartView(LoginRequiredMixin, View):
    """POST kind, region (code) and the kind's parameters (year, or round)."""

    def post(self, request):
        region = get_object_or_404(
            Region.objects.visible_to(request.user), code=request.POST.get("region", "")
        )
        kind = request.POST.get("kind", "")
        params = {key: request.POST.get(key) for key in ("year", "round") if key in request.POST}
        try:
            if kind in exports:
                # Exports start from their list page, with that page's filters.
                raise ValidationError("导出 Excel 请在对应的列表页点击“导出 Excel”。")
            job = start_job(request.user, kind, region, params)
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
            back = request.POST.get("next", "")
            if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
                back = reverse("reports:progress")
            return redirect(back)
        return redirect("reports:job", pk=job.pk)


class JobQuerysetMixin(LoginRequiredMixin):
    """Jobs of the user's subtree; an export job only for the person who started it."""

    def get_queryset(self):
        return jobs_visible_to(self.request.user).select_related("region", "created_by")


class JobDetailView(JobQuerysetMixin, DetailView):
    template_name = "reports/job.html"
    context_object_name = "job"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = describe(self.object, self.request.user)
        context["status"] = status_payload(self.object)
        context["is_personal"] = (
            self.object.kind in exports or self.object.kind in PERSONAL_JOB_KINDS
        )
        return context


class JobListView(JobQuerysetMixin, ListView):
    template_name = "reports/job_list.html"
    context_object_name = "jobs"

    def get_queryset(self):
        return super().get_queryset()[:JOB_LIST_SIZE]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["kinds"] = kind_labels()
        return context


class JobStatusView(JobQuerysetMixin, View):
    """What the progress bar polls."""

    def get(self, request, pk):
        job = get_object_or_404(self.get_queryset(), pk=pk)
        return progress_response(status_payload(job))


class JobDownloadView(JobQuerysetMixin, View):
    def get(self, request, pk):
        job = get_object_or_404(self.get_queryset(), pk=pk)
        if job.status != JobStatus.DONE or not job.result:
            raise Http404("文件尚未生成。")
        name = job.result_name or f"report-{job.pk}.xlsx"
        return stored_attachment(
            job.result,
            name,
            missing="文件已不存在，请重新生成。",
            **({"content_type": HTML_CONTENT_TYPE} if name.endswith(".html") else {}),
        )
