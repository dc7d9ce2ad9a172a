"""Pages of the spot-checks across counties (市级抽查、省级抽验): the unit's campaigns with the
form that draws one, and a campaign with its per-county samples, their checkers and rates.

Campaigns are looked up in scope first (404 outside it: a county, or another city), then the
role is checked (403). The rules live in ``surveys/campaigns.py`` and ``surveys/spotchecks.py``.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import TemplateView

from core.jobs import JobStatus
from core.users import display_name
from core.web.forms import int_or_none, put_errors
from core.web.progress import job_page, job_status
from regions.models import RoleAssignment

from .. import campaign_jobs, campaigns, spotchecks
from ..forms import CampaignForm
from ..models import CampaignDrawJob, SpotCheckItem, SpotCheckSample

CAMPAIGNS_PER_PAGE = 30
COUNTIES_PER_PAGE = 30


class CampaignMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.load(**kwargs)
        if not campaigns.can_use_campaigns(request.user):
            raise PermissionDenied("市级抽查、省级抽验由市级或省级管理员组织。")
        return super().dispatch(request, *args, **kwargs)

    def load(self, **kwargs):
        pass


class CampaignListView(CampaignMixin, TemplateView):
    """The campaigns of the user's unit (and, for the province, of its cities); the unit
    draws a new one here."""

    template_name = "surveys/campaign_list.html"

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        rows = (
            campaigns.campaigns_visible_to(user)
            .annotate(
                county_count=Count("samples", distinct=True),
                item_count=Count("samples__items"),
            )
            .order_by("-created_at", "-id")
        )
        page = Paginator(rows, CAMPAIGNS_PER_PAGE).get_page(self.request.GET.get("page"))
        can_run = campaigns.can_run_campaigns(user)
        context.update(
            unit=campaigns.own_unit(user),
            page_obj=page,
            rows=page.object_list,
            paginator=page.paginator,
            is_paginated=page.has_other_pages(),
            can_run=can_run,
            form=form or (CampaignForm() if can_run else None),
            # Draws the user started that have not ended well: one that failed after they
            # left the page is found here, with its reason.
            open_jobs=CampaignDrawJob.objects.of(user).exclude(status=JobStatus.DONE)[:5],
        )
        return context

    def post(self, request, *args, **kwargs):
        if not campaigns.can_run_campaigns(request.user):
            raise PermissionDenied("市级抽查、省级抽验由市级或省级管理员组织。")
        form = CampaignForm(request.POST)
        if form.is_valid():
            amount = form.cleaned_data["amount"]
            percent = amount if form.cleaned_data["method"] == "percent" else None
            per_village = None if percent is not None else amount
            try:
                job = campaign_jobs.start_draw(
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    per_village=per_village,
                    percent=percent,
                    seed=form.cleaned_data["seed"],
                )
            except ValidationError as exc:
                put_errors(form, exc, renamed={"method": "method", "amount": "amount"})
            else:
                return redirect("surveys:campaign-job", pk=job.pk)
        return self.render_to_response(self.get_context_data(form=form))


class CampaignDetailView(CampaignMixin, TemplateView):
    """A campaign: each county's sample, its checkers and progress, and (for the unit, or for
    everybody once published) the rates per county; the unit assigns and publishes here."""

    template_name = "surveys/campaign_detail.html"

    def load(self, pk, **kwargs):
        user = self.request.user
        self.campaign = get_object_or_404(campaigns.campaigns_visible_to(user), pk=pk)
        self.manages = spotchecks.manages_campaign(user, self.campaign)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, campaign, manages = self.request.user, self.campaign, self.manages
        samples = (
            SpotCheckSample.objects.filter(campaign=campaign)
            .select_related("round__county")
            .annotate(
                item_count=Count("items"),
                assigned_count=Count("items", filter=Q(items__inspector__isnull=False)),
                checked_count=Count("items", filter=Q(items__checked_at__isnull=False)),
            )
            .order_by("round__county__code")
        )
        page = Paginator(samples, COUNTIES_PER_PAGE).get_page(self.request.GET.get("page"))
        can_assign = manages and not campaign.is_published
        if can_assign:
            candidates = list(
                RoleAssignment.objects.visible_to(user)
                .filter(
                    role__in=spotchecks.CAMPAIGN_CHECKER_ROLES,
                    user__is_active=True,
                    region__code__startswith=campaign.region.prefix,
                )
                .select_related("user", "region")
                .order_by("role", "region__code", "user__username")
            )
            for sample in page:
                county_code = sample.round.county.code
                sample.checker_choices = [
                    a for a in candidates if not spotchecks.county_conflict(a, county_code)
                ]
        shows_results = manages or campaign.is_published
        context.update(
            campaign=campaign,
            manages=manages,
            can_assign=can_assign,
            shows_results=shows_results,
            page_obj=page,
            samples=page.object_list,
            paginator=page.paginator,
            is_paginated=page.has_other_pages(),
            by_county=campaigns.rates_by_county(campaign, user) if shows_results else None,
        )
        return context

    def post(self, request, *args, **kwargs):
        if not self.manages:
            raise PermissionDenied(
                f"只有{self.campaign.region.name}可以分配或公布本次{self.campaign.kind_label}。"
            )
        action = request.POST.get("action")
        try:
            if action == "publish":
                campaigns.publish_campaign(actor=request.user, campaign=self.campaign)
                messages.success(
                    request, "抽查结果已公布，各县（区）现在可以看到本县（区）的结果和不一致率。"
                )
            elif action == "assign_county":
                self.assign()
            else:
                messages.error(request, "无法识别的操作。")
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        return redirect(request.get_full_path())

    def assign(self):
        """All not yet checked items of one county's sample to one checker."""
        request, campaign = self.request, self.campaign
        sample = get_object_or_404(
            SpotCheckSample.objects.filter(campaign=campaign).select_related(
                "round__county", "campaign__region"
            ),
            pk=int_or_none(request.POST.get("sample")),
        )
        checker = (
            spotchecks.campaign_candidates(request.user, sample)
            .filter(user_id=int_or_none(request.POST.get("checker")))
            .first()
        )
        if checker is None:
            raise ValidationError("请选择抽查人（其他县（区）的督导或县级管理员）。")
        items = list(
            SpotCheckItem.objects.visible_to(request.user).filter(
                sample=sample, checked_at__isnull=True
            )
        )
        if not items:
            raise ValidationError(f"{sample.round.county.name}没有待抽查的户（可能都已录入结果）。")
        count = spotchecks.assign_items(actor=request.user, items=items, checker=checker.user)
        messages.success(
            request,
            f"已将{sample.round.county.name}的 {count} 户分配给{display_name(checker.user)}。",
        )


class CampaignDrawJobView(CampaignMixin, TemplateView):
    """A draw's progress; once done, the campaign itself. Only its creator's."""

    def get(self, request, pk):
        job = get_object_or_404(CampaignDrawJob.objects.of(request.user), pk=pk)
        made = job.campaign_id if job.status == JobStatus.DONE else None
        url = reverse("surveys:campaign-detail", args=[made]) if made else None
        return job_page(request, job, "surveys/campaign_job.html", url)


class CampaignDrawJobStatusView(CampaignMixin, TemplateView):
    """What the progress bar polls."""

    def get(self, request, pk):
        return job_status(get_object_or_404(CampaignDrawJob.objects.of(request.user), pk=pk))
