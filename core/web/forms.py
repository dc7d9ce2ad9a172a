"""Putting a service's refusal on the form the user sent."""

from django.core.exceptions import ValidationError


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
