"""The "API 令牌" page: a user lists, creates and revokes their own tokens."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View

from core.web.forms import put_errors

from . import services
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
