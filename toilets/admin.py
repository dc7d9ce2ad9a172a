from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from regions.admin import ScopedAdmin

from .models import Household, Toilet
from .services import save_household, save_toilet


class RegisterAdmin(ScopedAdmin, SimpleHistoryAdmin):
    """Admin fixes go through the same service as the pages (role, region, version, log);
    the register is never deleted (toilets are marked 已拆除 instead)."""

    save_function = None

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        type(self).save_function(actor=request.user, **{self.instance_kwarg: obj})


@admin.register(Household)
class HouseholdAdmin(RegisterAdmin):
    list_display = ["head_name", "village", "group_name", "occupancy"]
    list_filter = ["occupancy"]
    search_fields = ["head_name", "id_number", "phone"]
    raw_id_fields = ["village"]
    save_function = save_household
    instance_kwarg = "household"


@admin.register(Toilet)
class ToiletAdmin(RegisterAdmin):
    list_display = ["__str__", "village", "kind", "tech_type", "build_year", "status"]
    list_filter = ["kind", "tech_type", "status"]
    raw_id_fields = ["village", "household"]
    save_function = save_toilet
    instance_kwarg = "toilet"
