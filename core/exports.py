"""List exports: what a list page's 导出 Excel holds, and the registry of every export.

Each app registers its exports in ``AppConfig.ready()``:
``exports.register("export_toilets", "厕所台账", toilet_export)``, where the builder takes
``(user, params)`` and returns an ``Export`` of exactly the page's rows for that user (read
through ``visible_to``). The page's export view, the background job and the API all build an
export through ``exports.build``. Big exports run in the background through the runner the
jobs app registers (``exports.set_background``); without one they are sent at once.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from .xlsx import write_xlsx

CHUNK_SIZE = 2000
# Up to this many rows an export is sent at once; more become a job with a progress bar.
EXPORT_SYNC_MAX_ROWS = 5000


@dataclass
class Export:
    """What one list page's download holds for one user and one set of filters."""

    title: str  # the sheet's name and the file's: 厕所台账
    headers: list[str]
    count: Callable[[], int]  # how many data rows (one query)
    rows: Callable[[], Iterable[list]]  # the data rows, read lazily in chunks
    place: str = ""  # the user's region, first in the file name
    qualifiers: list[str] = field(default_factory=list)  # e.g. the round's name

    def xlsx(self, progress=None) -> bytes:
        return write_xlsx(self.title, self.headers, self.rows(), progress=progress)

    def filename(self) -> str:
        """``钦南区-厕所台账-20261123.xlsx``"""
        stamp = timezone.localdate().strftime("%Y%m%d")
        parts = [p for p in (self.place, *self.qualifiers, self.title, stamp) if p]
        return "-".join(parts).replace("/", "_") + ".xlsx"


def queryset_export(title, headers, queryset, row, *, place="", qualifiers=()) -> Export:
    """An export of one ordered queryset, one row per object (``row(obj)``)."""
    return Export(
        title=title,
        headers=headers,
        count=lambda: queryset.order_by().count(),
        rows=lambda: (row(obj) for obj in queryset.iterator(chunk_size=CHUNK_SIZE)),
        place=place,
        qualifiers=list(qualifiers),
    )


@dataclass(frozen=True)
class ExportKind:
    kind: str  # the job kind and the registry key: export_toilets
    title: str  # 厕所台账
    builder: Callable  # (user, params) -> Export


class ExportRegistry:
    def __init__(self):
        self._kinds: dict[str, ExportKind] = {}
        self._background = None

    def register(self, kind: str, title: str, builder: Callable) -> None:
        if kind in self._kinds and self._kinds[kind].builder is not builder:
            raise ValueError(f"export {kind!r} is registered twice")
        self._kinds[kind] = ExportKind(kind, title, builder)

    def __contains__(self, kind) -> bool:
        return kind in self._kinds

    def __iter__(self):
        return iter(self._kinds.values())

    def kinds(self) -> list[str]:
        return list(self._kinds)

    def build(self, kind: str, user, params) -> Export:
        """The export of ``kind`` for ``user`` and the page's ``params`` (InvalidFilter when a
        filter value is not allowed to that user)."""
        return self._kinds[kind].builder(user, params)

    def set_background(self, start: Callable) -> None:
        """``start(user, kind, params)`` queues a big export and returns its job (or None
        when it cannot, and the export is then sent at once)."""
        self._background = start

    def start_background(self, user, kind: str, params):
        return self._background(user, kind, params) if self._background else None


exports = ExportRegistry()


def sync_max_rows() -> int:
    return getattr(settings, "EXPORT_SYNC_MAX_ROWS", EXPORT_SYNC_MAX_ROWS)
