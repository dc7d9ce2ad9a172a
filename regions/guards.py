"""What every service function raises when it refuses for lack of a capability
(PermissionDenied); a change that lost a race or no longer applies is a
``core.errors.ConflictError``."""

from django.core.exceptions import PermissionDenied

from .scoping import has_capability


def require(actor, capability, message):
    if not has_capability(actor, capability):
        raise PermissionDenied(message)
