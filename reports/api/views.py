"""Submissions of the summary table, report jobs and the 整村推进 targets in the API, all
limited to the caller's region subtree."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from core.web.api import ScopedReadOnlyViewSet, call_service
from reports import services
from reports.models import ProgressTarget, ReportJob, Submission
from reports.queries import jobs_visible_to

from .filters import ProgressTargetFilter, ReportJobFilter, SubmissionFilter
from .serializers import (
    ProgressTargetSerializer,
    ReportJobSerializer,
    ReturnSerializer,
    ReviewSerializer,
    SubmissionSerializer,
)


class SubmissionViewSet(ScopedReadOnlyViewSet):
    """Summary tables sent up (frozen): a township sees its own versions, the county its
    townships' and its own stamped tables. The county accepts or returns a township's pending
    version."""

    queryset = Submission.objects.all()
    serializer_class = SubmissionSerializer
    filterset_class = SubmissionFilter
    select_related = ("survey_round", "region", "submitted_by", "reviewed_by")

    def get_queryset(self):
        return super().get_queryset().defer("sources")

    def _review(self, request, service, serializer_class, **extra):
        submission = self.get_object()
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        call_service(
            service,
            actor=request.user,
            submission=submission,
            expected_version=data.get("version"),
            **{key: data[key] for key in extra},
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=submission.pk)).data)

    @extend_schema(
        summary="Accept a township's pending version",
        request=ReviewSerializer,
        responses=SubmissionSerializer,
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None, format=None):
        return self._review(request, services.accept_submission, ReviewSerializer)

    @extend_schema(
        summary="Return a township's pending version with a reason",
        request=ReturnSerializer,
        responses=SubmissionSerializer,
    )
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None, format=None):
        return self._review(request, services.return_submission, ReturnSerializer, reason=True)


class ReportJobViewSet(ScopedReadOnlyViewSet):
    """Report builds and exports run in the background for the caller's region (as on the jobs
    page); ``mine=true`` keeps the caller's own."""

    queryset = ReportJob.objects.all()
    serializer_class = ReportJobSerializer
    filterset_class = ReportJobFilter
    select_related = ("region", "created_by")

    def get_queryset(self):
        # Export jobs only to the person who started them, as on the jobs page.
        return (
            jobs_visible_to(self.request.user)
            .select_related(*self.select_related)
            .order_by("-created_at", "-id")
        )


class ProgressTargetViewSet(ScopedReadOnlyViewSet):
    """The villages of the 整村推进 programme and their yearly targets in the caller's
    region."""

    queryset = ProgressTarget.objects.all()
    serializer_class = ProgressTargetSerializer
    filterset_class = ProgressTargetFilter
    select_related = ("village", "updated_by")

    def get_queryset(self):
        return super().get_queryset().order_by("-year", "village__code")
