"""The API schema's error answers, documented once for every operation.

DRF answers every refusal with a JSON body: ``{"detail": "…"}`` for 401, 403, 404, 405, 409,
415 and 429, and ``{field: ["…", …]}`` for a validation error (400; a malformed body gives
``{"detail": …}`` there too). ``AutoSchema`` adds those answers to each operation, as far as
that operation can give them, with a body schema, so generated clients and the schema fuzzer
know every status code the API may send. It also bounds integer and number parameters to what
the database columns hold (ids are 32-bit), so a generated id never overflows a query.
"""

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import permissions, serializers, viewsets

INT_MAX = 2_147_483_647
INT_MIN = -2_147_483_648

ERROR_DETAIL = "ErrorDetail"
VALIDATION_ERROR = "ValidationError"

ERROR_SCHEMAS = {
    ERROR_DETAIL: {
        "type": "object",
        "description": "A refusal with one message (in Simplified Chinese where ours).",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    VALIDATION_ERROR: {
        "type": "object",
        "description": "Invalid input: each offending field (or `non_field_errors`) with its "
        "messages; a list field's items are keyed by their index.",
        "additionalProperties": {
            "anyOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "object", "additionalProperties": True},
            ]
        },
    },
}

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

DESCRIPTIONS = {
    "400": "请求参数或内容有误（按字段给出原因）",
    "401": "未登录或令牌无效",
    "403": "当前角色无权执行该操作",
    "404": "记录不存在或不在管辖范围内（列表：页码超出范围）",
    "409": "记录已被他人修改（版本号过期），或当前状态不允许该操作",
    "415": "不支持的请求内容类型",
    "429": "请求过于频繁，请稍后再试",
}


class AutoSchema(openapi.AutoSchema):
    def _error_ref(self, name: str) -> dict:
        component = ResolvedComponent(
            name=name,
            type=ResolvedComponent.SCHEMA,
            object=f"config.openapi.{name}",
            schema=ERROR_SCHEMAS[name],
        )
        self.registry.register_on_missing(component)
        return component.ref

    def _requires_permission(self) -> bool:
        perms = [p.__class__ for p in self.view.get_permissions()]
        return bool(perms) and permissions.AllowAny not in perms

    def _error_codes(self) -> list[str]:
        """The error status codes this operation can answer with."""
        has_path_params = "{" in self.path
        is_list = self.method == "GET" and self._is_list_view()
        is_write = self.method in WRITE_METHODS
        is_viewset = isinstance(self.view, viewsets.ViewSetMixin)
        codes = ["401"]  # a bad or expired token is refused on every endpoint
        if self._requires_permission():
            codes.append("403")
        if has_path_params or is_list:
            codes.append("404")
        if is_write or is_list:
            codes.append("400")
        if is_write and is_viewset:
            codes.append("409")
        if self.method in {"POST", "PUT", "PATCH"}:
            codes.append("415")
        codes.append("429")
        return codes

    def _error_content(self, code: str) -> dict:
        detail = self._error_ref(ERROR_DETAIL)
        if code == "400":
            schema = {"anyOf": [self._error_ref(VALIDATION_ERROR), detail]}
        else:
            schema = detail
        return {"application/json": {"schema": schema}}

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            response = responses.setdefault(code, {"description": DESCRIPTIONS[code]})
            if not response.get("content"):
                response["content"] = self._error_content(code)
            if not response.get("description"):
                response["description"] = DESCRIPTIONS[code]
        return dict(sorted(responses.items()))

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            isinstance(field, serializers.ChoiceField)
            and "" not in schema.get("enum", [""])
            and _blank_model_field(field)
        ):
            # DRF drops allow_blank from read-only model fields, but a blank choice
            # (e.g. a plan not made yet) is still answered as "".
            schema["enum"] = [*schema["enum"], ""]
        return schema

    def _get_parameters(self):
        parameters = super()._get_parameters()
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if schema.get("type") in ("integer", "number"):
                if parameter["in"] == "path" or parameter["name"] in ("page", "page_size"):
                    schema.setdefault("minimum", 1)
                schema.setdefault("minimum", INT_MIN)
                schema.setdefault("maximum", INT_MAX)
        return parameters


def _blank_model_field(field) -> bool:
    """Whether a serializer field shows a model's text field that may be blank."""
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not field.source or "." in field.source or field.source == "*":
        return False
    try:
        model_field = model._meta.get_field(field.source)
    except FieldDoesNotExist:
        return False
    return isinstance(model_field, models.CharField | models.TextField) and model_field.blank
