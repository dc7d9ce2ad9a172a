"""What every service function raises when it refuses for lack of a capability
(PermissionDenied); a change that lost a race or no longer applies is a
``core.errors.ConflictError``."""

from django.core.exceptions import PermissionDenied

from .scoping import awaits_training, has_capability

# What a role that holds the capability but has no training record on file is told.
UNTRAINED = (
    "先培训后上岗：您还没有岗前培训记录，暂不能{what}。请联系乡镇或县级管理员登记培训后再操作。"
)

WHAT = {"inspect": "录入摸排结果", "verify": "核查摸排记录"}


def training_message(capability: str) -> str:
    return UNTRAINED.format(what=WHAT.get(capability, "办理此项业务"))


def require(actor, capability, message):
    if awaits_training(actor, capability):
        raise PermissionDenied(training_message(capability))
    if not has_capability(actor, capability):
        raise PermissionDenied(message)
