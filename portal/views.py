"""Pages that combine several apps: the home page with its work queues, the region pages
with the register's counts, and the household page (一户一档) with its whole history."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Count
from django.db.models.functions import Substr
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import DetailView, TemplateView

from core.web.views import ScopedViewMixin
from rectification.queries import home_queues, household_story
from regions.choices import EDIT_REGISTER, INSPECT, MANAGE_ROUNDS, VERIFY, Level, Role
from regions.codes import LEVEL_DIGITS
from regions.models import Region
from regions.scoping import has_capability, scope_of
from reports.chain import home_collections
from surveys.campaigns import campaign_checks_waiting, can_run_campaigns
from surveys.models import SurveyRound
from surveys.spotchecks import can_check
from toilets.models import Household, Toilet

from .home import callouts
from .inspect_links import household_inspect_links
from .timeline import household_timeline


def _counts_by_child(queryset, region: Region, child_digits: int) -> dict[str, int]:
    rows = (
        queryset.filter(village__code__startswith=region.prefix)
        .annotate(child=Substr("village__code", 1, child_digits))
        .values("child")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["child"]: row["n"] for row in rows}


class HomeView(LoginRequiredMixin, TemplateView):
    template_name = "home.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        scope = scope_of(user)
        context = super().get_context_data(**kwargs)
        context.update(
            scope=scope,
            can_edit=has_capability(user, EDIT_REGISTER),
            village_count=Region.objects.visible_to(user).villages().count(),
            household_count=Household.objects.visible_to(user).count(),
            toilet_count=Toilet.objects.visible_to(user).active().count(),
            is_surveyor=scope is not None and scope.role == Role.SURVEYOR,
            open_round=SurveyRound.objects.visible_to(user).open().first(),
            can_inspect=has_capability(user, INSPECT),
            can_verify=has_capability(user, VERIFY),
            can_manage_rounds=has_capability(user, MANAGE_ROUNDS),
            can_check=can_check(user),
            can_run_campaigns=can_run_campaigns(user),
            campaign_checks=campaign_checks_waiting(user),
        )
        if scope is not None:
            context["ledger_queues"] = home_queues(user)
            context.update(callouts(user, context["open_round"]))
            context["collections"] = home_collections(user)
        return context


class RegionRootView(LoginRequiredMixin, TemplateView):
    """Send the user to its own region (or the top of the tree for a global user)."""

    def get(self, request, *args, **kwargs):
        scope = scope_of(request.user)
        if scope is not None and scope.region is not None:
            return redirect("regions:detail", code=scope.region.code)
        top = Region.objects.visible_to(request.user).order_by("code").first()
        if top is None:
            return redirect("home")
        return redirect("regions:detail", code=top.code)


class RegionDetailView(LoginRequiredMixin, TemplateView):
    template_name = "regions/region_detail.html"

    def get_context_data(self, code, **kwargs):
        user = self.request.user
        region = get_object_or_404(Region.objects.visible_to(user), code=code)
        children = list(Region.objects.visible_to(user).filter(parent=region))
        context = super().get_context_data(**kwargs)
        child_digits = LEVEL_DIGITS[Level(children[0].level)] if children else 12
        households = _counts_by_child(Household.objects.visible_to(user), region, child_digits)
        toilets = _counts_by_child(Toilet.objects.visible_to(user).active(), region, child_digits)
        for child in children:
            child.household_count = households.get(child.prefix, 0)
            child.toilet_count = toilets.get(child.prefix, 0)
        ancestors = region.ancestors()
        visible_codes = set(
            Region.objects.visible_to(user)
            .filter(code__in=[a.code for a in ancestors])
            .values_list("code", flat=True)
        )
        context.update(
            region=region,
            breadcrumbs=[a for a in ancestors if a.code in visible_codes],
            children=children,
            household_total=sum(households.values()),
            toilet_total=sum(toilets.values()),
        )
        return context


class HouseholdDetailView(ScopedViewMixin, DetailView):
    """一户一档: everything known about one household on one page."""

    model = Household
    template_name = "toilets/household_detail.html"

    def get_queryset(self):
        return household_story(super().get_queryset(), self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["timeline"] = household_timeline(self.object)
        inspect = household_inspect_links(self.request.user, self.object)
        new = self.request.GET.get("new", "")
        for toilet in self.object.toilets.all():
            toilet.inspect_link = inspect["links"].get(toilet.pk)
            if new == str(toilet.pk):
                context["new_toilet"] = toilet
        context["inspect_round"] = inspect["round"]
        # From the prefetched toilets: no further query.
        context["ledger_entries"] = [
            entry for toilet in self.object.toilets.all() for entry in toilet.ledger_entries.all()
        ]
        return context
