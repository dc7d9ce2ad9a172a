"""The weekly progress table of the 整村推进 programme (seed 003), its export, and the page
where the county or the township enters the year's targets per village."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views import View
from django.views.generic import TemplateView

from core.responses import attachment
from regions.choices import Level
from regions.models import Region
from regions.scoping import scope_of

from ..forms import TargetForm, TargetFormSet
from ..progress import (
    DEFINITIONS,
    MAX_YEAR,
    MIN_YEAR,
    PROGRESS_LEVELS,
    build_progress,
    can_edit_targets,
    progress_filename,
    progress_regions,
    progress_workbook_bytes,
    save_targets,
)
from ..queries import rounds_of, target_villages, targets_by_village, townships_with_targets


def year_choices(selected: int) -> list[int]:
    this_year = timezone.localdate().year
    years = set(range(this_year + 1, this_year - 5, -1)) | {selected}
    return sorted(years, reverse=True)


class ProgressScopeMixin(LoginRequiredMixin):
    """The table's region and year from the query string: a county or township the user sees
    (its own by default; anything else is a 404) and a year (this year by default)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.region = self.get_region()
            self.year = self.get_year()
        return super().dispatch(request, *args, **kwargs)

    def get_region(self) -> Region:
        regions = progress_regions(self.request.user)
        code = self.request.GET.get("region", "").strip()
        if code:
            region = regions.filter(code=code).first()
            if region is None:
                raise Http404("该区划不存在或不在您的管辖范围内。")
            return region
        scope = scope_of(self.request.user)
        if scope is not None and scope.region is not None and scope.region.level in PROGRESS_LEVELS:
            return scope.region
        region = regions.filter(level=Level.COUNTY).order_by("code").first()
        if region is None:
            raise PermissionDenied("整村推进进展按乡镇、县汇总，请使用乡镇或县级账号查看。")
        return region

    def get_year(self) -> int:
        text = self.request.GET.get("year", "").strip()
        if not text:
            return timezone.localdate().year
        if not (text.isascii() and text.isdigit()) or not MIN_YEAR <= int(text) <= MAX_YEAR:
            raise Http404("年度无效。")
        return int(text)

    def query(self, **extra) -> str:
        return urlencode({"region": self.region.code, "year": self.year, **extra})


class ProgressView(ProgressScopeMixin, TemplateView):
    template_name = "reports/progress.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        table = build_progress(self.region, self.year, user=user)
        context = super().get_context_data(**kwargs)
        context.update(
            table=table,
            region=self.region,
            year=self.year,
            years=year_choices(self.year),
            regions=progress_regions(user).order_by("code"),
            query=self.query(),
            definitions=DEFINITIONS,
            can_edit=can_edit_targets(user),
            rounds=rounds_of(user, self.region),
        )
        return context


class ProgressExportView(ProgressScopeMixin, View):
    """The same table as xlsx, built inline (a county's table is a handful of rows)."""

    def get(self, request):
        table = build_progress(self.region, self.year, user=request.user)
        return attachment(progress_workbook_bytes(table), progress_filename(table))


# Targets ----------------------------------------------------------------------------------


FIELDS_PER_VILLAGE = len(TargetForm.base_fields)
SPARE_FIELDS = 10  # the CSRF token and the management form


class TargetsView(ProgressScopeMixin, View):
    """The county (MANAGE_ROUNDS) or the township (PLAN_ACCEPT) enters, for each village of
    its scope, whether it is in the year's programme, its targets and a note. One submit saves
    every row or none."""

    template_name = "reports/progress_targets.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not can_edit_targets(request.user):
            raise PermissionDenied("只有县级管理员或乡镇审核员可以填写整村推进目标。")
        return super().dispatch(request, *args, **kwargs)

    def load(self):
        user = self.request.user
        targets = targets_by_village(user, self.year, self.region)
        villages = target_villages(user, self.region, targets)
        initial = []
        for village in villages:
            target = targets.get(village.pk)
            initial.append(
                {
                    "in_programme": target is not None,
                    "new_builds": target.new_builds if target else None,
                    "rectifications": target.rectifications if target else None,
                    "note": target.note if target else "",
                }
            )
        return villages, initial

    def render_page(self, formset, errors=(), status=200, townships=None):
        return render(
            self.request,
            self.template_name,
            {
                "formset": formset,
                "townships": townships,
                "errors": errors,
                "region": self.region,
                "year": self.year,
                "years": year_choices(self.year),
                "regions": progress_regions(self.request.user).order_by("code"),
                "query": self.query(),
            },
            status=status,
        )

    def too_many(self, villages) -> bool:
        """A form of every village of a big county would pass Django's limit on the number of
        posted fields (4 per village): such a county enters its targets township by township."""
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return (
            limit is not None
            and self.region.level == Level.COUNTY
            and len(villages) * FIELDS_PER_VILLAGE + SPARE_FIELDS > limit
        )

    def township_chooser(self):
        townships = townships_with_targets(self.request.user, self.year, self.region)
        for township in townships:
            township.query = urlencode({"region": township.code, "year": self.year})
        return townships

    def get(self, request):
        villages, initial = self.load()
        if self.too_many(villages):
            return self.render_page(None, townships=self.township_chooser())
        return self.render_page(TargetFormSet(initial=initial, villages=villages, prefix="t"))

    def post(self, request):
        villages, initial = self.load()
        if self.too_many(villages):
            return self.render_page(
                None,
                ["本县行政村较多，请按乡镇分别填写目标。"],
                status=400,
                townships=self.township_chooser(),
            )
        formset = TargetFormSet(request.POST, initial=initial, villages=villages, prefix="t")
        if not formset.is_valid():
            errors = [*formset.non_form_errors(), *formset.village_errors()]
            return self.render_page(formset, errors, status=400)
        try:
            changed = save_targets(
                actor=request.user, year=self.year, rows=[f.as_input() for f in formset.forms]
            )
        except ValidationError as error:
            return self.render_page(formset, error.messages, status=400)
        messages.success(
            request,
            f"已保存 {self.year} 年度整村推进目标（{changed} 个村有变动）。"
            if changed
            else "目标没有变动。",
        )
        return redirect(f"{reverse('reports:progress')}?{self.query()}")
