"""The client's IP address, shared by django-axes (login lockout) and the API throttles.

Behind nginx (``BEHIND_HTTPS_PROXY``), ``X-Forwarded-For`` ends with the address nginx saw
(``$proxy_add_x_forwarded_for`` appends it); entries further left are whatever the client sent
and can be forged. So the address is taken ``TRUSTED_PROXY_COUNT`` entries from the right.
Without a proxy the header is ignored: anyone could send it.
"""

from django.conf import settings


def client_ip(request) -> str | None:
    remote_addr = request.META.get("REMOTE_ADDR")
    if not getattr(settings, "CLIENT_IP_FROM_X_FORWARDED_FOR", False):
        return remote_addr
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote_addr
    count = max(1, getattr(settings, "TRUSTED_PROXY_COUNT", 1))
    return hops[-min(count, len(hops))]
