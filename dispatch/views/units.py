"""Pages of the briefings of a city (counties as rows) or the province (cities as rows): the
list, a briefing (printable), its spreadsheet, and generating one. Read through
``UnitBriefing.objects.visible_to``: the unit and everybody above it, and the counties and
cities below it, which the 通报 is sent down to; another city's briefing is a 404."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import ListView

from core.jobs import JobStatus
from core.responses import attachment
from core.web.progress import job_page, job_status
from reports.chain import own_unit

from .. import jobs, ranking, services
from ..exports import filename, unit_briefing_xlsx
from ..forms import GenerateForm
from ..models import BriefingKind, UnitBriefing, UnitBriefingJob
from .briefings import ReaderMixin


class UnitReaderMixin(ReaderMixin):
    def briefings(self):
        return UnitBriefing.objects.visible_to(self.request.user).select_related("region")


class UnitBriefingList(UnitReaderMixin, ListView):
    template_name = "dispatch/unit_list.html"
    context_object_name = "briefings"
    paginate_by = 20

    def get_queryset(self):
        qs = self.briefings().select_related("generated_by")
        kind = self.request.GET.get("kind")
        if kind in BriefingKind.values:
            qs = qs.filter(kind=kind)
        return qs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        unit = services.managed_unit(self.request.user)
        context.update(
            unit=unit,
            generate_form=GenerateForm() if unit else None,
            kinds=BriefingKind.choices,
            kind=self.request.GET.get("kind", ""),
            # Generations the user started that have not ended well (a failure after they
            # left the job's page is found here, with its reason).
            open_jobs=UnitBriefingJob.objects.of(self.request.user).exclude(status=JobStatus.DONE)[
                :5
            ],
        )
        return context


class UnitGenerate(UnitReaderMixin, View):
    """Queue the briefing (``dispatch.jobs``): a province's reads every county's table, longer
    than a request should take. The job's page follows it and opens the briefing."""

    def post(self, request):
        form = GenerateForm(request.POST)
        if not form.is_valid():
            messages.error(request, "请选择通报类型。")
            return redirect("dispatch:units")
        try:
            job = jobs.start_unit_briefing(actor=request.user, kind=form.cleaned_data["kind"])
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
            return redirect("dispatch:units")
        return redirect("dispatch:unit-job", pk=job.pk)


class UnitJob(UnitReaderMixin, View):
    """The job's progress; once done, the briefing itself. Only its creator's."""

    def get(self, request, pk):
        job = get_object_or_404(
            UnitBriefingJob.objects.of(request.user).select_related("region"), pk=pk
        )
        made = job.briefing_id if job.status == JobStatus.DONE else None
        url = reverse("dispatch:unit", args=[made]) if made else None
        return job_page(request, job, "dispatch/unit_job.html", url)


class UnitJobStatus(UnitReaderMixin, View):
    """What the progress bar polls."""

    def get(self, request, pk):
        return job_status(get_object_or_404(UnitBriefingJob.objects.of(request.user), pk=pk))


class UnitBriefingDetail(UnitReaderMixin, View):
    def get(self, request, pk):
        briefing = get_object_or_404(
            self.briefings().select_related("generated_by", "previous"), pk=pk
        )
        unit = own_unit(request.user)
        # The reader's own county (city) is marked in the table, with what would lift it.
        own_code = unit.code if unit is not None else ""
        change = briefing.data.get("change", {})
        rows = [
            {**row, "change": change.get(row["code"]), "own": row["code"] == own_code}
            for row in briefing.data["rows"]
        ]
        mine = next((row for row in rows if row["own"]), None)
        advice = None
        if mine is not None and mine["place"] is not None:
            ranked = [row for row in briefing.data["rows"] if row["place"] is not None]
            advice = ranking.move_up(mine, ranked, briefing.formula["weights"])
        return render(
            request,
            "dispatch/unit_detail.html",
            {
                "briefing": briefing,
                "rows": rows,
                "total": briefing.data["total"],
                "formula": briefing.formula,
                "labels": ranking.COMPONENTS,
                "lead_answer_days": briefing.data.get("lead_answer_days"),
                "collection": briefing.data.get("collection"),
                "row_label": briefing.row_label,
                "unit_table": True,
                "mine": mine,
                "advice": advice,
            },
        )


class UnitBriefingXlsx(UnitReaderMixin, View):
    def get(self, request, pk):
        briefing = get_object_or_404(self.briefings(), pk=pk)
        return attachment(unit_briefing_xlsx(briefing), filename(briefing))
