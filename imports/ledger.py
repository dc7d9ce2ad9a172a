"""Loading a county's Excel survey ledger (one row per toilet): see ``import_ledger``."""

from .results import ImportResult


def import_ledger(
    source, *, round_name: str, actor=None, dry_run: bool = False, progress=None
) -> ImportResult:
    """Read ``source`` (a path or a binary file object of an .xlsx), check every row, and —
    unless ``dry_run`` or any row is bad — write all rows in one transaction.

    ``actor`` None means the command line (no region limit); a user must hold IMPORT_LEDGER
    and may only import villages inside its own region (PermissionDenied otherwise).
    ``progress(done, total, message)`` is called now and then. Raises ImportFileError for a
    file that cannot be read at all; bad rows are returned in ``result.errors``.
    """
    raise NotImplementedError
