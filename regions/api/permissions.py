from rest_framework import permissions

from regions.guards import training_message
from regions.scoping import awaits_training, has_capability


def capability_permission(capability: str, message: str):
    """Reads for everyone in scope; writes only for roles holding ``capability`` (and, for
    the capabilities that need one, a training record on file)."""

    class CapabilityPermission(permissions.BasePermission):
        def has_permission(self, request, view):
            if request.method in permissions.SAFE_METHODS:
                return True
            if awaits_training(request.user, capability):
                self.message = training_message(capability)
                return False
            return has_capability(request.user, capability)

    CapabilityPermission.message = message
    return CapabilityPermission
