from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Count, IntegerField, OuterRef, Q, Subquery, Value, When
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import DetailView, FormView, ListView, TemplateView

from core.errors import StaleEditError
from core.responses import private_image
from core.web.filters import InvalidFilter
from core.web.forms import put_errors
from core.web.views import ListExportView, ScopedViewMixin
from regions.choices import INSPECT, MANAGE_ROUNDS, VERIFY, Level
from regions.models import Region
from regions.scoping import has_capability, scope_of
from toilets.choices import ToiletStatus
from toilets.models import Toilet

from .. import services
from ..choices import InspectionStatus, RoundKind
from ..forms import InspectionForm, RoundForm
from ..hooks import worklist_annotations
from ..models import Inspection, InspectionPhoto, SurveyRound
from ..services import require
from ..spotchecks import can_use_spotchecks


class RoundScopedMixin(LoginRequiredMixin):
    """Views about one round: the round is looked up in the user's scope (404 otherwise)."""

    round_kwarg = "pk"

    def get_round(self):
        if not hasattr(self, "_round"):
            self._round = get_object_or_404(
                SurveyRound.objects.visible_to(self.request.user).select_related(
                    "county", "template", "previous"
                ),
                pk=self.kwargs[self.round_kwarg],
            )
        return self._round

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["round"] = self.get_round()
        return context


# Rounds ---------------------------------------------------------------------------------


class RoundListView(ScopedViewMixin, ListView):
    model = SurveyRound
    template_name = "surveys/round_list.html"

    def get_queryset(self):
        return super().get_queryset().select_related("county", "previous")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_manage"] = has_capability(self.request.user, MANAGE_ROUNDS)
        return context


class RoundCreateView(LoginRequiredMixin, FormView):
    form_class = RoundForm
    template_name = "surveys/round_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            require(request.user, MANAGE_ROUNDS, "只有县级管理员可以组织摸排轮次。")
            scope = scope_of(request.user)
            if scope.region is None or scope.region.level != Level.COUNTY:
                raise PermissionDenied("请使用县级账号组织摸排轮次。")
            self.county = scope.region
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "county": self.county}

    def form_valid(self, form):
        try:
            survey_round = services.create_round(
                actor=self.request.user, survey_round=form.instance
            )
        except ValidationError as error:
            put_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, "摸排轮次已创建。确认无误后点击“开启本轮”，各村即可录入。")
        return redirect("surveys:round-detail", pk=survey_round.pk)


class RoundDetailView(RoundScopedMixin, TemplateView):
    template_name = "surveys/round_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        survey_round = self.get_round()
        counts = (
            Inspection.objects.visible_to(user)
            .filter(round=survey_round)
            .aggregate(
                total=Count("id"),
                verified=Count("id", filter=Q(status=InspectionStatus.VERIFIED)),
                returned=Count("id", filter=Q(status=InspectionStatus.RETURNED)),
            )
        )
        context.update(
            counts=counts,
            registered=round_toilets(user, survey_round).count(),
            can_manage=has_capability(user, MANAGE_ROUNDS),
            can_inspect=has_capability(user, INSPECT),
            can_verify=has_capability(user, VERIFY),
            is_look_back=survey_round.previous_id is not None,
            can_spotcheck=can_use_spotchecks(user),
        )
        return context


class RoundTransitionView(RoundScopedMixin, View):
    service = None
    done_message = ""

    def post(self, request, pk):
        survey_round = self.get_round()
        try:
            type(self).service(actor=request.user, survey_round=survey_round)
        except services.ConflictError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, self.done_message)
        return redirect("surveys:round-detail", pk=survey_round.pk)


class RoundOpenView(RoundTransitionView):
    service = services.open_round
    done_message = "本轮已开启，各村摸排员可以开始录入。"


class RoundCloseView(RoundTransitionView):
    service = services.close_round
    done_message = "本轮已结束，不再接受录入。"


# The surveyor's worklist and the inspection form -------------------------------------------


def round_toilets(user, survey_round):
    """Toilets in use that the round covers: the user's scope within the round's county (a
    city-level inspector must not see other counties as 'not surveyed')."""
    return (
        Toilet.objects.visible_to(user)
        .active()
        .filter(village__code__startswith=survey_round.county.prefix)
    )


def round_villages(user, survey_round):
    """The villages of the round's county that the user may see, in code order."""
    return (
        Region.objects.visible_to(user)
        .villages()
        .filter(code__startswith=survey_round.county.prefix)
        .select_related("parent")
        .order_by("code")
    )


def current_round(user):
    return SurveyRound.objects.visible_to(user).open().select_related("county", "previous").first()


class WorklistView(LoginRequiredMixin, TemplateView):
    """The village's toilets for the open round: returned first, then not yet surveyed (with
    toilets still open from an earlier round flagged for re-check), then the rest."""

    template_name = "surveys/worklist.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        round_id = self.request.GET.get("round")
        rounds = SurveyRound.objects.visible_to(user)
        survey_round = (
            get_object_or_404(rounds.select_related("county"), pk=round_id)
            if round_id and round_id.isdigit()
            else current_round(user)
        )
        context["round"] = survey_round
        if survey_round is None:
            return context
        own = Inspection.objects.filter(round=survey_round, toilet=OuterRef("pk"))
        extra = {"recheck": Value(False)}
        for annotations in worklist_annotations.send(survey_round=survey_round):
            extra.update(annotations)
        toilets = (
            round_toilets(user, survey_round)
            .select_related("household", "village")
            .annotate(
                inspection_id=Subquery(own.values("pk")[:1]),
                inspection_status=Subquery(own.values("status")[:1]),
                return_reason=Subquery(own.values("return_reason")[:1]),
                **extra,
                rank=Case(
                    When(inspection_status=InspectionStatus.RETURNED, then=Value(0)),
                    When(inspection_status__isnull=True, then=Value(1)),
                    When(inspection_status=InspectionStatus.SUBMITTED, then=Value(2)),
                    default=Value(3),
                    output_field=IntegerField(),
                ),
            )
            .order_by("rank", "-recheck", "household__group_name", "id")
        )
        rows = list(toilets)
        context.update(
            toilets=rows,
            remaining=sum(1 for t in rows if t.inspection_status is None),
            returned=sum(1 for t in rows if t.inspection_status == InspectionStatus.RETURNED),
            done=sum(1 for t in rows if t.inspection_status is not None),
            can_inspect=has_capability(user, INSPECT),
            is_look_back=survey_round.kind == RoundKind.LOOK_BACK,
        )
        return context


class InspectView(LoginRequiredMixin, FormView):
    """Create or correct the inspection of one toilet in one round, in one request."""

    form_class = InspectionForm
    template_name = "surveys/inspect.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        user = request.user
        self.survey_round = get_object_or_404(
            SurveyRound.objects.visible_to(user).select_related("county"), pk=kwargs["round_pk"]
        )
        self.toilet = get_object_or_404(
            Toilet.objects.visible_to(user).select_related("household", "village"),
            pk=kwargs["toilet_pk"],
        )
        require(user, INSPECT, "只有村级摸排员可以录入摸排结果。")
        self.inspection = (
            Inspection.objects.filter(round=self.survey_round, toilet=self.toilet)
            .prefetch_related("categories", "photos")
            .first()
        )
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        instance = self.inspection or Inspection(round=self.survey_round, toilet=self.toilet)
        kwargs["instance"] = instance
        if self.inspection is not None:
            kwargs.setdefault("initial", {})["categories"] = list(self.inspection.categories.all())
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            round=self.survey_round,
            toilet=self.toilet,
            inspection=self.inspection,
            locked=self.inspection is not None
            and self.inspection.status == InspectionStatus.VERIFIED,
        )
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        inspection = form.instance
        inspection.round, inspection.toilet = self.survey_round, self.toilet
        if self.inspection is not None and data.get("version") is None:
            # The form was opened before somebody else recorded this toilet: never overwrite.
            form.add_error(
                None, "该厕所本轮已有他人录入的摸排记录，您的录入未保存。请返回清单刷新后查看。"
            )
            return self.form_invalid(form)
        try:
            services.save_inspection(
                actor=self.request.user,
                inspection=inspection,
                categories=data["categories"],
                photos=data["photos"],
                expected_version=data.get("version"),
            )
        except ValidationError as error:
            put_errors(form, error)
            return self.form_invalid(form)
        except StaleEditError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        except services.ConflictError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        messages.success(
            self.request, f"已保存：{self.toilet}（{inspection.get_usability_display()}）。"
        )
        return redirect(f"{reverse('surveys:worklist')}?round={self.survey_round.pk}")


class InspectionDetailView(ScopedViewMixin, DetailView):
    model = Inspection
    template_name = "surveys/inspection_detail.html"
    context_object_name = "inspection"

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("round", "toilet__household", "toilet__village", "surveyor")
            .prefetch_related("categories", "photos", "flags")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_verify"] = has_capability(self.request.user, VERIFY)
        context["can_inspect"] = has_capability(self.request.user, INSPECT)
        return context


class PhotoView(LoginRequiredMixin, View):
    """Photos are household data: served only through the scoping, never as public media."""

    def get(self, request, pk, size):
        photo = get_object_or_404(InspectionPhoto.objects.visible_to(request.user), pk=pk)
        field = photo.thumbnail if size == "thumb" else photo.image
        return private_image(field, missing="照片文件不存在。")


# Township verification --------------------------------------------------------------------


def review_queue(user, survey_round, village_code=""):
    """The township's review queue (submitted inspections of the round), optionally of one
    village, with what the page and its export show. A village the user cannot see is a 404."""
    queue = (
        Inspection.objects.visible_to(user)
        .filter(round=survey_round, status=InspectionStatus.SUBMITTED)
        .select_related("toilet__household", "toilet__village__parent", "surveyor")
        .prefetch_related("categories", "flags")
        .annotate(photo_count=Count("photos", distinct=True))
        .order_by("toilet__village__code", "inspected_at", "id")
    )
    if village_code:
        village = round_villages(user, survey_round).filter(code=village_code).first()
        if village is None:
            raise InvalidFilter("该村不在您的管辖范围内。")
        queue = queue.filter(toilet__village=village)
    return queue


class ReviewQueueView(RoundScopedMixin, TemplateView):
    template_name = "surveys/review.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        survey_round = self.get_round()
        village_code = self.request.GET.get("village", "")
        queue = review_queue(user, survey_round, village_code)
        per_village = dict(
            Inspection.objects.visible_to(user)
            .filter(round=survey_round, status=InspectionStatus.SUBMITTED)
            .values("toilet__village__code")
            .annotate(n=Count("id"))
            .values_list("toilet__village__code", "n")
        )
        village_rows = [(v, per_village.get(v.code, 0)) for v in round_villages(user, survey_round)]
        context["queue_total"] = (
            per_village.get(village_code, 0) if village_code else sum(per_village.values())
        )
        context.update(
            queue=queue[:100],
            village_rows=village_rows,
            village_code=village_code,
            can_verify=has_capability(user, VERIFY),
            querystring=urlencode({"village": village_code}) if village_code else "",
        )
        return context


class RoundExportView(ListExportView):
    """An export of a page about one round: the round (from the URL) joins the filters."""

    def get_params(self):
        return {**super().get_params(), "round": str(self.kwargs["pk"])}


class ReviewExportView(RoundExportView):
    kind = "export_inspections"


class InspectionTransitionView(LoginRequiredMixin, View):
    def get_inspection(self, pk):
        return get_object_or_404(
            Inspection.objects.visible_to(self.request.user).select_related("round"), pk=pk
        )

    def seen_version(self):
        """The version the reviewer looked at: a newer edit must be looked at first."""
        raw = self.request.POST.get("version", "")
        return int(raw) if raw.isdigit() else None

    def back(self, inspection):
        target = self.request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(
            target, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        ):
            return redirect(target)
        return redirect("surveys:review", pk=inspection.round_id)


class VerifyView(InspectionTransitionView):
    def post(self, request, pk):
        inspection = self.get_inspection(pk)
        try:
            services.verify_inspection(
                actor=request.user, inspection=inspection, expected_version=self.seen_version()
            )
        except services.ConflictError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"已核查通过：{inspection.toilet}。")
        return self.back(inspection)


class ReturnView(InspectionTransitionView):
    def post(self, request, pk):
        inspection = self.get_inspection(pk)
        try:
            services.return_inspection(
                actor=request.user,
                inspection=inspection,
                reason=request.POST.get("reason", ""),
                expected_version=self.seen_version(),
            )
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        except services.ConflictError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"已退回：{inspection.toilet}，摸排员将在任务清单顶部看到。")
        return self.back(inspection)


# Progress and coverage --------------------------------------------------------------------


def village_counts(user, survey_round):
    """Per visible village: registered toilets in use, inspected, verified, returned.
    Three grouped queries whatever the number of villages or toilets."""
    villages = list(round_villages(user, survey_round))
    registered = dict(
        round_toilets(user, survey_round)
        .values("village")
        .annotate(n=Count("id"))
        .values_list("village", "n")
    )
    inspected = {
        row["toilet__village"]: row
        for row in Inspection.objects.visible_to(user)
        .filter(round=survey_round, toilet__status=ToiletStatus.ACTIVE)
        .values("toilet__village")
        .annotate(
            n=Count("id"),
            verified=Count("id", filter=Q(status=InspectionStatus.VERIFIED)),
            returned=Count("id", filter=Q(status=InspectionStatus.RETURNED)),
        )
    }
    rows = []
    for village in villages:
        row = inspected.get(village.pk, {})
        total = registered.get(village.pk, 0)
        done = row.get("n", 0)
        rows.append(
            {
                "village": village,
                "registered": total,
                "inspected": done,
                "verified": row.get("verified", 0),
                "returned": row.get("returned", 0),
                "missing": max(total - done, 0),
                "percent": round(100 * done / total) if total else 100,
            }
        )
    return rows


def sum_rows(rows):
    keys = ["registered", "inspected", "verified", "returned", "missing"]
    total = {k: sum(r[k] for r in rows) for k in keys}
    total["percent"] = (
        round(100 * total["inspected"] / total["registered"]) if total["registered"] else 100
    )
    return total


class ProgressView(RoundScopedMixin, TemplateView):
    """Village and surveyor progress (for the township, and everybody above it)."""

    template_name = "surveys/progress.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        survey_round = self.get_round()
        rows = village_counts(user, survey_round)
        surveyors = (
            Inspection.objects.visible_to(user)
            .filter(round=survey_round)
            .values("surveyor__username", "surveyor__first_name", "toilet__village__name")
            .annotate(
                n=Count("id"),
                verified=Count("id", filter=Q(status=InspectionStatus.VERIFIED)),
                returned=Count("id", filter=Q(status=InspectionStatus.RETURNED)),
                problems=Count("id", filter=~Q(usability="normal")),
            )
            .order_by("toilet__village__name", "surveyor__username")
        )
        context.update(rows=rows, total=sum_rows(rows), surveyors=surveyors)
        return context


class CoverageView(RoundScopedMixin, TemplateView):
    """全覆盖: registered vs inspected vs verified per township and village."""

    template_name = "surveys/coverage.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = village_counts(self.request.user, self.get_round())
        townships = {}
        for row in rows:
            townships.setdefault(row["village"].parent, []).append(row)
        context.update(
            townships=[(t, vs, sum_rows(vs)) for t, vs in townships.items()],
            total=sum_rows(rows),
        )
        return context


def missing_toilets(user, survey_round, village_code=""):
    """The toilets nobody has inspected yet in the round, optionally of one village (a village
    the user cannot see is a 404)."""
    toilets = (
        round_toilets(user, survey_round)
        .exclude(inspections__round=survey_round)
        .select_related("household", "village__parent")
        .order_by("village__code", "id")
    )
    if village_code:
        if not round_villages(user, survey_round).filter(code=village_code).exists():
            raise InvalidFilter("该村不在您的管辖范围内。")
        toilets = toilets.filter(village__code=village_code)
    return toilets


class MissingToiletsView(RoundScopedMixin, ListView):
    """The toilets nobody has inspected yet in this round (不漏一户)."""

    template_name = "surveys/missing.html"
    paginate_by = 50

    def get_queryset(self):
        return missing_toilets(
            self.request.user, self.get_round(), self.request.GET.get("village", "")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        village_code = self.request.GET.get("village", "")
        context["querystring"] = urlencode({"village": village_code}) if village_code else ""
        return context


class CoverageExportView(RoundExportView):
    kind = "export_coverage"


class MissingExportView(RoundExportView):
    kind = "export_missing"
