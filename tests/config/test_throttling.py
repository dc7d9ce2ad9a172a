"""API throttles (per user, per anonymous IP) and login lockouts (django-axes)."""

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apitokens import services
from core.web.client_ip import client_ip
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
THROTTLED = re.compile(r"^请求过于频繁，请 (\d+) 秒后再试。$")
LOGIN_URL = "/accounts/login/"


# --- API throttles -------------------------------------------------------------------------


def test_user_throttle_answers_429_in_chinese_with_retry_after(api, users, settings):
    settings.API_THROTTLE_RATES = {"user": "3/min", "anon": None}
    api.force_authenticate(users.surveyor)
    for _ in range(3):
        assert api.get("/api/households/").status_code == 200
    response = api.get("/api/households/")
    assert response.status_code == 429
    match = THROTTLED.match(response.json()["detail"])
    assert match, response.json()
    assert 0 < int(match.group(1)) <= 60
    assert response["Retry-After"] == match.group(1)
    # Counted per user: another user still gets through.
    api.force_authenticate(users.county)
    assert api.get("/api/households/").status_code == 200


def test_user_throttle_counts_per_user_not_per_key(api, users, settings):
    settings.API_THROTTLE_RATES = {"user": "2/min", "anon": None}
    _, key1 = services.create_token(actor=users.surveyor, name="一")
    _, key2 = services.create_token(actor=users.surveyor, name="二")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key1}")
    assert api.get("/api/households/").status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key2}")
    assert api.get("/api/households/").status_code == 200
    assert api.get("/api/households/").status_code == 429


def test_rate_is_read_at_request_time_and_none_disables(api, users, settings):
    settings.API_THROTTLE_RATES = {"user": None, "anon": None}
    api.force_authenticate(users.surveyor)
    for _ in range(5):
        assert api.get("/api/households/").status_code == 200
    settings.API_THROTTLE_RATES = {"user": "5/hour", "anon": None}
    assert api.get("/api/households/").status_code == 200  # history starts now
    for _ in range(4):
        api.get("/api/households/")
    response = api.get("/api/households/")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 60  # an hourly window


class OpenView(APIView):
    """An endpoint open to anonymous callers (the API itself has none left but /api/token/,
    which is not throttled: django-axes guards it)."""

    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"ok": True})


def test_anon_throttle_per_ip(settings):
    settings.API_THROTTLE_RATES = {"user": None, "anon": "2/min"}
    view, factory = OpenView.as_view(), APIRequestFactory()

    def get(**extra):
        return view(factory.get("/api/open/", **extra))

    assert get().status_code == 200
    assert get().status_code == 200
    response = get()
    assert response.status_code == 429
    assert THROTTLED.match(response.data["detail"])
    assert "Retry-After" in response
    # Another address is counted separately.
    assert get(REMOTE_ADDR="10.1.2.3").status_code == 200
    # Without the proxy setting, X-Forwarded-For is ignored (it could be forged).
    assert get(HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429


def test_anonymous_api_requests_still_401(api, settings):
    settings.API_THROTTLE_RATES = {"user": None, "anon": "100/min"}
    assert api.get("/api/households/").status_code == 401


def test_client_ip_behind_the_proxy(settings):
    factory = RequestFactory()
    request = factory.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.CLIENT_IP_FROM_X_FORWARDED_FOR = False
    assert client_ip(request) == "127.0.0.1"
    settings.CLIENT_IP_FROM_X_FORWARDED_FOR = True
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.7"  # the hop nginx saw, not the forged one
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "6.6.6.6"
    assert client_ip(factory.get("/", REMOTE_ADDR="127.0.0.1")) == "127.0.0.1"


# --- Login lockout (django-axes) -------------------------------------------------------------


def _fail(client, username="surveyor", **extra):
    return client.post(LOGIN_URL, {"username": username, "password": "wrong-password"}, **extra)


def _login(client, username="surveyor", **extra):
    return client.post(LOGIN_URL, {"username": username, "password": PASSWORD}, **extra)


@pytest.mark.axes
def test_login_locks_after_the_failure_limit(client, users, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        response = _fail(client)
        assert response.status_code == 200  # the login form again, with its error
    response = _fail(client)
    assert response.status_code == 429
    page = response.content.decode()
    assert "登录已暂时锁定" in page
    assert "15 分钟" in page
    assert "本县（区）系统管理员" in page
    assert "户厕摸排整改" in page  # the site's layout
    assert response["Retry-After"] == str(15 * 60)
    # The right password is refused too while locked.
    response = _login(client)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # The lock is for this username from this address only.
    assert _login(client, REMOTE_ADDR="10.0.0.2").status_code == 302
    client.logout()
    assert _login(client, username="county").status_code == 302


@pytest.mark.axes
def test_login_page_states_the_policy(client, users, settings):
    settings.AXES_FAILURE_LIMIT = 4
    page = client.get(LOGIN_URL).content.decode()
    assert "连续输错 4 次密码，账号将被锁定 15 分钟" in page


@pytest.mark.axes
def test_lock_lifts_after_the_cool_off(client, users, settings):
    settings.AXES_FAILURE_LIMIT = 2
    _fail(client)
    assert _fail(client).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    response = _login(client)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(users.surveyor.pk)
    assert not AccessAttempt.objects.exists()  # reset on success


@pytest.mark.axes
def test_reset_username_command_unlocks(client, users, settings):
    settings.AXES_FAILURE_LIMIT = 2
    _fail(client)
    _fail(client)
    assert _login(client).status_code == 429
    call_command("axes_reset_username", "surveyor")
    assert _login(client).status_code == 302


@pytest.mark.axes
def test_success_resets_the_count(client, users, settings):
    settings.AXES_FAILURE_LIMIT = 3
    _fail(client)
    _fail(client)
    assert _login(client).status_code == 302
    client.logout()
    _fail(client)
    _fail(client)
    assert _login(client).status_code == 302


@pytest.mark.axes
def test_ajax_lockout_answers_json(client, users, settings):
    settings.AXES_FAILURE_LIMIT = 1
    response = _fail(client, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 429
    assert "锁定" in response.json()["detail"]


@pytest.mark.axes
def test_api_token_endpoint_is_protected(api, users, settings):
    settings.AXES_FAILURE_LIMIT = 3
    wrong = {"username": "surveyor", "password": "wrong-password"}
    for _ in range(2):
        assert api.post("/api/token/", wrong).status_code == 400
    response = api.post("/api/token/", wrong)
    assert response.status_code == 429
    detail = response.json()["detail"]
    assert "登录失败次数过多" in detail and "15 分钟" in detail
    assert response["Retry-After"] == str(15 * 60)
    # Locked: the right password gets no token either.
    response = api.post("/api/token/", {"username": "surveyor", "password": PASSWORD})
    assert response.status_code == 429
    assert "token" not in response.json()
    # The same lock covers the login page (same username, same address).
    assert _login(api).status_code == 429


@pytest.mark.axes
def test_api_token_endpoint_with_json_body(api, users, settings):
    settings.AXES_FAILURE_LIMIT = 1
    response = api.post("/api/token/", {"username": "surveyor", "password": "x"}, format="json")
    assert response.status_code == 429
    assert "锁定" in response.json()["detail"]


@pytest.mark.axes
def test_api_token_endpoint_works_with_axes_on(api, users):
    response = api.post("/api/token/", {"username": "surveyor", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["token"]


# --- Settings from the environment ------------------------------------------------------------


def _settings_with(env):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.API_THROTTLE_RATES, s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME, s.AXES_ENABLED,"
        " s.CACHES['default']['BACKEND'], s.CLIENT_IP_FROM_X_FORWARDED_FOR)"
    )
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_defaults():
    result = _settings_with({})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "{'user': '600/min', 'anon': '60/min'} 5 0:15:00 True "
        "django.core.cache.backends.locmem.LocMemCache False"
    )


def test_from_the_environment():
    result = _settings_with(
        {
            "API_THROTTLE_USER": "1000/hour",
            "API_THROTTLE_ANON": "off",
            "AXES_FAILURE_LIMIT": "8",
            "AXES_COOLOFF_MINUTES": "30",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "BEHIND_HTTPS_PROXY": "true",
        }
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "{'user': '1000/hour', 'anon': None} 8 0:30:00 True core.cache.ForgivingRedisCache True"
    )


def test_a_bad_rate_stops_startup():
    result = _settings_with({"API_THROTTLE_USER": "lots"})
    assert result.returncode != 0
    assert "API_THROTTLE_USER must look like 600/min" in result.stderr
