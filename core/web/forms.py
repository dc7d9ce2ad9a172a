"""Putting a service's refusal on the form the user sent."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def put_errors(form, error: ValidationError, *, renamed: dict | None = None) -> None:
    """Every message of a service's ValidationError on the form: on its field where the form
    has one (``renamed`` maps a service key to the form's field name), else on top of the
    form. All messages are shown, not only the first, so the user sees everything to fix."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    renamed = renamed or {}
    for key, errors in error.error_dict.items():
        field = renamed.get(key, key)
        target = field if field in form.fields else None
        for e in errors:
            for message in e.messages:
                form.add_error(target, message)


class ModelErrorsOnTopMixin:
    """For a ModelForm that hides some of its model's fields (a household toilet's village is
    its household's): the model's errors on a field the form does not show go on top of the
    form instead of failing."""

    def _update_errors(self, errors):
        if hasattr(errors, "error_dict"):
            placed: dict[str, list] = {}
            for key, field_errors in errors.error_dict.items():
                target = key if key in self.fields else NON_FIELD_ERRORS
                placed.setdefault(target, []).extend(field_errors)
            errors = ValidationError(placed)
        super()._update_errors(errors)


def int_or_none(value) -> int | None:
    """A posted number (a version, an id) as an int; None when absent or not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
