"""Submissions are frozen records: the admin shows them and never changes them (they move
through reports.services on the pages). Seals are uploaded on the seal page, where the image is
checked; the admin only shows them. Jobs and progress targets are entered on their own pages and looked at here."""

from django.contrib import admin

from core.web.admin import ReadOnlyAdmin

from .models import ProgressTarget, ReportJob, Seal, Submission


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    list_display = ["region", "survey_round", "kind", "version", "status", "submitted_at", "code"]
    list_filter = ["kind", "status"]
    search_fields = ["region__name", "region__code", "code", "sha256"]
    raw_id_fields = ["survey_round", "region", "submitted_by", "reviewed_by"]


@admin.register(Seal)
class SealAdmin(ReadOnlyAdmin):
    list_display = ["region", "uploaded_by", "uploaded_at"]
    search_fields = ["region__name", "region__code"]


@admin.register(ReportJob)
class ReportJobAdmin(ReadOnlyAdmin):
    list_display = ["kind", "region", "status", "done", "total", "created_by", "created_at"]
    list_filter = ["kind", "status"]


@admin.register(ProgressTarget)
class ProgressTargetAdmin(ReadOnlyAdmin):
    list_display = ["year", "village", "new_builds", "rectifications", "updated_by", "updated_at"]
    list_filter = ["year"]
    search_fields = ["village__name", "village__code"]
    raw_id_fields = ["village", "updated_by"]
