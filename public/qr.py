"""QR codes of plates and 公示, drawn server-side as inline SVG (segno)."""

import io

import segno
from django.conf import settings
from django.urls import reverse
from django.utils.safestring import mark_safe


def absolute_url(request, path: str) -> str:
    """``path`` on PUBLIC_BASE_URL, or on the host the request came to when it is unset."""
    base = settings.PUBLIC_BASE_URL
    return f"{base}{path}" if base else request.build_absolute_uri(path)


def plate_url(request, plate) -> str:
    return absolute_url(request, reverse("public:plate", args=[plate.token]))


def svg(url: str) -> str:
    """An SVG (no XML declaration, scalable through its viewBox) encoding ``url``."""
    out = io.BytesIO()
    segno.make_qr(url, error="m").save(
        out, kind="svg", xmldecl=False, svgns=True, nl=False, omitsize=True, border=2
    )
    return mark_safe(out.getvalue().decode())
