from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.web.api import DisplayNameField
from reports.jobs import kind_labels
from reports.models import JobStatus, ProgressTarget, ReportJob, Submission

# {"1": n, "2": n, …}: the 33 columns' values by column number.
VALUES_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "integer"},
    "description": "各列数值，键为列号（1–33）",
}
ROWS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "区划代码"},
            "name": {"type": "string", "description": "单位名称"},
            "values": VALUES_SCHEMA,
        },
        "required": ["code", "name", "values"],
    },
}


@extend_schema_field(ROWS_SCHEMA)
class RowsField(serializers.JSONField):
    pass


@extend_schema_field(VALUES_SCHEMA)
class ValuesField(serializers.JSONField):
    pass


@extend_schema_field({"type": "object", "additionalProperties": True})
class ParamsField(serializers.JSONField):
    pass


def _absolute(context, url: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(url) if request else url


class SubmissionSerializer(serializers.ModelSerializer):
    round_name = serializers.CharField(source="survey_round.name", read_only=True)
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    rows = RowsField(read_only=True, help_text="各行数据（冻结，不再变化）")
    total = ValuesField(read_only=True, help_text="合计行")
    submitted_by = DisplayNameField()
    reviewed_by = DisplayNameField(allow_null=True)
    download = serializers.SerializerMethodField(help_text="盖章汇总表下载地址（县级报送）")

    class Meta:
        model = Submission
        fields = [
            "id", "survey_round", "round_name", "region", "region_name", "kind", "kind_display",
            "version", "status", "status_display", "cutoff", "rows", "total", "submitted_by",
            "submitted_at", "filler_name", "filler_phone", "filled_on", "reviewed_by",
            "reviewed_at", "return_reason", "code", "sha256", "download",
        ]  # fmt: skip
        read_only_fields = fields

    def get_download(self, submission) -> str | None:
        if not submission.file:
            return None
        url = reverse("reports:submission-download", args=[submission.pk])
        return _absolute(self.context, url)


class ReviewSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        max_value=2_147_483_647,
        help_text="读取到的版本号；若该乡镇已上报新版本则返回 409。",
        error_messages={"invalid": "版本号应为整数。"},
    )


class ReturnSerializer(ReviewSerializer):
    reason = serializers.CharField(help_text="退回原因，乡镇据此更正后重新上报")


class ReportJobSerializer(serializers.ModelSerializer):
    kind_display = serializers.SerializerMethodField()
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    params = ParamsField(read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    percent = serializers.IntegerField(read_only=True)
    created_by = DisplayNameField()
    download = serializers.SerializerMethodField(help_text="结果文件下载地址（完成后）")

    class Meta:
        model = ReportJob
        fields = [
            "id", "kind", "kind_display", "region", "region_name", "params", "status",
            "status_display", "done", "total", "percent", "message", "result_name",
            "created_by", "created_at", "finished_at", "download",
        ]  # fmt: skip
        read_only_fields = fields

    def get_kind_display(self, job) -> str:
        return kind_labels().get(job.kind, job.kind)

    def get_download(self, job) -> str | None:
        if job.status != JobStatus.DONE or not job.result:
            return None
        return _absolute(self.context, reverse("reports:job-download", args=[job.pk]))


class ProgressTargetSerializer(serializers.ModelSerializer):
    village = serializers.SlugRelatedField(slug_field="code", read_only=True)
    village_name = serializers.CharField(source="village.name", read_only=True)
    updated_by = DisplayNameField()

    class Meta:
        model = ProgressTarget
        fields = [
            "id", "year", "village", "village_name", "new_builds", "rectifications", "note",
            "updated_by", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields
