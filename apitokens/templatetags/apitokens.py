from django import template
from django.conf import settings

from core.web.lockout import cool_off_minutes

register = template.Library()


@register.simple_tag
def login_policy() -> dict:
    """The login lockout policy, for a hint on the login page (empty when axes is off)."""
    if not getattr(settings, "AXES_ENABLED", False):
        return {}
    limit = getattr(settings, "AXES_FAILURE_LIMIT", None)
    return {
        "failure_limit": limit if isinstance(limit, int) else None,
        "minutes": cool_off_minutes(),
    }
