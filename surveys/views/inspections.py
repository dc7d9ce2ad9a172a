"""An inspection: the surveyor's form (create or correct, in one request), the record's page
and its photos (served through the scoping only)."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import DetailView, FormView

from core.errors import ConflictError
from core.responses import private_image
from core.web.forms import put_errors
from core.web.views import ScopedViewMixin
from regions.choices import INSPECT, VERIFY
from regions.scoping import has_capability
from toilets.models import Toilet

from .. import services
from ..choices import InspectionStatus
from ..forms import InspectionForm
from ..models import CorrectionPhoto, CorrectionRequest, Inspection, InspectionPhoto, SurveyRound
from ..queries import next_toilet
from ..services import require
from .base import redirect_next


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
            # 下一户 is worked out when it is followed (after the save), not on every form.
            next_url=reverse("surveys:inspect-next", args=[self.survey_round.pk, self.toilet.pk]),
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
                confirm_evidence=True,
            )
        except ValidationError as error:
            put_errors(form, error)
            return self.form_invalid(form)
        except ConflictError as exc:  # incl. a stale edit
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        messages.success(
            self.request, f"已保存：{self.toilet}（{inspection.get_usability_display()}）。"
        )
        return redirect(f"{reverse('surveys:worklist')}?round={self.survey_round.pk}")


class NextToiletView(LoginRequiredMixin, View):
    """下一户: the form of the next toilet after this one that still needs the surveyor, as
    the worklist orders them (``queries.next_toilet``); the worklist when none is left."""

    def get(self, request, round_pk, toilet_pk):
        user = request.user
        survey_round = get_object_or_404(SurveyRound.objects.visible_to(user), pk=round_pk)
        toilet = get_object_or_404(Toilet.objects.visible_to(user), pk=toilet_pk)
        require(user, INSPECT, "只有村级摸排员可以录入摸排结果。")
        following = next_toilet(user, survey_round, toilet)
        if following is None:
            messages.info(request, "本轮清单中已没有待摸排或被退回的厕所。")
            return redirect(f"{reverse('surveys:worklist')}?round={survey_round.pk}")
        return redirect("surveys:inspect", survey_round.pk, following.pk)


class InspectionDetailView(ScopedViewMixin, DetailView):
    model = Inspection
    template_name = "surveys/inspection_detail.html"
    context_object_name = "inspection"

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("round", "toilet__household", "toilet__village", "surveyor")
            .prefetch_related(
                "categories",
                "photos",
                "flags",
                Prefetch(
                    "correction_requests",
                    queryset=CorrectionRequest.objects.select_related(
                        "surveyor", "handled_by"
                    ).prefetch_related("photos"),
                ),
            )
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_verify"] = has_capability(self.request.user, VERIFY)
        context["can_inspect"] = has_capability(self.request.user, INSPECT)
        context["corrections"] = list(self.object.correction_requests.all())
        return context


class PhotoView(LoginRequiredMixin, View):
    """Photos are household data: served only through the scoping, never as public media."""

    model = InspectionPhoto

    def get(self, request, pk, size):
        photo = get_object_or_404(self.model.objects.visible_to(request.user), pk=pk)
        field = photo.thumbnail if size == "thumb" else photo.image
        return private_image(field, missing="照片文件不存在。")


class CorrectionPhotoView(PhotoView):
    """The photos of a correction request, through the same scoping."""

    model = CorrectionPhoto


class CorrectionHandleView(LoginRequiredMixin, View):
    """The township marks a correction request of a verified inspection handled, with a note."""

    def post(self, request, pk):
        correction = get_object_or_404(
            CorrectionRequest.objects.visible_to(request.user).select_related("inspection"),
            pk=pk,
        )
        try:
            services.handle_correction(
                actor=request.user, request=correction, note=request.POST.get("note", "")
            )
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        except ConflictError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"已处理更正申请：{correction.inspection.toilet}。")
        return redirect_next(request, "surveys:inspection-detail", pk=correction.inspection_id)
