from django.contrib import admin, messages

from core.web.admin import ReadOnlyMixin, ScopedAdmin

from . import services
from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyMixin, ScopedAdmin):
    """Tokens are created by their owners on the "API 令牌" page; here they are only listed
    and, if need be, revoked (for example when a user leaves or a key has leaked)."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "expires_at", "status"]
    list_filter = ["revoked_at", "expires_at"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    readonly_fields = [
        "user",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "revoked_by",
    ]
    exclude = ["key_hash"]
    actions = ["revoke"]

    @admin.display(description="状态")
    def status(self, obj):
        return obj.status_label

    def has_revoke_permission(self, request):
        return request.user.has_perm("apitokens.change_apitoken")

    @admin.action(description="撤销所选令牌", permissions=["revoke"])
    def revoke(self, request, queryset):
        count = 0
        for token in queryset:
            if token.revoked_at is None:
                services.revoke_token(actor=request.user, token_id=token.pk, as_admin=True)
                count += 1
        self.message_user(request, f"已撤销 {count} 个令牌。", messages.SUCCESS)
