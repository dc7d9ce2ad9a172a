"""Admin classes that read and write through the same scoping as every other page.

A ``ScopedAdmin`` lists only the rows ``visible_to`` the editor, and its forms offer (and
accept) only related rows inside the editor's scope: regions and register rows through their
own ``visible_to``, users through the function registered with ``register_user_choices``
(the regions app: users whose role assignment lies inside the editor's subtree). A raw-id
field is validated against the same restricted queryset, the chosen values are checked again
before saving, and a saved row the editor could not see afterwards is refused (rolled back).
"""

from collections.abc import Callable

from django.contrib import admin
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models
from django.forms import ModelChoiceField, ModelMultipleChoiceField

# Set by the app that knows where users sit (regions); until then no user may be chosen.
_user_choices: Callable | None = None


def register_user_choices(func: Callable) -> None:
    """``func(editor)`` returns the users an admin form may offer that editor."""
    global _user_choices
    _user_choices = func


def scoped_choices(user, model) -> models.QuerySet | None:
    """The rows of ``model`` that ``user`` may pick in an admin form; None: not scoped."""
    if model is get_user_model():
        if _user_choices is None:
            return model._default_manager.none()
        return _user_choices(user)
    queryset = model._default_manager.all()
    if hasattr(queryset, "visible_to"):
        return queryset.visible_to(user)
    return None


class ScopedRawIdWidget(ForeignKeyRawIdWidget):
    """A raw-id input that names the chosen row only when it is one of the editor's choices
    (a refused value is shown again without its name: no region outside the scope is named)."""

    allowed: models.QuerySet | None = None  # not "choices": the form field sets that

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        if self.allowed is not None:
            try:
                if not self.allowed.filter(**{key: value}).exists():
                    return "", ""
            except (ValueError, TypeError, ValidationError):
                return "", ""
        return super().label_and_url_for_value(value)


class ScopedAdmin(admin.ModelAdmin):
    def get_queryset(self, request):
        return self.model.objects.visible_to(request.user)

    def related_choices(self, request, db_field) -> models.QuerySet | None:
        """What a relation field may point at for this editor (subclasses narrow it further)."""
        return scoped_choices(request.user, db_field.related_model)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            choices = self.related_choices(request, db_field)
            if choices is not None:
                kwargs["queryset"] = choices
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and type(field.widget) is ForeignKeyRawIdWidget:
            field.widget.__class__ = ScopedRawIdWidget
            field.widget.allowed = field.queryset
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            choices = self.related_choices(request, db_field)
            if choices is not None:
                kwargs["queryset"] = choices
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            # An unchanged value outside the scope (a township's own parent county) may stay:
            # keeping it grants nothing. Any other value must come from the scoped choices.
            for name, field in form.base_fields.items():
                if not isinstance(field, ModelChoiceField) or isinstance(
                    field, ModelMultipleChoiceField
                ):
                    continue
                current = getattr(obj, f"{name}_id", None) if _is_fk(obj, name) else None
                if current is not None:
                    # OR-ed into the query (no lookup per field): a no-op when it is in scope.
                    kept = field.queryset.model._default_manager.filter(pk=current)
                    field.queryset = field.queryset | kept
                    if isinstance(field.widget, ScopedRawIdWidget):
                        field.widget.allowed = field.queryset
        return form

    def save_form(self, request, form, change):
        """Checks again, whatever widget sent them, that changed relations are in scope."""
        for name in form.changed_data if change else form.cleaned_data:
            field = _relation(self.model, name)
            if field is None or field.many_to_many:
                continue
            value = form.cleaned_data.get(name)
            if value is None:
                continue
            choices = self.related_choices(request, field)
            if choices is not None and not choices.filter(pk=value.pk).exists():
                raise PermissionDenied
        return super().save_form(request, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Inside the admin's transaction: a row saved out of the editor's sight is undone.
        if not self.get_queryset(request).filter(pk=form.instance.pk).exists():
            raise PermissionDenied


def _relation(model, name):
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:  # a form-only field
        return None
    return field if field.is_relation and not field.auto_created else None


def _is_fk(obj, name) -> bool:
    field = _relation(type(obj), name)
    return field is not None and (field.many_to_one or field.one_to_one)


class ReadOnlyMixin:
    """Records that only move through service calls (ledger logs, submissions, API tokens):
    shown, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyMixin, ScopedAdmin):
    pass
