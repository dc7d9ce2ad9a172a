from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist
from django.shortcuts import redirect
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX
from simple_history.admin import SimpleHistoryAdmin

from core.web.admin import ScopedAdmin
from regions.choices import EDIT_REGISTER
from regions.scoping import has_capability

from .models import Household, Toilet
from .resources import HouseholdResource, ToiletResource
from .services import save_household, save_toilet

MAX_REPORTED_ERRORS = 10


def _label(model, name: str) -> str:
    try:
        return f"{model._meta.get_field(name).verbose_name}："
    except FieldDoesNotExist:
        return ""


def import_errors(result, model) -> list[str]:
    """Every refused row as `第 3 行：身份证号：…`, the file's data rows counted from 1."""
    lines = []
    for invalid in result.invalid_rows:
        for name, problems in invalid.error_dict.items():
            lines.append(f"第 {invalid.number} 行：{_label(model, name)}{'；'.join(problems)}")
    for number, errors in result.row_errors():
        lines.extend(f"第 {number} 行：{error.error}" for error in errors)
    lines.extend(str(error.error) for error in result.base_errors)
    return lines


class RegisterAdmin(ImportExportMixin, ScopedAdmin, SimpleHistoryAdmin):
    """Admin fixes go through the same service as the pages (role, region, version, log);
    the register is never deleted (toilets are marked 已拆除 instead).

    Import and export (django-import-export) work on the user's region only: the resources
    look every village and household up through ``visible_to`` and save through the service.
    An import is all-or-nothing: any bad row and nothing is saved."""

    save_function = None
    import_formats = [XLSX, CSV]
    export_formats = [XLSX, CSV]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        type(self).save_function(actor=request.user, **{self.instance_kwarg: obj})

    def has_import_permission(self, request):
        return super().has_import_permission(request) and has_capability(
            request.user, EDIT_REGISTER
        )

    def get_resource_kwargs(self, request, *args, **kwargs):
        return {**kwargs, "user": request.user}

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        # The confirm step too: all rows or none (the dry run may have been seconds ago).
        kwargs.update(use_transactions=True, rollback_on_validation_errors=True)
        return kwargs

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            lines = import_errors(result, self.model)
            shown = "；".join(lines[:MAX_REPORTED_ERRORS])
            more = (
                f"（另有 {len(lines) - MAX_REPORTED_ERRORS} 处）"
                if len(lines) > MAX_REPORTED_ERRORS
                else ""
            )
            messages.error(request, f"导入未完成，没有保存任何数据。{shown}{more}")
            opts = self.model._meta
            return redirect(f"admin:{opts.app_label}_{opts.model_name}_import")
        return super().process_result(result, request)


@admin.register(Household)
class HouseholdAdmin(RegisterAdmin):
    list_display = ["head_name", "village", "group_name", "occupancy"]
    list_filter = ["occupancy"]
    search_fields = ["head_name", "id_number", "phone"]
    raw_id_fields = ["village"]
    save_function = save_household
    instance_kwarg = "household"
    resource_classes = [HouseholdResource]


@admin.register(Toilet)
class ToiletAdmin(RegisterAdmin):
    list_display = ["__str__", "village", "kind", "tech_type", "build_year", "status"]
    list_filter = ["kind", "tech_type", "status"]
    raw_id_fields = ["village", "household"]
    save_function = save_toilet
    instance_kwarg = "toilet"
    resource_classes = [ToiletResource]
