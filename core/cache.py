"""The shared cache when Redis may be down. It holds only counters that can be lost (the API's
and the public pages' throttles), so with Redis unreachable a read misses, a write is dropped
and a counter starts again: pages and the API keep answering, unthrottled, until Redis is
back (each failure is logged). Sessions are in the database, never here."""

import functools
import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

DOWN = (RedisConnectionError, RedisTimeoutError)


def _forgiving(name: str, fallback):
    method = getattr(RedisCache, name)

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except DOWN as exc:
            logger.warning("cache %s: Redis unavailable (%s)", name, exc)
            return fallback(*args, **kwargs)

    return call


def _missing(key, *args, **kwargs):
    raise ValueError(f"Key '{key}' not found (Redis unavailable)")


class ForgivingRedisCache(RedisCache):
    """Django's RedisCache that degrades to an always-empty cache while Redis is down."""

    get = _forgiving("get", lambda key, default=None, *a, **k: default)
    get_many = _forgiving("get_many", lambda *a, **k: {})
    has_key = _forgiving("has_key", lambda *a, **k: False)
    add = _forgiving("add", lambda *a, **k: False)
    set = _forgiving("set", lambda *a, **k: None)
    set_many = _forgiving("set_many", lambda *a, **k: [])
    touch = _forgiving("touch", lambda *a, **k: False)
    delete = _forgiving("delete", lambda *a, **k: False)
    delete_many = _forgiving("delete_many", lambda *a, **k: None)
    incr = _forgiving("incr", _missing)
    clear = _forgiving("clear", lambda *a, **k: False)
