from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import DetailView, FormView, ListView

from rectification.models import LedgerEntry
from regions.choices import EDIT_REGISTER
from regions.scoping import has_capability
from regions.views import ScopedViewMixin
from reports import jobs
from surveys.models import Inspection

from . import exports
from .choices import ToiletKind
from .filters import HouseholdFilter, ToiletFilter, build_filterset, filtered
from .forms import HouseholdForm, ToiletForm
from .models import Household, Toilet
from .services import StaleEditError, save_household, save_toilet
from .timeline import household_timeline

PAGE_SIZE = 20


class FilteredListView(ScopedViewMixin, ListView):
    """A list page over ``filterset_class``: the same filterset, built the same way, as the
    page's export (``toilets.filters.build_filterset``)."""

    filterset_class = None
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        self.filterset = build_filterset(self.filterset_class, self.request.user, self.request.GET)
        return filtered(self.filterset)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(filter=self.filterset, querystring=query.urlencode())
        return context


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=exports.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = (
        f"attachment; filename*=UTF-8''{exports.quote_filename(filename)}"
    )
    return response


class ListExportView(LoginRequiredMixin, View):
    """A list page's 导出 Excel: the page's filters (its query string) and the user's scope,
    identity numbers masked unless the role may see them. Up to EXPORT_SYNC_MAX_ROWS rows the
    file is sent at once; a bigger export becomes a report job with a progress bar."""

    kind = ""  # one of reports.jobs.EXPORTS

    def get_params(self) -> dict:
        return exports.params_of(self.request.GET)

    def get(self, request, *args, **kwargs):
        params = self.get_params()
        export = jobs.build_export(self.kind, request.user, params)  # InvalidFilter: 404
        rows = export.count()
        if rows > jobs.export_sync_max_rows():
            job = jobs.start_export_job(request.user, self.kind, params)
            if job is not None:
                messages.info(
                    request, f"共 {rows} 行，数据较多，正在后台生成 Excel，完成后在本页下载。"
                )
                return redirect("reports:job", pk=job.pk)
        return xlsx_response(export.xlsx(), export.filename())


class HouseholdListView(FilteredListView):
    model = Household
    filterset_class = HouseholdFilter
    template_name = "toilets/household_list.html"

    def get_queryset(self):
        return super().get_queryset().select_related(*exports.HOUSEHOLD_RELATED)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Toilet counts for the shown page only: one small query instead of a GROUP BY over
        # every household in the subtree.
        page = context["object_list"]
        counts = dict(
            Toilet.objects.filter(household__in=[h.pk for h in page])
            .values("household")
            .annotate(n=Count("id"))
            .values_list("household", "n")
        )
        for household in page:
            household.toilet_count = counts.get(household.pk, 0)
        return context


class HouseholdExportView(ListExportView):
    kind = "export_households"


class HouseholdDetailView(ScopedViewMixin, DetailView):
    """一户一档: everything known about one household on one page."""

    model = Household
    template_name = "toilets/household_detail.html"

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("village__parent")
            .prefetch_related(
                Prefetch(
                    "toilets",
                    queryset=Toilet.objects.order_by("id").prefetch_related(
                        Prefetch(
                            "inspections",
                            queryset=Inspection.objects.select_related("round", "surveyor")
                            .prefetch_related("categories", "photos")
                            .order_by("-inspected_at"),
                        ),
                        Prefetch(
                            "ledger_entries",
                            queryset=LedgerEntry.objects.order_by("-created_at"),
                        ),
                    ),
                )
            )
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["timeline"] = household_timeline(self.object)
        # From the prefetched toilets: no further query.
        context["ledger_entries"] = [
            entry for toilet in self.object.toilets.all() for entry in toilet.ledger_entries.all()
        ]
        return context


class RegisterWriteMixin:
    """Writes to the register: the object is looked up in scope first (404), then the role
    is checked (403)."""

    def check_write(self):
        if not has_capability(self.request.user, EDIT_REGISTER):
            raise PermissionDenied("您的角色只能查看户厕台账，不能登记或修改。")


class VersionedFormView(RegisterWriteMixin, ScopedViewMixin, FormView):
    """Create or edit one register object through its service function."""

    save_function = None
    success_message = ""

    def get_object(self):
        return None

    def build_instance(self):
        raise NotImplementedError

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.object = self.get_object()
        self.check_write()
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs.update(instance=self.object or self.build_instance(), user=self.request.user)
        return kwargs

    def form_valid(self, form):
        try:
            saved = type(self).save_function(
                actor=self.request.user,
                **{self.instance_kwarg: form.instance},
                expected_version=form.cleaned_data.get("version"),
            )
        except StaleEditError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, self.success_message)
        return redirect(self.success_url_for(saved))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["object"] = self.object
        return context


class HouseholdCreateView(VersionedFormView):
    model = Household
    form_class = HouseholdForm
    template_name = "toilets/household_form.html"
    save_function = save_household
    instance_kwarg = "household"
    success_message = "农户已登记。下一步：为该户登记厕所。"

    def build_instance(self):
        return Household()

    def success_url_for(self, household):
        return reverse("toilets:household-detail", args=[household.pk])


class HouseholdUpdateView(HouseholdCreateView):
    success_message = "农户信息已保存。"

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])


class ToiletListView(FilteredListView):
    model = Toilet
    filterset_class = ToiletFilter
    template_name = "toilets/toilet_list.html"

    def get_queryset(self):
        return super().get_queryset().select_related(*exports.TOILET_RELATED)


class ToiletExportView(ListExportView):
    kind = "export_toilets"


class ToiletDetailView(ScopedViewMixin, DetailView):
    model = Toilet
    template_name = "toilets/toilet_detail.html"

    def get_queryset(self):
        return super().get_queryset().select_related("village__parent", "household")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["history"] = self.object.history.select_related("history_user")[:30]
        return context


class HouseholdToiletCreateView(VersionedFormView):
    """A toilet registered from its household's page."""

    model = Toilet
    form_class = ToiletForm
    template_name = "toilets/toilet_form.html"
    save_function = save_toilet
    instance_kwarg = "toilet"
    success_message = "厕所已登记。"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.household = get_object_or_404(
                Household.objects.visible_to(request.user), pk=kwargs["household_pk"]
            )
        return super().dispatch(request, *args, **kwargs)

    def build_instance(self):
        return Toilet(
            kind=ToiletKind.HOUSEHOLD, household=self.household, village=self.household.village
        )

    def success_url_for(self, toilet):
        return reverse("toilets:household-detail", args=[toilet.household_id])

    def get_context_data(self, **kwargs):
        return super().get_context_data(household=self.household, **kwargs)


class PublicToiletCreateView(VersionedFormView):
    model = Toilet
    form_class = ToiletForm
    template_name = "toilets/toilet_form.html"
    save_function = save_toilet
    instance_kwarg = "toilet"
    success_message = "公厕已登记。"

    def build_instance(self):
        return Toilet(kind=ToiletKind.PUBLIC)

    def success_url_for(self, toilet):
        return reverse("toilets:toilet-detail", args=[toilet.pk])


class ToiletUpdateView(PublicToiletCreateView):
    success_message = "厕所信息已保存。"

    def get_object(self):
        return get_object_or_404(
            self.get_queryset().select_related("household"), pk=self.kwargs["pk"]
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(household=self.object.household, **kwargs)
