from django.contrib import admin

from core.web.admin import ReadOnlyAdmin

from .models import Lead, Plate, Posting, ServiceContact


@admin.register(Plate)
class PlateAdmin(ReadOnlyAdmin):
    list_display = ["number", "toilet", "issued_at", "revoked_at"]


@admin.register(Lead)
class LeadAdmin(ReadOnlyAdmin):
    list_display = ["code", "kind", "category", "state", "village", "created_at"]
    list_filter = ["kind", "state"]


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = ["village", "year", "starts_on", "ends_on", "posted_on"]


@admin.register(ServiceContact)
class ServiceContactAdmin(ReadOnlyAdmin):
    list_display = ["township", "service_phone", "complaint_phone"]
