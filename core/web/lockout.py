"""django-axes lockout answers: a Chinese page (HTML) or JSON detail, status 429."""

import logging
import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)


def cool_off_seconds(request=None) -> int | None:
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else None


def cool_off_minutes(request=None) -> int | None:
    seconds = cool_off_seconds(request)
    return math.ceil(seconds / 60) if seconds else None


def lockout_contact() -> str:
    return getattr(settings, "LOCKOUT_CONTACT", "") or "本县（区）系统管理员"


def lockout_message(request=None) -> str:
    minutes = cool_off_minutes(request)
    if minutes:
        wait = f"请 {minutes} 分钟后再试（锁定期间再次尝试会重新计时）"
    else:
        wait = "账号需由管理员解锁"
    return f"登录失败次数过多，该账号在本机已被暂时锁定。{wait}；如需立即解锁，请联系{lockout_contact()}。"


def lockout_response(request, original_response=None, credentials=None):
    """``AXES_LOCKOUT_CALLABLE``: called by AxesMiddleware for a locked-out login."""
    status = settings.AXES_HTTP_RESPONSE_CODE
    seconds = cool_off_seconds(request)
    wants_json = request.path.startswith("/api/") or (
        request.headers.get("x-requested-with") == "XMLHttpRequest"
    )
    if wants_json:
        response = JsonResponse({"detail": lockout_message(request)}, status=status)
    else:
        response = render(
            request,
            "registration/locked_out.html",
            {
                "minutes": cool_off_minutes(request),
                "failure_limit": settings.AXES_FAILURE_LIMIT,
                "contact": lockout_contact(),
            },
            status=status,
        )
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
