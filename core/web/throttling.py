"""API throttling with rates read from ``settings.API_THROTTLE_RATES`` at request time, and
the project's DRF exception handler (Chinese answers for throttled and locked-out requests)."""

import math

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.exceptions import ErrorDetail
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import exception_handler

from .client_ip import client_ip
from .lockout import cool_off_seconds, lockout_message


class _SettingsRate:
    """Rate from ``API_THROTTLE_RATES[scope]`` at each request; ``None`` disables the throttle."""

    def get_rate(self):
        return (getattr(settings, "API_THROTTLE_RATES", None) or {}).get(self.scope)

    def get_ident(self, request):
        return client_ip(request) or ""


class UserThrottle(_SettingsRate, UserRateThrottle):
    """Authenticated callers, counted per user (anonymous ones per IP, like DRF's class)."""

    scope = "user"


class AnonThrottle(_SettingsRate, AnonRateThrottle):
    """Anonymous callers, counted per client IP."""

    scope = "anon"


def throttled_message(wait: float | None) -> str:
    if wait is None:
        return "请求过于频繁，请稍后再试。"
    return f"请求过于频繁，请 {max(1, math.ceil(wait))} 秒后再试。"


def api_exception_handler(exc, context):
    """DRF's handler, with Chinese answers for throttled requests and axes lockouts.

    ``/api/token/`` calls ``authenticate(request=...)`` with the DRF request, so django-axes marks
    that request as locked out and the serializer reports bad credentials; the answer here is a
    429 saying so instead of the generic "unable to log in".
    """
    request = context.get("request")
    if request is not None and getattr(request, "axes_locked_out", False) is True:
        seconds = cool_off_seconds()
        response = Response(
            {"detail": ErrorDetail(lockout_message(), code="locked_out")},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
        )
        if seconds:
            response["Retry-After"] = str(seconds)
        return response

    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.Throttled):
        response.data = {"detail": ErrorDetail(throttled_message(exc.wait), code="throttled")}
    return response
