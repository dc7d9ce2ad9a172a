"""Content-Security-Policy sources that come from settings rather than from the code.

The policy itself is ``CONTENT_SECURITY_POLICY`` in ``config/settings.py`` (django-csp):
scripts, styles, fetches and workers only from this site, no inline script or style.
``PathCSPMiddleware`` relaxes it where third-party pages need it (the admin's styles).
"""

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware
from django.conf import settings

# Leaflet's own default when a tile URL has ``{s}`` and no subdomains are configured.
LEAFLET_SUBDOMAINS = ["a", "b", "c"]


def tile_sources(url: str, subdomains: list[str] | None = None) -> list[str]:
    """The origins a Leaflet tile URL template loads images from, for ``img-src``.

    ``https://t{s}.tianditu.gov.cn/vec_w/wmts?…`` with subdomains 0–7 gives the eight
    hosts ``https://t0.tianditu.gov.cn`` … ``https://t7.tianditu.gov.cn``; a tile URL on
    this site itself (a path) or none at all adds nothing.
    """
    if not url:
        return []
    if url.startswith("//"):
        url = "https:" + url
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return []  # a path: tiles from this site, already covered by 'self'
    host = parts.netloc.rsplit("@", 1)[-1]
    if "{s}" in host:
        hosts = [host.replace("{s}", s) for s in (subdomains or LEAFLET_SUBDOMAINS)]
    else:
        hosts = [host]
    return [f"{parts.scheme}://{h}" for h in dict.fromkeys(hosts)]


class PathCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with additions for some parts of the site:
    ``CONTENT_SECURITY_POLICY_PATH_UPDATES`` maps a path prefix to the sources added there
    (e.g. ``{"/admin/": {"style-src": ["'unsafe-inline'"]}}``: third-party admin templates
    carry a few inline style attributes). A view's own ``csp_update`` still comes on top."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        updates = getattr(settings, "CONTENT_SECURITY_POLICY_PATH_UPDATES", {})
        for prefix, update in updates.items():
            if request.path_info.startswith(prefix):
                merged = {key: list(value) for key, value in update.items()}
                for key, value in (parts.update or {}).items():
                    merged.setdefault(key, []).extend(value)
                parts.update = merged
        return parts
