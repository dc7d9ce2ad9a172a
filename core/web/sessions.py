"""The idle session timeout: a signed-in session unused for ``SESSION_IDLE_TIMEOUT`` seconds
is signed out on its next request (which then goes to the login page like any anonymous
one). The absolute limit stays Django's ``SESSION_COOKIE_AGE``; 0 turns the idle limit off.

The time of the last request is kept in the session, written at most once a minute (and at
sign-in, with the session Django writes then), so an active user costs no extra session write
on most requests.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout

LAST_SEEN_KEY = "_last_seen"
# last-seen is rewritten only when older than this (seconds), not on every request.
WRITE_RESOLUTION = 60


def mark_seen(sender, request, user, **kwargs):
    """At sign-in (``user_logged_in``, connected by ``core.apps``): the clock starts."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_SEEN_KEY] = int(time.time())


class IdleSessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = getattr(settings, "SESSION_IDLE_TIMEOUT", 0)
        user = getattr(request, "user", None)
        if limit and user is not None and user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get(LAST_SEEN_KEY)
            if isinstance(last_seen, int) and now - last_seen > limit:
                logout(request)
                messages.info(request, "您已长时间未操作，为保护数据已自动退出，请重新登录。")
            elif not isinstance(last_seen, int) or now - last_seen >= WRITE_RESOLUTION:
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)
