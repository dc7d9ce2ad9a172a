"""Optimistic concurrency: an edit carries the ``version`` its editor read, and is refused
(StaleEditError) when the row has moved on since. Rows bump ``version`` on every change."""

from django.db.models import F

from .errors import StaleEditError


def check_version(current: int, expected: int | None, message: str | None = None) -> None:
    """Refuse when the editor read ``expected`` but the row is now at ``current`` (an edit
    without a version, e.g. from a script, is not checked)."""
    if expected is not None and current != expected:
        raise StaleEditError(message)


def lock_version(queryset, pk, *fields, expected: int | None = None, message: str | None = None):
    """Lock the row (SELECT … FOR UPDATE) and check its version; returns ``(version, *fields)``.
    Inside the caller's transaction, so nobody can change the row before it is saved."""
    values = queryset.select_for_update().filter(pk=pk).values_list("version", *fields).get()
    check_version(values[0], expected, message)
    return values


def update_if_unchanged(queryset, *, version: int | None, **changes) -> bool:
    """``UPDATE … SET version = version + 1, … WHERE <queryset> AND version = <version>``: True
    when this call moved the row, False when someone else got there first. With ``version``
    None only the queryset's own guard (e.g. the state) applies."""
    if version is not None:
        queryset = queryset.filter(version=version)
    return bool(queryset.update(version=F("version") + 1, **changes))


def save_versioned(instance, *, actor, expected_version: int | None) -> None:
    """Save ``instance`` (a model with ``version`` and simple-history), refusing if its row
    changed since ``expected_version`` was read."""
    if instance.pk is not None:
        current, *_ = lock_version(type(instance).objects, instance.pk, expected=expected_version)
        instance.version = current + 1
    instance._history_user = actor
    instance.save()
