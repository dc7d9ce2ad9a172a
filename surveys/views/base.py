"""What the survey pages share: the round in the URL, looked up in scope; the round pages'
exports; going back to the page a form was posted from."""

from urllib.parse import urlencode

from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme

from core.web.views import ListExportView

from ..models import SurveyRound


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


class RoundExportView(ListExportView):
    """An export of a page about one round: the round (from the URL) joins the filters."""

    def get_params(self):
        return {**super().get_params(), "round": str(self.kwargs["pk"])}


def village_querystring(village_code: str) -> str:
    """The query string of a round page filtered to one village (empty for all villages)."""
    return urlencode({"village": village_code}) if village_code else ""


def redirect_next(request, *fallback, **fallback_kwargs):
    """Back to the page the form was posted from (its ``next``, if on this site), else to
    ``redirect(*fallback, **fallback_kwargs)``."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(*fallback, **fallback_kwargs)
