"""The base every API viewset builds on: scoping through ``visible_to``, model validation,
service refusals as 400/403/409, and 409 on a stale edit."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import APIException, PermissionDenied

from core.errors import ConflictError, StaleEditError
from core.users import display_name


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "该记录已被他人修改，您的修改未保存。请重新读取后再提交。"
    default_code = "conflict"


class ScopedViewSetMixin:
    """Every list and object comes from ``Model.objects.visible_to(request.user)``: an object
    in another region is not found (404), in lists and detail alike."""

    select_related: tuple[str, ...] = ()

    def get_queryset(self):
        queryset = self.queryset.model.objects.visible_to(self.request.user)
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        return queryset


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ScopedWriteViewSet(
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """List, detail, create and update (no delete: the register keeps its history)."""


def raise_as_drf(error: DjangoValidationError):
    if hasattr(error, "error_dict"):
        detail = {
            ("non_field_errors" if key == "__all__" else key): [m for e in errs for m in e.messages]
            for key, errs in error.error_dict.items()
        }
    else:
        detail = {"non_field_errors": error.messages}
    raise serializers.ValidationError(detail)


class ModelCleanSerializer(serializers.ModelSerializer):
    """Validates with the model's own ``full_clean`` so the API refuses exactly what the pages
    refuse, and saves through a service function taking ``actor=``."""

    version = serializers.IntegerField(
        required=False, help_text="修改时带上读取到的版本号；若记录已被他人修改则返回 409。"
    )

    def build_instance(self, attrs):
        instance = self.instance if self.instance is not None else self.Meta.model()
        for key, value in attrs.items():
            setattr(instance, key, value)
        return instance

    def validate(self, attrs):
        attrs = dict(attrs)
        self._expected_version = attrs.pop("version", None)
        instance = self.build_instance(attrs)
        try:
            instance.full_clean()
        except DjangoValidationError as error:
            raise_as_drf(error)
        self._clean_instance = instance
        return attrs

    def save_instance(self, instance, *, actor, expected_version):
        raise NotImplementedError

    def _save(self):
        try:
            return self.save_instance(
                self._clean_instance,
                actor=self.context["request"].user,
                expected_version=self._expected_version,
            )
        except StaleEditError as exc:
            raise Conflict() from exc
        except DjangoValidationError as error:
            raise_as_drf(error)

    def create(self, validated_data):
        return self._save()

    def update(self, instance, validated_data):
        return self._save()


def call_service(service, **kwargs):
    """Call a service function and answer its refusals the DRF way: no capability → 403,
    invalid input → 400 (field → messages), a lost race or wrong state → 409."""
    try:
        return service(**kwargs)
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc) or None) from exc
    except DjangoValidationError as error:
        raise_as_drf(error)
    except ConflictError as exc:
        raise Conflict(exc.message) from exc


def expected_version(request):
    """The ``version`` a write request carries (None when absent), as an integer."""
    raw = request.data.get("version")
    if raw in (None, ""):
        return None
    if isinstance(raw, bool):
        raise serializers.ValidationError({"version": ["版本号应为整数。"]})
    try:
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise serializers.ValidationError({"version": ["版本号应为整数。"]}) from exc


class DisplayNameField(serializers.CharField):
    """A user shown by name (full name, else login name); null when there is none."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, user):
        return display_name(user)


class ReferenceViewSet(viewsets.ReadOnlyModelViewSet):
    """Reference data without a region (categories, templates): the same for every signed-in
    user, read-only."""
