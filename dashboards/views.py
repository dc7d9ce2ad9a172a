"""工作看板: the page (every chart with its table), each chart's JSON and its Excel file."""

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.utils import timezone
from django.utils.http import urlencode
from django.views import View
from django.views.generic import TemplateView

from core.responses import attachment
from core.xlsx import write_xlsx
from regions.choices import Level
from regions.models import Region

from .charts import CHARTS
from .frame import BadParameter, frame_of, visible_rounds
from .plans import plan_panel


def _frame(request):
    return frame_of(request.user, request.GET)


def _meta(frame) -> dict:
    return {
        "round": {"id": frame.survey_round.pk, "name": frame.survey_round.name},
        "region": {"code": frame.region.code, "name": frame.region.name},
        "cutoff": timezone.localtime(frame.cutoff).isoformat(),
    }


class DashboardView(LoginRequiredMixin, TemplateView):
    template_name = "dashboards/index.html"

    def get(self, request, *args, **kwargs):
        try:
            self.frame = _frame(request)
        except BadParameter as exc:
            return HttpResponseBadRequest(str(exc))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        frame = self.frame
        context["frame"] = frame
        context["tiles"] = {
            "url": settings.MAP_TILE_URL,
            "attribution": settings.MAP_TILE_ATTRIBUTION,
            "subdomains": settings.MAP_TILE_SUBDOMAINS,
        }
        if frame is None:
            return context
        charts = [CHARTS[key](frame) for key in CHARTS]
        context["charts"] = charts
        context["plan_panel"] = plan_panel(frame)
        context["chart_data"] = {chart.key: chart.as_dict() for chart in charts}
        context["rounds"] = list(visible_rounds(self.request.user).order_by("-start_date", "-id"))
        county = frame.survey_round.county
        regions = list(
            Region.objects.visible_to(self.request.user)
            .filter(code__startswith=county.prefix, level__in=[Level.COUNTY, Level.TOWNSHIP])
            .order_by("code")
        )
        if frame.region not in regions:
            regions.insert(0, frame.region)
        context["regions"] = regions
        context["cutoff_value"] = frame.cutoff_param[:10]
        context["querystring"] = urlencode(frame.params())
        return context


class ChartMixin(LoginRequiredMixin):
    def chart(self, request, key):
        if key not in CHARTS:
            raise Http404
        frame = _frame(request)
        if frame is None:
            raise Http404("没有可查看的摸排轮次。")
        return frame, CHARTS[key](frame)


class ChartDataView(ChartMixin, View):
    """``/dashboard/data/<chart>/?round=&region=&cutoff=``: the chart's numbers as JSON."""

    def get(self, request, key):
        try:
            frame, chart = self.chart(request, key)
        except BadParameter as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        return JsonResponse(
            {**_meta(frame), **chart.as_dict()}, json_dumps_params={"ensure_ascii": False}
        )


class ChartExportView(ChartMixin, View):
    """``/dashboard/export/<chart>/``: the chart's table as an Excel file."""

    def get(self, request, key):
        try:
            frame, chart = self.chart(request, key)
        except BadParameter as exc:
            return HttpResponseBadRequest(str(exc))
        headers, rows = chart.table()
        cutoff = timezone.localtime(frame.cutoff).strftime("%Y-%m-%d %H:%M")
        rows.append([])
        rows.append([f"轮次：{frame.survey_round.name}；区划：{frame.region.name}；截止：{cutoff}"])
        if chart.note:
            rows.append([chart.note])
        title = chart.title.replace("（", "-").replace("）", "").replace("/", "_")[:31]
        stamp = timezone.localdate().strftime("%Y%m%d")
        name = f"{frame.region.name}-{frame.survey_round.name}-{title}-{stamp}.xlsx"
        return attachment(write_xlsx(title, headers, rows), name)
