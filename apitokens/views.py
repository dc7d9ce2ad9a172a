"""The "API 令牌" page: a user lists, creates and revokes their own tokens."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response

from core.web.forms import put_errors

from . import services
from .authentication import login_token_expires_at
from .forms import TokenCreateForm
from .models import ApiToken


class TokenListView(LoginRequiredMixin, View):
    template_name = "apitokens/token_list.html"

    def render_page(self, request, form, *, new_key=None, new_token=None, status=200):
        tokens = ApiToken.objects.filter(user=request.user)
        response = render(
            request,
            self.template_name,
            {"form": form, "tokens": tokens, "new_key": new_key, "new_token": new_token},
            status=status,
        )
        # The page may carry a key shown once: never keep it in a cache.
        response["Cache-Control"] = "no-store"
        return response

    def get(self, request):
        return self.render_page(request, TokenCreateForm())

    def post(self, request):
        form = TokenCreateForm(request.POST)
        if form.is_valid():
            try:
                token, key = services.create_token(
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    expires_in=form.expires_in(),
                )
            except ValidationError as exc:
                put_errors(form, exc)
            else:
                # Rendered directly (not redirected): the key exists only in this response.
                return self.render_page(request, TokenCreateForm(), new_key=key, new_token=token)
        return self.render_page(request, form, status=400)


class TokenRevokeView(LoginRequiredMixin, View):
    def post(self, request, pk):
        try:
            token = services.revoke_token(actor=request.user, token_id=pk)
        except ApiToken.DoesNotExist:
            raise Http404("没有这个令牌。") from None
        messages.success(
            request, f"已撤销令牌“{token.name}”（{token.prefix}…），它不能再调用接口。"
        )
        return redirect("apitokens:list")


class IssuedTokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True, help_text="到期时间，到期后需重新获取")


class ObtainExpiringAuthToken(ObtainAuthToken):
    """``POST /api/token/`` (username and password): the user's key and when it expires. A key
    past its lifetime is replaced by a new one; a valid one is returned as it is."""

    @extend_schema(request=AuthTokenSerializer, responses=IssuedTokenSerializer)
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, _created = Token.objects.get_or_create(user=user)
        if login_token_expires_at(token) <= timezone.now():
            token.delete()
            token = Token.objects.create(user=user)
        return Response({"token": token.key, "expires_at": login_token_expires_at(token)})
