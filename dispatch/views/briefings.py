"""Pages of the dispatch briefings: the list, a briefing (printable), its spreadsheet, the
formula, and a township's own view. Briefings are read through ``Briefing.objects.visible_to``
(a county's briefing is visible county-wide and above); a village surveyor has no page here."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.generic import ListView

from core.responses import attachment
from core.web.forms import put_errors
from regions.choices import Level
from regions.scoping import scope_of

from .. import ranking, services
from ..exports import briefing_xlsx, filename
from ..forms import FormulaForm, GenerateForm
from ..models import Briefing, BriefingKind, RankingFormula

# What a unit's formula ranks (its rows), by the unit's level.
ROWS_WORD = {Level.COUNTY: "乡镇", Level.CITY: "县（区）", Level.PROVINCE: "市"}
NO_ACCESS = "调度通报供县、乡镇、督导及上级查看，村级摸排员账号不能查看。"


class ReaderMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not services.can_read(request.user):
            raise PermissionDenied(NO_ACCESS)
        return super().dispatch(request, *args, **kwargs)

    def briefings(self):
        return Briefing.objects.visible_to(self.request.user).select_related("county", "round")


def township_of(user):
    scope = scope_of(user)
    if scope is not None and scope.region is not None and scope.region.level == Level.TOWNSHIP:
        return scope.region
    return None


class BriefingList(ReaderMixin, ListView):
    template_name = "dispatch/list.html"
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
        county = services.managed_county(self.request.user)
        context.update(
            county=county,
            unit=services.managed_unit(self.request.user),
            reads_units=services.reads_unit_briefings(self.request.user),
            generate_form=GenerateForm() if county else None,
            kinds=BriefingKind.choices,
            kind=self.request.GET.get("kind", ""),
            township=township_of(self.request.user),
        )
        return context


class Generate(ReaderMixin, View):
    def post(self, request):
        county = services.managed_county(request.user)
        if county is None:
            raise PermissionDenied("只有县级管理员可以生成调度通报。")
        form = GenerateForm(request.POST)
        if not form.is_valid():
            messages.error(request, "请选择通报类型。")
            return redirect("dispatch:list")
        try:
            briefing = services.generate_briefing(
                actor=request.user, county=county, kind=form.cleaned_data["kind"]
            )
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
            return redirect("dispatch:list")
        messages.success(request, f"已生成“{briefing.title}”。")
        return redirect("dispatch:detail", pk=briefing.pk)


def rows_with_change(briefing: Briefing, own_code: str = "") -> list[dict]:
    change = briefing.data.get("change", {})
    return [
        {**row, "change": change.get(row["code"]), "own": row["code"] == own_code}
        for row in briefing.data["rows"]
    ]


class BriefingDetail(ReaderMixin, View):
    def get(self, request, pk):
        briefing = get_object_or_404(
            self.briefings().select_related("generated_by", "previous"), pk=pk
        )
        township = township_of(request.user)
        return render(
            request,
            "dispatch/detail.html",
            {
                "briefing": briefing,
                "rows": rows_with_change(briefing, township.code if township else ""),
                "total": briefing.data["total"],
                "formula": briefing.formula,
                "township": township,
                "labels": ranking.COMPONENTS,
                "lead_answer_days": briefing.data.get("lead_answer_days"),
            },
        )


class BriefingXlsx(ReaderMixin, View):
    def get(self, request, pk):
        briefing = get_object_or_404(self.briefings(), pk=pk)
        return attachment(briefing_xlsx(briefing), filename(briefing))


class FormulaEdit(ReaderMixin, View):
    template_name = "dispatch/formula.html"

    def county(self):
        """The unit whose formula this is: the county (townships ranked), or the city or
        province (counties, or cities, ranked)."""
        county = services.ranking_unit(self.request.user)
        if county is None:
            raise PermissionDenied("排名公式由县级、市级或省级管理员设置。")
        return county

    def render(self, form, county):
        formula = RankingFormula.objects.filter(region=county).select_related("updated_by").first()
        weights = services.weights_of(county)
        return render(
            self.request,
            self.template_name,
            {"form": form, "county": county, "formula": formula,
             "text": ranking.formula_text(weights), "rows_word": ROWS_WORD[county.level]},
        )  # fmt: skip

    def get(self, request):
        county = self.county()
        return self.render(FormulaForm(initial=services.weights_of(county)), county)

    def post(self, request):
        county = self.county()
        form = FormulaForm(request.POST)
        if form.is_valid():
            try:
                services.save_formula(actor=request.user, county=county, weights=form.cleaned_data)
            except ValidationError as exc:
                put_errors(form, exc)
            else:
                messages.success(request, "排名公式已保存，下一期通报起按新公式排名。")
                return redirect("dispatch:formula")
        return self.render(form, county)


class Mine(ReaderMixin, View):
    """The township's place in the latest briefing (of the kind asked, else the latest of any
    kind), its numbers, and what would move it up."""

    def get(self, request):
        township = township_of(request.user)
        if township is None:
            raise PermissionDenied("本页面供乡镇（街道）查看本乡镇的排名。")
        qs = self.briefings()
        kind = request.GET.get("kind")
        if kind in BriefingKind.values:
            qs = qs.filter(kind=kind)
        briefing = qs.order_by("-generated_at", "-id").first()
        context = {"township": township, "briefing": briefing, "kinds": BriefingKind.choices,
                   "kind": kind or ""}  # fmt: skip
        if briefing is not None:
            ranked = briefing.data["rows"]
            row = next((r for r in ranked if r["code"] == township.code), None)
            if row is not None:
                context.update(
                    row=row,
                    change=briefing.data.get("change", {}).get(row["code"]),
                    advice=ranking.move_up(row, ranked, briefing.formula["weights"]),
                    count=len(ranked),
                    formula=briefing.formula,
                    labels=ranking.COMPONENTS,
                )
        return render(request, "dispatch/mine.html", context)
