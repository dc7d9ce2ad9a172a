"""Every write to API tokens: one atomic service call taking ``actor=``.

A user creates and revokes tokens for themselves only. An administrator holding the
``apitokens.change_apitoken`` permission may revoke anyone's token (the admin's revoke action).
"""

import logging
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from .models import KEY_PREFIX, PREFIX_LENGTH, ApiToken, hash_key

logger = logging.getLogger(__name__)

MAX_ACTIVE_TOKENS = 20
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length


def _new_key() -> str:
    # 32 random bytes: 43 URL-safe characters after the marker.
    return KEY_PREFIX + secrets.token_urlsafe(32)


def _check_actor(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied("请先登录。")


@transaction.atomic
def create_token(*, actor, name: str, expires_in: timedelta | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``actor``; returns it and its full key (shown once, never stored)."""
    _check_actor(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "请填写令牌用途，例如“省级平台对接”。"})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": f"用途最多 {NAME_MAX_LENGTH} 个字。"})
    if expires_in is not None and expires_in <= timedelta(0):
        raise ValidationError({"expires_in": "有效期必须大于零。"})
    # Lock the user's row so two concurrent creations cannot both pass the limit.
    get_user_model().objects.select_for_update().filter(pk=actor.pk).first()
    if ApiToken.objects.filter(user=actor).active().count() >= MAX_ACTIVE_TOKENS:
        raise ValidationError(
            f"每位用户最多同时持有 {MAX_ACTIVE_TOKENS} 个有效令牌，请先撤销不再使用的令牌。"
        )
    now = timezone.now()
    key = _new_key()
    token = ApiToken.objects.create(
        user=actor,
        name=name,
        prefix=key[:PREFIX_LENGTH],
        key_hash=hash_key(key),
        created_at=now,
        expires_at=now + expires_in if expires_in is not None else None,
    )
    logger.info(
        "API token %s (%s) created by user %s, expires %s",
        token.pk,
        token.prefix,
        actor.pk,
        token.expires_at.isoformat() if token.expires_at else "never",
    )
    return token, key


@transaction.atomic
def revoke_token(*, actor, token_id: int, as_admin: bool = False) -> ApiToken:
    """Revoke one of ``actor``'s tokens (idempotent).

    Another user's token raises ``ApiToken.DoesNotExist`` (a 404 on the page) unless
    ``as_admin`` is set and the actor holds ``apitokens.change_apitoken``.
    """
    _check_actor(actor)
    if as_admin:
        if not actor.has_perm("apitokens.change_apitoken"):
            raise PermissionDenied("您没有撤销他人令牌的权限。")
        tokens = ApiToken.objects.visible_to(actor)
    else:
        tokens = ApiToken.objects.filter(user=actor)
    tokens = tokens.select_for_update()
    token = tokens.get(pk=token_id)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.revoked_by = actor
    token.save(update_fields=["revoked_at", "revoked_by"])
    logger.info(
        "API token %s (%s) of user %s revoked by user %s",
        token.pk,
        token.prefix,
        token.user_id,
        actor.pk,
    )
    return token
