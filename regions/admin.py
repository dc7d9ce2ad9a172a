from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from core.web.admin import ScopedAdmin, register_user_choices

from .choices import ROLE_LEVEL, Level, Role
from .codes import LEVEL_DIGITS
from .models import Region, RoleAssignment
from .scoping import scope_of


def users_in_scope(editor):
    """Users whose role assignment lies inside the editor's subtree (every user: a global
    superuser)."""
    users = get_user_model()._default_manager.all()
    scope = scope_of(editor)
    if scope is None:
        return users.none()
    if scope.is_global:
        return users
    return users.filter(role_assignment__region__code__startswith=scope.prefix)


register_user_choices(users_in_scope)


@admin.register(Region)
class RegionAdmin(ScopedAdmin):
    list_display = ["code", "name", "level", "parent", "abolished"]
    list_filter = ["level", "abolished"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]

    def has_delete_permission(self, request, obj=None):
        return False  # regions are marked abolished, never deleted


def _depth(level) -> int:
    """How deep a level sits: the digits of its code prefix (county 6, village 12)."""
    return LEVEL_DIGITS[Level(level)]


def _role_depth(role, region) -> int:
    expected = ROLE_LEVEL.get(Role(role))
    return _depth(expected if expected else region.level)


class RoleAssignmentForm(forms.ModelForm):
    """Checks, on top of the model's own rule (role ↔ level), what this editor may grant.

    The messages name only the editor's own subtree: every region and user that reaches
    them has already passed the scoped choices."""

    editor = None  # set by RoleAssignmentAdmin.get_form

    def clean(self):
        cleaned = super().clean()
        editor = self.editor
        user, region, role = cleaned.get("user"), cleaned.get("region"), cleaned.get("role")
        if user is not None and user.pk == editor.pk:
            self.add_error("user", "不能修改自己的角色分配。")
        if editor.is_superuser:
            return cleaned
        if user is not None and user.is_superuser:
            self.add_error("user", "不能为超级管理员分配角色。")
        scope = scope_of(editor)
        if scope is None:
            raise forms.ValidationError("没有分配角色的权限。")
        if region is not None and not region.code.startswith(scope.prefix):
            self.add_error("region", "只能在本辖区内分配角色。")
        elif region is not None and role and _role_depth(role, region) <= len(scope.prefix):
            self.add_error("role", "只能分配低于本人级别的角色。")
        return cleaned


class RoleAssignmentAdmin(ScopedAdmin):
    """Staff give roles below their own, inside their own subtree: a township's staff village
    roles in its villages, a county's staff township and village roles in its county;
    superusers anything. Nobody changes or deletes their own assignment, nor one at or above
    their own level, nor a superuser's."""

    form = RoleAssignmentForm
    list_display = ["user", "role", "region"]
    list_filter = ["role"]
    search_fields = ["user__username", "region__name", "region__code"]
    raw_id_fields = ["user", "region"]

    def related_choices(self, request, db_field):
        choices = super().related_choices(request, db_field)
        if db_field.name == "user" and not request.user.is_superuser:
            scope = scope_of(request.user)
            if scope is None:
                return choices.none()
            # In-scope users assigned below the editor, and users with no role yet; never
            # the editor, a superuser, or staff without a role (only superusers place them).
            below = choices.exclude(role_assignment__region=scope.region)
            unassigned = get_user_model()._default_manager.filter(
                role_assignment__isnull=True, is_staff=False
            )
            choices = (below | unassigned).exclude(pk=request.user.pk).exclude(is_superuser=True)
        return choices

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        field = super().formfield_for_choice_field(db_field, request, **kwargs)
        if db_field.name == "role" and not request.user.is_superuser:
            scope = scope_of(request.user)
            depth = len(scope.prefix) if scope is not None else 99
            field.choices = [
                (value, label)
                for value, label in field.choices
                if not value or value == Role.INSPECTOR or _depth(ROLE_LEVEL[Role(value)]) > depth
            ]
        return field

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"editor": request.user})

    def may_manage(self, request, obj) -> bool:
        """Whether the editor may change or delete this existing assignment."""
        editor = request.user
        if obj.user_id == editor.pk:
            return False
        if editor.is_superuser:
            return True
        if obj.user.is_superuser:
            return False
        scope = scope_of(editor)
        return (
            scope is not None
            and obj.region.code.startswith(scope.prefix)
            and _role_depth(obj.role, obj.region) > len(scope.prefix)
        )

    def has_add_permission(self, request):
        if not super().has_add_permission(request):
            return False
        if request.user.is_superuser:
            return True
        scope = scope_of(request.user)
        return scope is not None and len(scope.prefix) < _depth(Level.VILLAGE)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or self.may_manage(request, obj))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or self.may_manage(request, obj))

    def save_model(self, request, obj, form, change):
        # The form has checked all this; the same rule once more on the object itself.
        if change and not self.may_manage(request, RoleAssignment.objects.get(pk=obj.pk)):
            raise PermissionDenied
        if not self.may_manage(request, obj):
            raise PermissionDenied
        super().save_model(request, obj, form, change)

    def delete_queryset(self, request, queryset):
        if not all(self.may_manage(request, obj) for obj in queryset):
            raise PermissionDenied
        super().delete_queryset(request, queryset)


admin.site.register(RoleAssignment, RoleAssignmentAdmin)
