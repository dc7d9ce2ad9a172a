"""The region-scoping boundary: the one place that decides what a user may see.

Every page, API endpoint, export, report and task reads data through
``Model.objects.visible_to(user)``; nothing filters by region ad hoc. A user sees its
assigned region's subtree, which is a prefix of the 12-digit code (county 6, township 9,
village 12 digits). Objects outside it simply do not exist for that user (404).
"""

from dataclasses import dataclass

from django.apps import apps
from django.db import models

from .choices import NEEDS_TRAINING, ROLE_CAPABILITIES, Role

_CACHE_ATTR = "_region_scope_cache"


@dataclass(frozen=True)
class Scope:
    """What a user may see: ``prefix`` '' means everything (a superuser with no assignment)."""

    prefix: str
    role: Role | None
    region: "models.Model | None"
    # A training record is on file (先培训后上岗); NEEDS_TRAINING capabilities wait for it.
    trained: bool = True

    @property
    def is_global(self) -> bool:
        return self.prefix == ""


def scope_of(user) -> Scope | None:
    """The user's scope, or None when the user may see nothing at all."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if hasattr(user, _CACHE_ATTR):
        return getattr(user, _CACHE_ATTR)
    # Looked up by name: the models import this module (ScopedQuerySet), not the other way.
    trained = apps.get_model("regions", "TrainingRecord").objects.filter(user=user)
    assignment = (
        apps.get_model("regions", "RoleAssignment")
        .objects.select_related("region")
        .annotate(trained=models.Exists(trained))
        .filter(user=user)
        .first()
    )
    if assignment is not None:
        scope = Scope(
            prefix=assignment.region.prefix,
            role=Role(assignment.role),
            region=assignment.region,
            trained=assignment.trained,
        )
    elif user.is_superuser:
        scope = Scope(prefix="", role=None, region=None)
    else:
        scope = None
    setattr(user, _CACHE_ATTR, scope)
    return scope


def role_allows(user, capability: str) -> bool:
    """Whether the user's role carries ``capability``, whether or not it is trained yet."""
    scope = scope_of(user)
    if scope is None:
        return False
    if scope.role is None:  # superuser without an assignment
        return True
    return capability in ROLE_CAPABILITIES[scope.role]


def awaits_training(user, capability: str) -> bool:
    """The role carries ``capability`` but no training record is on file (先培训后上岗)."""
    if capability not in NEEDS_TRAINING or not role_allows(user, capability):
        return False
    scope = scope_of(user)
    return scope.role is not None and not scope.trained


def has_capability(user, capability: str) -> bool:
    return role_allows(user, capability) and not awaits_training(user, capability)


def forget_scope(user) -> None:
    """Drop the cached scope (after a role or a training record of this user changed)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


class ScopedQuerySet(models.QuerySet):
    """A queryset that knows which lookup leads to its rows' region code."""

    scope_lookup: str = ""

    def scope_prefix(self, scope: Scope) -> str:
        """The code prefix this model's rows must start with (the user's subtree)."""
        return scope.prefix

    def visible_to(self, user):
        scope = scope_of(user)
        if scope is None:
            return self.none()
        if scope.is_global:
            return self.all()
        return self.filter(**{f"{self.scope_lookup}__startswith": self.scope_prefix(scope)})


def place_of(user) -> str:
    """The user's own region's name, which names export files (nothing for a global user)."""
    scope = scope_of(user)
    return scope.region.name if scope is not None and scope.region is not None else ""
