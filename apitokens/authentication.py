"""DRF authentication with personal API tokens: ``Authorization: Bearer <key>``.

``Authorization: Token <key>`` is accepted too when the key is one of ours (it starts with
``tl_``); any other ``Token`` key is left to ``ExpiringTokenAuthentication`` (keys from
/api/token/, which expire ``AUTH_TOKEN_LIFETIME`` after they were issued).
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import (
    BaseAuthentication,
    TokenAuthentication,
    get_authorization_header,
)

from .models import KEY_PREFIX, ApiToken, TokenStatus, hash_key

# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiTokenAuthentication(BaseAuthentication):
    keywords = (b"bearer", b"token")

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        is_bearer = parts[0].lower() == b"bearer"
        if len(parts) != 2:
            if not is_bearer:
                return None  # DRF's TokenAuthentication answers for malformed "Token" headers
            raise exceptions.AuthenticationFailed("Authorization 头格式错误，应为“Bearer 令牌”。")
        try:
            key = parts[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("令牌含有无效字符。") from None
        if not key.startswith(KEY_PREFIX):
            if is_bearer:
                raise exceptions.AuthenticationFailed("令牌无效。")
            return None  # a DRF authtoken key
        return self.authenticate_key(key)

    def authenticate_key(self, key: str):
        try:
            token = ApiToken.objects.select_related("user").get(key_hash=hash_key(key))
        except ApiToken.DoesNotExist:
            raise exceptions.AuthenticationFailed("令牌无效。") from None
        now = timezone.now()
        status = token.status(now)
        if status == TokenStatus.REVOKED:
            raise exceptions.AuthenticationFailed("令牌已撤销，请在“API 令牌”页面重新创建。")
        if status == TokenStatus.EXPIRED:
            raise exceptions.AuthenticationFailed("令牌已过期，请在“API 令牌”页面重新创建。")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("该令牌所属用户已停用。")
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request):
        # Both schemes are accepted; "Token" first, as before this class existed.
        return 'Token realm="api", Bearer realm="api"'


def login_token_expires_at(token):
    """When a key from /api/token/ stops working: ``AUTH_TOKEN_LIFETIME`` after it was issued."""
    return token.created + settings.AUTH_TOKEN_LIFETIME


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's keys from /api/token/, refused once ``AUTH_TOKEN_LIFETIME`` has passed since they
    were issued (as a personal token is after its expiry date). /api/token/ then issues a new
    key; until then the old one answers 401."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if login_token_expires_at(token) <= timezone.now():
            raise exceptions.AuthenticationFailed("令牌已过期，请重新通过 /api/token/ 获取。")
        return user, token
