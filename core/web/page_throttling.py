"""Throttling for the few public pages that do real work per request (the verify page's
upload), per client IP, in the shared cache. (The API's throttles are DRF's, in
``core.web.throttling``; this module stays free of DRF so that pages can import it.)"""

import math
import time

from django.core.cache import cache

from .client_ip import client_ip

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def page_throttle_wait(
    request, scope: str, rate: str | None, *, ident: str | None = None
) -> float | None:
    """Count this request of the client's IP (or of ``ident``, e.g. the toilet a public form
    is about) against ``rate`` ("10/m", "100/h"; None for no limit); the seconds to wait when
    it is over the rate, else None."""
    if not rate:
        return None
    count, _, period = rate.partition("/")
    limit, seconds = int(count), _PERIODS[period[:1]]
    now = time.time()
    window = int(now // seconds)
    who = ident if ident is not None else client_ip(request) or ""
    key = f"page-throttle:{scope}:{who}:{window}"
    cache.add(key, 0, seconds + 1)
    try:
        used = cache.incr(key)
    except ValueError:  # expired in between
        cache.set(key, 1, seconds + 1)
        used = 1
    if used <= limit:
        return None
    return (window + 1) * seconds - now


def page_throttle_message(wait: float) -> str:
    return f"操作过于频繁，请 {max(1, math.ceil(wait))} 秒后再试。"
