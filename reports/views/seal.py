"""The unit's seal: a county or township administrator uploads it for the stamped tables, and
its image is served only through the scoping."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from core.web.forms import put_errors
from regions.choices import MANAGE_SEAL
from regions.scoping import has_capability

from .. import services
from ..forms import SealForm
from ..models import Seal
from ..queries import seal_of
from .base import safe_next


class SealView(LoginRequiredMixin, View):
    template_name = "reports/seal.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not has_capability(request.user, MANAGE_SEAL):
            raise PermissionDenied("只有乡镇、县级管理员可以上传本单位印章。")
        self.unit = services.seal_unit(request.user)
        if self.unit is None:
            raise PermissionDenied("请使用乡镇或县级账号上传本单位印章。")
        return super().dispatch(request, *args, **kwargs)

    def render_page(self, form):
        seal = seal_of(self.request.user, self.unit)
        return render(
            self.request,
            self.template_name,
            {"unit": self.unit, "seal": seal, "form": form, "next": self.request.GET.get("next")},
        )

    def get(self, request):
        return self.render_page(SealForm())

    def post(self, request):
        form = SealForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_page(form)
        try:
            services.upload_seal(
                actor=request.user, region=self.unit, image=form.cleaned_data["image"]
            )
        except ValidationError as error:
            put_errors(form, error)
            return self.render_page(form)
        messages.success(request, "印章已保存，今后生成的盖章汇总表将使用该印章。")
        return redirect(safe_next(request, reverse("reports:seal")))


class SealImageView(LoginRequiredMixin, View):
    def get(self, request, code):
        seal = get_object_or_404(Seal.objects.visible_to(request.user), region__code=code)
        try:
            handle = seal.image.open("rb")
        except FileNotFoundError as exc:
            raise Http404("文件不存在。") from exc
        ext = seal.image.name.rsplit(".", 1)[-1].lower()
        response = FileResponse(handle, content_type="image/png" if ext == "png" else "image/jpeg")
        response["Cache-Control"] = "private, no-cache"
        return response
