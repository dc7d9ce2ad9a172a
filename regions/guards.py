"""What every service function raises when it refuses: a missing capability
(PermissionDenied) or a change that lost a race or no longer applies (ConflictError)."""

from django.core.exceptions import PermissionDenied

from .scoping import has_capability


class ConflictError(Exception):
    """Somebody else changed the same thing first, or it is in the wrong state; nothing was
    written."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def require(actor, capability, message):
    if not has_capability(actor, capability):
        raise PermissionDenied(message)
