from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from core.errors import ConflictError
from core.web.api import Conflict, ScopedReadOnlyViewSet, raise_as_drf
from rectification import services
from rectification.choices import ConsentMethod
from rectification.filters import LedgerFilter, LedgerLogFilter
from rectification.models import EvidencePhoto, LedgerEntry, LedgerLog, OverdueSnapshot
from rectification.workflow import TRANSITIONS

from .filters import OverdueSnapshotFilter
from .serializers import (
    LedgerEntryDetailSerializer,
    LedgerEntrySerializer,
    LedgerLogSerializer,
    OverdueSnapshotSerializer,
    TransitionSerializer,
)

TRANSITION_DOC = (
    "Calls the same service as the pages; the answer is the entry as `retrieve` shows it. "
    "Send `version` to refuse the move (409) when someone changed the entry since it was read. "
    "Actions (capability; what the body must carry):\n\n"
    + "\n".join(
        f"- `{move.action}` {move.label} ({move.capability}; {move.needs or '-'})"
        for move in TRANSITIONS.values()
    )
)


def _consent(data) -> services.ConsentInput | None:
    """The household's consent from the request, or None when nothing of it was sent (the
    service then asks for it)."""
    signature, paper = data.get("signature"), data.get("paper_photo")
    method = data.get("consent_method") or (
        ConsentMethod.PAPER if paper and not signature else ConsentMethod.SCREEN
    )
    sent = [data.get(key) for key in ("consent_method", "signer_name", "signed_on")]
    if not any(sent) and signature is None and paper is None:
        return None
    return services.ConsentInput(
        method=method,
        signer_name=data.get("signer_name", ""),
        signed_on=data.get("signed_on"),
        image=paper if method == ConsentMethod.PAPER else signature,
    )


def _error_keys(consent) -> dict[str, str]:
    """The service's error keys that the API names differently."""
    image = "paper_photo" if consent and consent.method == ConsentMethod.PAPER else "signature"
    return {"method": "consent_method", "image": image}


class LedgerEntryViewSet(ScopedReadOnlyViewSet):
    """The problem ledger (问题台账) of the caller's region. Every close-out step is a POST to
    ``transition``: the same service call as the pages, with the same checks."""

    queryset = LedgerEntry.objects.all()
    serializer_class = LedgerEntrySerializer
    filterset_class = LedgerFilter
    select_related = ("toilet__household", "toilet__village__parent", "found_in")

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            return queryset.prefetch_related("categories")
        if self.action == "retrieve":
            return self._with_history(queryset)
        return queryset  # transition: only the lookup; the answer is read afterwards

    @staticmethod
    def _with_history(queryset):
        return queryset.prefetch_related(
            "categories",
            Prefetch("log", queryset=LedgerLog.objects.select_related("actor")),
            Prefetch(
                "photos", queryset=EvidencePhoto.objects.select_related("uploaded_by", "village")
            ),
            "checks",
            "consents",
        )

    def get_serializer_class(self):
        if self.action == "list":
            return LedgerEntrySerializer
        if self.action == "transition" and self.request.method == "POST":
            return TransitionSerializer
        return LedgerEntryDetailSerializer

    @extend_schema(
        summary="Make one move of the close-out workflow",
        description=TRANSITION_DOC,
        request={
            "application/json": TransitionSerializer,
            "multipart/form-data": TransitionSerializer,
        },
        responses={
            200: LedgerEntryDetailSerializer,
            400: OpenApiResponse(description="未知操作，或所需材料缺失、有误（按字段给出原因）"),
            403: OpenApiResponse(description="当前角色不能执行该操作"),
            404: OpenApiResponse(description="台账不存在或不在管辖范围内"),
            409: OpenApiResponse(
                description="台账当前状态不允许该操作，或已被他人处理（版本号过期）"
            ),
        },
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, MultiPartParser, FormParser])
    def transition(self, request, pk=None, format=None):
        entry = self.get_object()
        serializer = TransitionSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        move = TRANSITIONS[data["action"]]
        plan = consent = None
        if move.needs == "plan":
            current = {key: getattr(entry, key) for key in services.PLAN_FIELDS}
            sent = {key: data[key] for key in services.PLAN_FIELDS if key in data}
            plan = current | sent if move.action == "replan" else sent
        elif move.needs == "consent":
            consent = _consent(data)
        location = None
        if data.get("latitude") is not None:
            location = (data["latitude"], data["longitude"])
        try:
            services.transition(
                actor=request.user,
                entry=entry,
                action=move.action,
                expected_version=data.get("version"),
                note=data.get("note", ""),
                plan=plan,
                photos=data.get("photos", ()),
                location=location,
                checklist=data.get("checklist"),
                consent=consent,
            )
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        except ConflictError as exc:
            raise Conflict(exc.message) from exc
        except DjangoValidationError as error:
            if hasattr(error, "error_dict"):
                keys = _error_keys(consent)
                error = DjangoValidationError(
                    {keys.get(key, key): errs for key, errs in error.error_dict.items()}
                )
            raise_as_drf(error)
        entry = self._with_history(self.get_queryset()).get(pk=entry.pk)
        return Response(
            LedgerEntryDetailSerializer(entry, context=self.get_serializer_context()).data
        )


class LedgerLogViewSet(ScopedReadOnlyViewSet):
    """The ledger's change log in the caller's region, newest first. Rows never change."""

    queryset = LedgerLog.objects.all()
    serializer_class = LedgerLogSerializer
    filterset_class = LedgerLogFilter
    select_related = ("actor",)

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .prefetch_related(Prefetch("photos", queryset=EvidencePhoto.objects.only("id", "log")))
            .order_by("-at", "-id")
        )


class OverdueSnapshotViewSet(ScopedReadOnlyViewSet):
    """The daily count of overdue ledger entries per township in the caller's region (the
    dashboard's trend), newest day first."""

    queryset = OverdueSnapshot.objects.all()
    serializer_class = OverdueSnapshotSerializer
    filterset_class = OverdueSnapshotFilter
    select_related = ("township",)

    def get_queryset(self):
        return super().get_queryset().order_by("-day", "township__code")
