"""Spot-check pages (抽查): draw, assign, record, publish, and the discrepancy rates.

Objects are looked up in scope first (404 outside it), then the role is checked (403). The
rules of who sees what live in ``surveys/spotchecks.py``; these views only ask.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import TemplateView

from core.users import display_name
from core.web.forms import int_or_none
from toilets.identity import mask_phone

from .. import spotchecks
from ..forms import DrawForm, RecordForm
from ..models import ProblemCategory, SpotCheckItem, SurveyRound

ITEMS_PER_PAGE = 50

_ITEM_RELATED = (
    "original__toilet__household",
    "original__toilet__village__parent",
    "original__surveyor",
    "inspector",
)


class SpotCheckMixin(LoginRequiredMixin):
    """Resolve the page's object in scope (404), then check the role (403)."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.load(**kwargs)
        self.check_role()
        return super().dispatch(request, *args, **kwargs)

    def load(self, **kwargs):
        pass

    def check_role(self):
        if not spotchecks.can_use_spotchecks(self.request.user):
            raise PermissionDenied(
                "抽查由县级管理员组织，督导和乡镇审核员承担；您的角色不参与抽查。"
            )


class SpotCheckListView(SpotCheckMixin, TemplateView):
    """A round's samples; the county draws a new one here."""

    template_name = "surveys/spotcheck_list.html"

    def load(self, pk, **kwargs):
        self.round = get_object_or_404(
            SurveyRound.objects.visible_to(self.request.user).select_related("county"), pk=pk
        )
        self.manages = spotchecks.manages_round(self.request.user, self.round)

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        samples = (
            spotchecks.samples_visible_to(self.request.user)
            .filter(round=self.round)
            .select_related("created_by", "campaign__region")
            .annotate(
                item_count=Count("items"),
                checked_count=Count("items", filter=Q(items__checked_at__isnull=False)),
            )
        )
        for sample in samples:
            # A city's campaign is run by the city, even on the county's own round.
            sample.managed = (
                spotchecks.manages_campaign(self.request.user, sample.campaign)
                if sample.campaign_id
                else self.manages
            )
        context.update(
            round=self.round,
            samples=samples,
            manages=self.manages,
            can_check=spotchecks.can_check(self.request.user),
            form=form or (DrawForm() if self.manages else None),
        )
        return context

    def post(self, request, *args, **kwargs):
        if not self.manages:
            raise PermissionDenied("只有本县县级管理员可以抽取抽查样本。")
        form = DrawForm(request.POST)
        if form.is_valid():
            amount = form.cleaned_data["amount"]
            per_village = percent = None
            if form.cleaned_data["method"] == "percent":
                percent = amount
            else:
                per_village = amount
            try:
                sample = spotchecks.draw_sample(
                    actor=request.user,
                    round=self.round,
                    per_village=per_village,
                    percent=percent,
                    seed=form.cleaned_data["seed"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    f"已抽取 {sample.items.count()} 户，随机种子 {sample.seed}（请记录在案）。"
                    "下一步：分配抽查人。",
                )
                return redirect("surveys:spotcheck-detail", pk=sample.pk)
        return self.render_to_response(self.get_context_data(form=form))


class SpotCheckDetailView(SpotCheckMixin, TemplateView):
    """One sample: its items, the county's assignment forms, the rates, and publishing."""

    template_name = "surveys/spotcheck_detail.html"

    def load(self, pk, **kwargs):
        user = self.request.user
        self.sample = get_object_or_404(
            spotchecks.samples_visible_to(user).select_related(
                "round__county", "created_by", "campaign__region"
            ),
            pk=pk,
        )
        self.manages = spotchecks.manages_sample(user, self.sample)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, sample, manages = self.request.user, self.sample, self.manages
        items = (
            spotchecks.items_shown(sample, user, manages=manages)
            .select_related(*_ITEM_RELATED)
            .prefetch_related(
                "categories",
                Prefetch("original__categories", queryset=ProblemCategory.objects.all()),
            )
            .order_by("original__toilet__village__code", "id")
        )
        page = Paginator(items, ITEMS_PER_PAGE).get_page(self.request.GET.get("page"))
        shows_results = manages or sample.is_published
        by_village = by_surveyor = None
        if shows_results:
            by_village = spotchecks.discrepancy_by_village(sample, user, manages=manages)
            by_surveyor = spotchecks.discrepancy_by_surveyor(sample, user, manages=manages)
        if manages and not sample.is_published:
            candidates = list(spotchecks.candidates_for(user, sample))
            for item in page:
                item.checker_choices = [
                    a for a in candidates if spotchecks.refusal_for(a, item, sample) is None
                ]
            for row in by_village.rows:
                row.checker_choices = [
                    a for a in candidates if not spotchecks.village_conflict(sample, a, row.key)
                ]
        context.update(
            sample=sample,
            round=sample.round,
            manages=manages,
            can_assign=manages and not sample.is_published,
            can_publish=manages and not sample.is_published and sample.campaign_id is None,
            campaign=sample.campaign,
            shows_results=shows_results,
            shows_seed=manages or sample.is_published,
            page_obj=page,
            items=page.object_list,
            paginator=page.paginator,
            is_paginated=page.has_other_pages(),
            by_village=by_village,
            by_surveyor=by_surveyor,
        )
        return context

    def post(self, request, *args, **kwargs):
        if not self.manages:
            if self.sample.campaign_id:
                campaign = self.sample.campaign
                raise PermissionDenied(
                    f"该样本属于{campaign.region.name}组织的{campaign.kind_label}，"
                    f"由{campaign.region.name}分配和公布。"
                )
            raise PermissionDenied("只有本县县级管理员可以分配或公布抽查。")
        action = request.POST.get("action")
        try:
            if action == "publish":
                spotchecks.publish_sample(actor=request.user, sample=self.sample)
                messages.success(request, "抽查结果已公布，被抽查乡镇现在可以看到本乡镇的结果。")
            elif action in ("assign_item", "assign_village"):
                self.assign(action)
            else:
                messages.error(request, "无法识别的操作。")
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        return redirect(self.request.get_full_path())

    def assign(self, action):
        request, sample = self.request, self.sample
        checker = (
            spotchecks.candidates_for(request.user, sample)
            .filter(user_id=int_or_none(request.POST.get("checker")))
            .first()
        )
        if checker is None:
            if sample.campaign_id:
                raise ValidationError("请选择抽查人（其他县（区）的督导或县级管理员）。")
            raise ValidationError("请选择抽查人（本县的督导或乡镇审核员）。")
        items = SpotCheckItem.objects.visible_to(request.user).filter(sample=sample)
        if action == "assign_item":
            items = [get_object_or_404(items, pk=int_or_none(request.POST.get("item")))]
        else:
            items = list(
                items.filter(
                    original__toilet__village__code=request.POST.get("village", ""),
                    checked_at__isnull=True,
                )
            )
            if not items:
                raise ValidationError("该村没有待抽查的户（可能都已录入结果）。")
        count = spotchecks.assign_items(actor=request.user, items=items, checker=checker.user)
        messages.success(request, f"已将 {count} 户分配给{display_name(checker.user)}。")


class MySpotChecksView(SpotCheckMixin, TemplateView):
    """The checker's worklist: what they were sent to re-inspect."""

    template_name = "surveys/spotcheck_mine.html"

    def check_role(self):
        if not spotchecks.can_check(self.request.user):
            raise PermissionDenied("抽查任务只分配给督导、乡镇审核员，以及市级抽查中的县级管理员。")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        items = (
            spotchecks.items_for_checker(self.request.user)
            .select_related("sample__round", "sample__campaign__region", *_ITEM_RELATED)
            .order_by("sample_id", "original__toilet__village__code", "id")
        )
        pending, done = [], []
        for item in items:
            if item.checked_at is None and not item.sample.is_published:
                pending.append(item)
            else:
                done.append(item)
        context.update(pending=pending, done=done)
        return context


class SpotCheckItemView(SpotCheckMixin, TemplateView):
    """The assigned checker records one re-inspection (before the sample is published).

    The original finding is not shown here: the checker records what they see, unprompted.
    """

    template_name = "surveys/spotcheck_item.html"

    def load(self, pk, **kwargs):
        user = self.request.user
        reachable = SpotCheckItem.objects.visible_to(user) | spotchecks.items_for_checker(user)
        self.item = get_object_or_404(
            reachable.select_related("sample__round", *_ITEM_RELATED), pk=pk
        )

    def check_role(self):
        if self.item.inspector_id != self.request.user.pk:
            raise PermissionDenied("只有被分配的抽查人可以录入该户的抽查结果。")

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        item = self.item
        if form is None:
            initial = {}
            if item.checked_at:
                initial = {
                    "usability": item.usability,
                    "categories": list(item.categories.all()),
                    "notes": item.notes,
                }
            form = RecordForm(initial=initial)
        household = item.original.toilet.household
        context.update(
            item=item,
            toilet=item.original.toilet,
            household=household,
            # The checker may be from another township: numbers stay masked for everybody.
            masked_phone=mask_phone(household.phone) if household and household.phone else "",
            form=form,
            editable=not item.sample.is_published,
        )
        return context

    def post(self, request, *args, **kwargs):
        form = RecordForm(request.POST)
        if form.is_valid():
            try:
                spotchecks.record_result(
                    actor=request.user,
                    item=self.item,
                    usability=form.cleaned_data["usability"],
                    categories=form.cleaned_data["categories"],
                    notes=form.cleaned_data["notes"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"已保存 {self.item.original.toilet} 的抽查结果。")
                return redirect(reverse("surveys:spotcheck-mine"))
        return self.render_to_response(self.get_context_data(form=form))
