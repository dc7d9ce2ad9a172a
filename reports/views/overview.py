"""The city's and the province's overview of the units below them (reports.overview)."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from regions.choices import Level
from regions.models import Region
from regions.scoping import scope_of

from .. import overview
from ..chain import BELOW
from ..columns import column_titles


class OverviewView(LoginRequiredMixin, View):
    template_name = "reports/overview.html"

    def region(self, request) -> Region | None:
        code = request.GET.get("region", "").strip()
        visible = Region.objects.visible_to(request.user)
        if code:
            region = get_object_or_404(visible, code=code)
            if region.level not in BELOW:
                raise Http404("该页面只按市、省汇总。")
            return region
        scope = scope_of(request.user)
        if scope is not None and scope.region is not None:
            return scope.region if scope.region.level in BELOW else None
        return visible.filter(level=Level.PROVINCE).order_by("code").first()

    def get(self, request):
        region = self.region(request)
        if region is None:  # a county or below has its own dashboard
            return redirect("dashboards:index")
        pages = Paginator(overview.children_of(request.user, region), overview.PER_PAGE)
        page = pages.get_page(request.GET.get("page"))
        collection = overview.latest_collection(request.user, region)
        rows = overview.unit_rows(request.user, region, list(page.object_list), collection)
        titles = column_titles()
        scope = scope_of(request.user)
        up = (
            region.parent
            if region.parent_id
            and (scope is None or scope.region is None or region.pk != scope.region.pk)
            else None
        )
        return render(
            request,
            self.template_name,
            {
                "region": region,
                "rows": rows,
                "page": page,
                "titles": [titles[c] for c in overview.SHOWN],
                "collection": collection,
                "child_label": Level(BELOW[Level(region.level)]).label,
                "drill": region.level == Level.PROVINCE,
                "up": up,
            },
        )
