"""The idle session timeout (issue 16, finding 6): a session unused for longer than
SESSION_IDLE_TIMEOUT is signed out on its next request; an active one is not."""

import time

import pytest
from django.urls import reverse

from core.web.sessions import LAST_SEEN_KEY

pytestmark = pytest.mark.django_db

TWO_HOURS = 2 * 60 * 60


def last_seen_ago(client, seconds):
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - seconds
    session.save()


def test_the_default_idle_limit_is_two_hours(settings):
    from config import settings as project_settings

    assert project_settings.SESSION_IDLE_TIMEOUT == TWO_HOURS


def test_a_session_idle_longer_than_the_limit_is_signed_out(client, users, settings):
    settings.SESSION_IDLE_TIMEOUT = TWO_HOURS
    client.force_login(users.township)
    assert client.get(reverse("home")).status_code == 200
    last_seen_ago(client, TWO_HOURS + 1)
    response = client.get(reverse("toilets:household-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    # Signed out for good, not just for that request; the login page says why.
    assert "_auth_user_id" not in client.session
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert "长时间未操作" in response.content.decode()


def test_an_active_session_stays_signed_in(client, users, settings):
    settings.SESSION_IDLE_TIMEOUT = TWO_HOURS
    client.force_login(users.township)
    assert client.get(reverse("home")).status_code == 200
    last_seen_ago(client, TWO_HOURS - 60)
    assert client.get(reverse("toilets:household-list")).status_code == 200
    # That request counted as activity: the clock starts again from it.
    assert int(time.time()) - client.session[LAST_SEEN_KEY] < 5
    assert client.get(reverse("home")).status_code == 200


def test_an_idle_api_session_gets_401_or_403(client, users, settings):
    settings.SESSION_IDLE_TIMEOUT = TWO_HOURS
    client.force_login(users.township)
    assert client.get("/api/households/").status_code == 200
    last_seen_ago(client, TWO_HOURS + 1)
    assert client.get("/api/households/").status_code in (401, 403)


def test_last_seen_is_not_rewritten_on_every_request(client, users, settings):
    settings.SESSION_IDLE_TIMEOUT = TWO_HOURS
    client.force_login(users.township)
    last_seen_ago(client, 10)
    seen = client.session[LAST_SEEN_KEY]
    client.get(reverse("home"))
    assert client.session[LAST_SEEN_KEY] == seen


def test_zero_turns_the_idle_limit_off(client, users, settings):
    settings.SESSION_IDLE_TIMEOUT = 0
    client.force_login(users.township)
    last_seen_ago(client, 10 * TWO_HOURS)
    assert client.get(reverse("home")).status_code == 200


def test_signing_in_starts_the_clock(client, users, settings):
    """Set with the sign-in's own session write: the first page costs no extra write."""
    settings.SESSION_IDLE_TIMEOUT = TWO_HOURS
    client.force_login(users.township)
    assert int(time.time()) - client.session[LAST_SEEN_KEY] < 5
