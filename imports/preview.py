"""A dry run's first rows as the import will store them, for the job page: the village's
full name, the household head (or the public toilet's name), the ID number masked unless the
importer's role sees identity (``toilets.exports.identity_masks``), the official labels of
the list values after aliases, the build year, the categories and 整改情况."""

from surveys.choices import PROBLEM_CATEGORIES
from toilets.exports import identity_masks

from .aliases import AliasColumn, official_text
from .columns import CLOSED, NOT_CLOSED

PREVIEW_ROWS = 10
CATEGORY_LABELS = {code: name for code, name, _column in PROBLEM_CATEGORIES}


def preview_rows(rows, villages: dict, actor, limit: int = PREVIEW_ROWS) -> list[dict]:
    """The first ``limit`` of ``rows`` (checked ``LedgerRow``s without errors), with
    ``villages`` (code → village) from the engine's plan. ``actor`` None (the command line)
    sees full numbers."""
    mask_id = identity_masks(actor)[0] if actor is not None else (lambda v: v or "")
    names: dict[str, str] = {}
    preview = []
    for row in rows[:limit]:
        if row.code not in names:
            village = villages.get(row.code)
            names[row.code] = village.full_name() if village is not None else row.code
        preview.append(
            {
                "row": row.number,
                "village": names[row.code],
                "kind": official_text(AliasColumn.KIND, row.kind),
                "name": row.head_name if row.is_household else row.public_name,
                "id_number": mask_id(row.id_number) if row.id_number else "",
                "tech_type": official_text(AliasColumn.TECH_TYPE, row.tech_type),
                "build_year": row.build_year,
                "usability": official_text(AliasColumn.USABILITY, row.usability),
                "categories": "、".join(CATEGORY_LABELS.get(c, c) for c in row.categories),
                "closed": (CLOSED if row.closed else NOT_CLOSED) if row.is_problem else "",
            }
        )
    return preview
