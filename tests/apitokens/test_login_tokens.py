"""Keys from ``POST /api/token/`` expire like personal tokens (issue 16, finding 6)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.authtoken.models import Token

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def issue(api, username="surveyor"):
    response = api.post("/api/token/", {"username": username, "password": PASSWORD})
    assert response.status_code == 200
    return response.json()


def with_key(api, key):
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def age(key, by):
    Token.objects.filter(key=key).update(created=timezone.now() - by)


def test_a_fresh_key_works_and_says_when_it_expires(api, users, settings):
    settings.AUTH_TOKEN_LIFETIME = timedelta(days=30)
    body = issue(api)
    expires_at = parse_datetime(body["expires_at"])
    assert timedelta(days=29, hours=23) < expires_at - timezone.now() <= timedelta(days=30)
    assert with_key(api, body["token"]).get("/api/households/").status_code == 200


def test_an_expired_key_gets_401(api, users, settings):
    settings.AUTH_TOKEN_LIFETIME = timedelta(days=30)
    key = issue(api)["token"]
    age(key, timedelta(days=30, seconds=1))
    response = with_key(api, key).get("/api/households/")
    assert response.status_code == 401
    assert response.json()["detail"] == "令牌已过期，请重新通过 /api/token/ 获取。"
    assert "WWW-Authenticate" in response


def test_a_key_just_inside_its_lifetime_still_works(api, users, settings):
    settings.AUTH_TOKEN_LIFETIME = timedelta(days=30)
    key = issue(api)["token"]
    age(key, timedelta(days=29, hours=23))
    assert with_key(api, key).get("/api/households/").status_code == 200


def test_asking_again_returns_the_valid_key_and_replaces_an_expired_one(api, users, settings):
    settings.AUTH_TOKEN_LIFETIME = timedelta(days=30)
    key = issue(api)["token"]
    assert issue(api)["token"] == key
    age(key, timedelta(days=31))
    new = issue(api)
    assert new["token"] != key
    assert not Token.objects.filter(key=key).exists()
    assert parse_datetime(new["expires_at"]) > timezone.now() + timedelta(days=29)
    api.credentials()
    assert with_key(api, new["token"]).get("/api/households/").status_code == 200
    assert with_key(api, key).get("/api/households/").status_code == 401


def test_the_lifetime_is_a_setting(api, users, settings):
    settings.AUTH_TOKEN_LIFETIME = timedelta(hours=1)
    key = issue(api)["token"]
    age(key, timedelta(hours=1, seconds=1))
    assert with_key(api, key).get("/api/households/").status_code == 401
