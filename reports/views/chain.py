"""The pages of the chain above the county: the collections (汇总任务) a city or the province
publishes, each unit's state in one, a delivered table with its review, and the collecting
unit's own stamped table.

Reads go through ``visible_to(user)``; writes through ``reports.chain``.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from core.errors import ConflictError
from core.users import display_name
from core.web.forms import int_or_none, put_errors
from regions.choices import MANAGE_COLLECTIONS, REVIEW_LOWER_TABLES, SUBMIT_UPWARD, Level
from regions.scoping import has_capability
from surveys.models import ReportTemplate

from .. import chain
from ..forms import CollectionForm, DeliverForm, FillerForm, ReturnForm, ReviewNoteForm
from ..models import Collection, Delivery, Submission
from ..services import Refused
from ..sheet import row_label
from .tables import frozen_table, table_context


class CollectionListView(LoginRequiredMixin, View):
    """The collections the user sees; a city or the province publishes new ones here."""

    template_name = "reports/collections.html"

    def forms_allowed(self):
        unit = chain.own_unit(self.request.user)
        return has_capability(self.request.user, MANAGE_COLLECTIONS) and (
            unit is not None and unit.level in chain.BELOW
        )

    def make_form(self, data=None):
        user = self.request.user
        unit = chain.own_unit(user)
        parents = Collection.objects.visible_to(user).filter(region_id=unit.parent_id)
        return CollectionForm(data, templates=ReportTemplate.objects.all(), parents=parents)

    def render_page(self, form=None):
        user = self.request.user
        unit = chain.own_unit(user)
        rows = []
        for collection in chain.collections_for(user).order_by("-deadline", "-id")[:100]:
            rows.append(
                {
                    "collection": collection,
                    "mine": unit is not None and collection.region_id == unit.pk,
                }
            )
        return render(
            self.request,
            self.template_name,
            {"rows": rows, "form": form, "unit": unit},
        )

    def get(self, request):
        return self.render_page(self.make_form() if self.forms_allowed() else None)

    def post(self, request):
        if not self.forms_allowed():
            raise PermissionDenied("只有市级、省级管理员可以发布汇总任务。")
        form = self.make_form(request.POST)
        if not form.is_valid():
            return self.render_page(form)
        try:
            collection = chain.create_collection(
                actor=request.user,
                name=form.cleaned_data["name"],
                template=form.cleaned_data["template"],
                deadline=form.cleaned_data["deadline"],
                parent=form.cleaned_data.get("parent"),
            )
        except ValidationError as error:
            put_errors(form, error)
            return self.render_page(form)
        messages.success(request, f"已发布汇总任务“{collection.name}”。")
        return redirect(collection)


class CollectionView(LoginRequiredMixin, View):
    """One collection: for the collecting unit (and above) each unit's state and the table the
    accepted ones make; for a unit below, its own deliveries and the form to send one."""

    template_name = "reports/collection.html"

    def setup_page(self, pk):
        user = self.request.user
        self.collection = get_object_or_404(chain.collections_for(user), pk=pk)
        self.unit = chain.own_unit(user)
        collector_level = self.collection.region.level
        # The collecting unit and the units above it see every unit's state.
        self.is_collector = self.unit is None or self.collection.region.code.startswith(
            self.unit.prefix
        )
        self.is_sender = (
            self.unit is not None
            and self.unit.parent_id == self.collection.region_id
            and chain.BELOW.get(collector_level) == self.unit.level
        )
        self.can_submit = (
            self.unit is not None
            and self.unit.pk == self.collection.region_id
            and has_capability(user, SUBMIT_UPWARD)
        )

    def context(self, *, filler_form=None, deliver_form=None, refusal=None):
        user = self.request.user
        context = {
            "collection": self.collection,
            "unit": self.unit,
            "is_collector": self.is_collector,
            "is_sender": self.is_sender,
            "can_submit": self.can_submit,
            "refusal": refusal,
            # who sends to this collection: 县（区） to a city's, 市 to the province's
            "sender_level": Level(chain.BELOW[Level(self.collection.region.level)]).label,
        }
        if self.is_collector:
            table = chain.unit_table(user, self.collection)
            context["table"] = table
            context["accepted"] = sum(1 for u in table.units if u.accepted)
            context["late"] = sum(1 for u in table.units if u.late)
            if not table.waiting:
                context.update(
                    table_context(
                        self.collection,
                        table.rows,
                        table.total,
                        table.violations,
                        row_label=row_label(self.collection.region.level),
                    )
                )
            context["versions"] = list(
                Submission.objects.visible_to(user)
                .filter(collection=self.collection, region=self.collection.region)
                .order_by("-version")
            )
            parent = self.collection.parent
            context["parent_deliveries"] = (
                list(
                    Delivery.objects.visible_to(user)
                    .filter(collection=parent, region=self.collection.region)
                    .select_related("submission")
                )
                if parent is not None
                else []
            )
            if self.can_submit:
                context["filler_form"] = filler_form or FillerForm(
                    previous=context["versions"][0] if context["versions"] else None, user=user
                )
        if self.is_sender:
            deliveries = list(
                Delivery.objects.visible_to(user)
                .filter(collection=self.collection, region=self.unit)
                .select_related(
                    "submission__survey_round",
                    "submission__collection",
                    "reviewed_by",
                    "delivered_by",
                )
            )
            for delivery in deliveries:
                delivery.visible_note = chain.note_for(user, delivery)
            context["own_deliveries"] = deliveries
            tables = chain.sendable_tables(user, self.collection)
            if deliver_form is not None or tables.exists():
                context["deliver_form"] = deliver_form or DeliverForm(tables=tables)
        return context

    def get(self, request, pk):
        self.setup_page(pk)
        return render(request, self.template_name, self.context())

    def post(self, request, pk):
        self.setup_page(pk)
        action = request.POST.get("action")
        if action == "deliver" and self.is_sender:
            return self.deliver()
        if action == "submit" and self.can_submit:
            return self.submit()
        raise PermissionDenied("您不能在此汇总任务中执行该操作。")

    def deliver(self):
        user = self.request.user
        form = DeliverForm(self.request.POST, tables=chain.sendable_tables(user, self.collection))
        if not form.is_valid():
            return render(self.request, self.template_name, self.context(deliver_form=form))
        try:
            chain.deliver(
                actor=user, submission=form.cleaned_data["submission"], collection=self.collection
            )
        except ConflictError as exc:
            messages.error(self.request, exc.message)
            return redirect(self.collection)
        messages.success(self.request, f"已报送{self.collection.region.name}，等待审核。")
        return redirect(self.collection)

    def submit(self):
        form = FillerForm(self.request.POST)
        if not form.is_valid():
            return render(self.request, self.template_name, self.context(filler_form=form))
        try:
            submission = chain.submit_unit_table(
                actor=self.request.user, collection=self.collection, **form.service_kwargs()
            )
        except ValidationError as error:
            put_errors(form, error)
            return render(self.request, self.template_name, self.context(filler_form=form))
        except Refused as exc:
            return render(
                self.request, self.template_name, self.context(filler_form=form, refusal=exc)
            )
        except ConflictError as exc:
            messages.error(self.request, exc.message)
            return redirect(self.collection)
        messages.success(
            self.request,
            f"已生成盖章汇总表第{submission.version}版，核验码 {submission.code}。",
        )
        return redirect(self.collection)


class DeliveryView(LoginRequiredMixin, View):
    """A delivered table: its frozen numbers and stamped file; the receiver reviews it here."""

    template_name = "reports/delivery.html"

    def setup_page(self, pk):
        user = self.request.user
        self.delivery = get_object_or_404(
            Delivery.objects.visible_to(user).select_related(
                "collection__region",
                "collection__template",
                "region",
                "submission__region",
                "submission__survey_round__template",
                "submission__collection__template",
                "delivered_by",
                "reviewed_by",
            ),
            pk=pk,
        )
        unit = chain.own_unit(user)
        self.can_review = (
            has_capability(user, REVIEW_LOWER_TABLES)
            and unit is not None
            and unit.pk == self.delivery.collection.region_id
        )

    def render_page(self, *, note_form=None, return_form=None):
        delivery = self.delivery
        user = self.request.user
        return render(
            self.request,
            self.template_name,
            {
                "delivery": delivery,
                "submission": delivery.submission,
                "note": chain.note_for(user, delivery),
                "can_review": self.can_review,
                "pending": delivery.status == "submitted",
                "note_form": note_form
                or ReviewNoteForm(
                    initial={"review_note": delivery.review_note, "version": delivery.version}
                ),
                "return_form": return_form or ReturnForm(initial={"version": delivery.version}),
                "delivered_by": display_name(delivery.delivered_by),
                "reviewed_by": display_name(delivery.reviewed_by) if delivery.reviewed_by else "",
                **frozen_table(delivery.submission),
            },
        )

    def get(self, request, pk):
        self.setup_page(pk)
        return self.render_page()

    def post(self, request, pk):
        self.setup_page(pk)
        if not self.can_review:
            raise PermissionDenied("只有上级汇总单位可以审核报送的汇总表。")
        action = request.POST.get("action")
        version = int_or_none(request.POST.get("version"))
        try:
            if action == "note":
                form = ReviewNoteForm(request.POST)
                if not form.is_valid():
                    return self.render_page(note_form=form)
                chain.save_review_note(
                    actor=request.user,
                    delivery=self.delivery,
                    note=form.cleaned_data["review_note"],
                    expected_version=version,
                )
                messages.success(request, "审核意见已暂存，将随审核结果一并发送。")
            elif action == "accept":
                chain.accept_delivery(
                    actor=request.user, delivery=self.delivery, expected_version=version
                )
                messages.success(request, f"已接收{self.delivery.region.name}的汇总表。")
            elif action == "return":
                # The service checks the reason (and says so in its own words).
                chain.return_delivery(
                    actor=request.user,
                    delivery=self.delivery,
                    reason=request.POST.get("reason", ""),
                    expected_version=version,
                )
                messages.success(request, f"已退回{self.delivery.region.name}的汇总表。")
            else:
                raise PermissionDenied("未知的操作。")
        except ValidationError as error:
            form = ReturnForm(request.POST)
            form.errors.clear()
            put_errors(form, error)
            return self.render_page(return_form=form)
        except ConflictError as exc:
            messages.error(request, exc.message)
        return redirect(self.delivery)
