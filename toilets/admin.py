from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from regions.admin import ScopedAdmin

from .models import Household, Toilet


@admin.register(Household)
class HouseholdAdmin(ScopedAdmin, SimpleHistoryAdmin):
    list_display = ["head_name", "village", "group_name", "occupancy"]
    list_filter = ["occupancy"]
    search_fields = ["head_name", "id_number", "phone"]
    raw_id_fields = ["village"]


@admin.register(Toilet)
class ToiletAdmin(ScopedAdmin, SimpleHistoryAdmin):
    list_display = ["__str__", "village", "kind", "tech_type", "build_year", "status"]
    list_filter = ["kind", "tech_type", "status"]
    raw_id_fields = ["village", "household"]
