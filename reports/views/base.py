"""Looking rounds and regions up through the scoping (another region's round or region is a
404), the links between the submission pages, and a safe ``next``."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from regions.choices import Level
from regions.models import Region
from regions.scoping import scope_of
from surveys.models import SurveyRound

from ..models import SubmissionKind


class RoundMixin(LoginRequiredMixin):
    def get_round(self) -> SurveyRound:
        if not hasattr(self, "_round"):
            self._round = get_object_or_404(
                SurveyRound.objects.visible_to(self.request.user).select_related(
                    "county", "template"
                ),
                pk=self.kwargs["pk"],
            )
        return self._round

    def round_regions(self):
        """The regions of the round's county this user may see."""
        return Region.objects.visible_to(self.request.user).filter(
            code__startswith=self.get_round().county.prefix
        )

    def get_region(self, code=None, level=None) -> Region:
        regions = self.round_regions()
        if level is not None:
            regions = regions.filter(level=level)
        if code:
            return get_object_or_404(regions, code=code)
        scope = scope_of(self.request.user)
        county = self.get_round().county
        if scope.region is not None and scope.region.code.startswith(county.prefix):
            return scope.region
        return get_object_or_404(regions, pk=county.pk)


def submission_page(submission) -> str:
    if submission.collection_id:  # a city's or the province's table
        return reverse("reports:collection", args=[submission.collection_id])
    kwargs = {"pk": submission.survey_round_id, "code": submission.region.code}
    name = "reports:county" if submission.kind == SubmissionKind.COUNTY else "reports:township"
    return reverse(name, kwargs=kwargs)


def unit_page(survey_round, region) -> str | None:
    """The submission page of a county or township; None for other levels."""
    if region.level == Level.COUNTY:
        return reverse("reports:county", kwargs={"pk": survey_round.pk, "code": region.code})
    if region.level == Level.TOWNSHIP:
        return reverse("reports:township", kwargs={"pk": survey_round.pk, "code": region.code})
    return None


def safe_next(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback
