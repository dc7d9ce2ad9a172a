"""The evidence files of the ledger: the after photos and the household's signed consent."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.views import View

from core.responses import private_image

from ..models import Consent, EvidencePhoto


class EvidencePhotoView(LoginRequiredMixin, View):
    """Evidence is household data: served only through the scoping, never as public media."""

    def get(self, request, pk, size):
        if size not in ("full", "thumb"):
            raise Http404
        photo = get_object_or_404(EvidencePhoto.objects.visible_to(request.user), pk=pk)
        return private_image(photo.thumbnail if size == "thumb" else photo.image)


class ConsentImageView(LoginRequiredMixin, View):
    def get(self, request, pk):
        consent = get_object_or_404(Consent.objects.visible_to(request.user), pk=pk)
        return private_image(consent.image)
