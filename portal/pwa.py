"""The installable web app: its manifest, its service worker and the page shown for a page
that was never opened on this phone while it had a connection.

The service worker is served from the site's root (not /static/) so that its scope is the
whole site; its text names a version made of the shell files' contents, so a change of any
of them installs a new worker.
"""

import hashlib
import json
from functools import lru_cache

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.staticfiles import finders
from django.http import HttpResponse, JsonResponse
from django.template.loader import get_template, render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.generic import TemplateView

APP_NAME = "农村户厕问题摸排整改"
SHORT_NAME = "户厕摸排"
THEME_COLOR = "#166e4a"

# What the phone keeps so that the worklist and the form open without a connection.
SHELL_FILES = [
    "css/app.css",
    "css/offline.css",
    "vendor/idb-8.0.4/idb.umd.js",
    "js/offline-queue.js",
    "js/offline.js",
    "js/page.js",
    "js/inspect.js",
    "icons/icon-192.png",
]
IDB = "vendor/idb-8.0.4/idb.umd.js"
QUEUE = "js/offline-queue.js"


@lru_cache(maxsize=1)
def shell_version() -> str:
    digest = hashlib.sha256()
    for name in SHELL_FILES:
        path = finders.find(name)
        if path:
            with open(path, "rb") as handle:
                digest.update(handle.read())
    digest.update(get_template("pwa/sw.js").template.source.encode())
    return digest.hexdigest()[:12]


@cache_control(no_cache=True, max_age=0)
def service_worker(request):
    text = render_to_string(
        "pwa/sw.js",
        {
            "version": shell_version(),
            "shell_json": json.dumps([static(name) for name in SHELL_FILES]),
            "idb_url_json": json.dumps(static(IDB)),
            "queue_url_json": json.dumps(static(QUEUE)),
            "inspect_shell_url": reverse("surveys:offline-inspect"),
            "offline_url": reverse("offline"),
        },
    )
    response = HttpResponse(text, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


@cache_control(max_age=86400)
def manifest(request):
    data = {
        "name": APP_NAME,
        "short_name": SHORT_NAME,
        "description": "农村户厕问题摸排、问题台账与整改销号；没有网络时也能录入摸排结果。",
        "lang": "zh-Hans",
        "start_url": reverse("home"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOR,
        "icons": [
            {"src": static("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("icons/maskable-192.png"),
                "sizes": "192x192",
                "type": "image/png",
                "purpose": "maskable",
            },
            {
                "src": static("icons/maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response


class OfflinePageView(LoginRequiredMixin, TemplateView):
    """What the service worker shows for a page this phone never opened: where to go instead."""

    template_name = "pwa/offline.html"
