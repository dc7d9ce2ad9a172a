"""Personal API tokens: a user creates and revokes them for themselves.

Only a SHA-256 digest of each key is stored, with a short visible prefix so that the owner can
tell the tokens apart. The full key is shown once, at creation.
"""

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

from regions.scoping import ScopedQuerySet

KEY_PREFIX = "tl_"  # marks our keys; DRF authtoken keys are 40 hex digits
PREFIX_LENGTH = len(KEY_PREFIX) + 8  # "tl_" and 8 random characters, shown in lists


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class TokenStatus(models.TextChoices):
    ACTIVE = "active", "有效"
    EXPIRED = "expired", "已过期"
    REVOKED = "revoked", "已撤销"


class ApiTokenQuerySet(ScopedQuerySet):
    """A token lives where its owner is assigned: the admin (and an admin revoke) reach only
    the tokens of users inside their own region."""

    scope_lookup = "user__role_assignment__region__code"

    def active(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name="用户",
    )
    name = models.CharField("用途", max_length=100)
    prefix = models.CharField("前缀", max_length=PREFIX_LENGTH)
    key_hash = models.CharField("密钥摘要（SHA-256）", max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField("创建时间", default=timezone.now, editable=False)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True, editable=False)
    expires_at = models.DateTimeField("到期时间", null=True, blank=True)
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="撤销人",
        editable=False,
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API 令牌"
        verbose_name_plural = "API 令牌"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"], name="apitoken_user_created")]

    def __str__(self) -> str:
        return f"{self.name}（{self.prefix}…）"

    def status(self, now=None) -> TokenStatus:
        if self.revoked_at is not None:
            return TokenStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= (now or timezone.now()):
            return TokenStatus.EXPIRED
        return TokenStatus.ACTIVE

    @property
    def status_label(self) -> str:
        return self.status().label

    @property
    def is_active(self) -> bool:
        return self.status() == TokenStatus.ACTIVE
