from rest_framework import permissions

from regions.scoping import has_capability


def capability_permission(capability: str, message: str):
    """Reads for everyone in scope; writes only for roles holding ``capability``."""

    class CapabilityPermission(permissions.BasePermission):
        def has_permission(self, request, view):
            if request.method in permissions.SAFE_METHODS:
                return True
            return has_capability(request.user, capability)

    CapabilityPermission.message = message
    return CapabilityPermission
