"""The register's pages: household and toilet lists, their exports, and the forms that
register and edit them (through ``toilets.services``). The household page (一户一档), which
shows other apps' records too, lives in ``portal``."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import DetailView, FormView

from core.errors import StaleEditError
from core.web.forms import put_errors
from core.web.views import FilteredListView, ListExportView, ScopedViewMixin
from regions.choices import EDIT_REGISTER
from regions.scoping import has_capability

from . import exports
from .choices import ToiletKind
from .filters import HouseholdFilter, ToiletFilter
from .forms import HouseholdForm, ToiletForm
from .hooks import toilet_links
from .models import Household, Toilet
from .services import save_household, save_toilet


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
        except ValidationError as error:  # e.g. the household's village has been abolished
            put_errors(form, error)
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
        # Links other apps add (the open round's 摸排, from portal).
        context["links"] = [
            link
            for links in toilet_links.send(user=self.request.user, toilet=self.object)
            for link in links
        ]
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
        # The household page puts the new toilet on top, one tap from its 摸排.
        url = reverse("toilets:household-detail", args=[toilet.household_id])
        return f"{url}?new={toilet.pk}"

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
