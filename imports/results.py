"""What an import reports back: every bad row with its column and a Chinese message, and the
counts of what was (or, in a dry run, would be) written."""

from dataclasses import dataclass, field


class ImportFileError(ValueError):
    """The file as a whole cannot be read (not an xlsx, empty, too big, a bomb, wrong
    headers): a Chinese message for the user; nothing was written."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class HeaderColumnsMissing(ImportFileError):
    """The header lacks required columns: ``missing`` (template names) and ``columns``, the
    file's header cells (``reader.LedgerSheet._file_columns``), for the mapping step."""

    def __init__(self, message: str, *, missing: list[str], columns: list[dict]):
        super().__init__(message)
        self.missing = missing
        self.columns = columns

    def as_dict(self) -> dict:
        return {"missing": list(self.missing), "columns": list(self.columns)}

    def __reduce__(self):  # it crosses from the reading child process (reader.read_ledger)
        return _header_columns_missing, (self.message, self.missing, self.columns)


def _header_columns_missing(message, missing, columns) -> HeaderColumnsMissing:
    return HeaderColumnsMissing(message, missing=missing, columns=columns)


MESSAGE_CHARS = 1000


@dataclass(frozen=True)
class RowError:
    row: int  # the spreadsheet row number, as Excel shows it on the left
    column: str  # the template column's Chinese name, or "" for the row as a whole
    message: str

    def __post_init__(self):
        # A message repeats the cell's text, which may be 32,767 characters; up to 20,000
        # errors are stored with the job.
        if len(self.message) > MESSAGE_CHARS:
            object.__setattr__(self, "message", self.message[: MESSAGE_CHARS - 1] + "…")

    def __str__(self):
        where = f"第 {self.row} 行"
        if self.column:
            where += f"“{self.column}”"
        return f"{where}：{self.message}"

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


COUNT_LABELS = {
    "rows": "数据行",
    "households_created": "新增农户",
    "households_updated": "更新农户",
    "toilets_created": "新增厕所",
    "toilets_updated": "更新厕所",
    "inspections_created": "新增摸排记录",
    "inspections_updated": "更新摸排记录",
    "entries_opened": "新增问题台账",
    "entries_updated": "更新问题台账",
    "entries_closed": "导入为已销号",
}


@dataclass
class ImportResult:
    dry_run: bool
    round_name: str = ""
    round_created: bool = False
    county_code: str = ""
    errors: list[RowError] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_LABELS, 0))
    # The sheet rows (first, last) the header was found on, and the headers of the columns
    # the import does not read (序号, 备注 …), in sheet order.
    header_rows: tuple[int, int] | None = None
    unused_columns: list[str] = field(default_factory=list)
    # A dry run's first rows as the import will store them (``imports.preview``).
    preview: list[dict] = field(default_factory=list)
    # The header mapping the file was read with (the county's remembered one and the job's
    # own): a job's import reads the file exactly as its check did.
    header_mapping: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def saved(self) -> bool:
        return self.ok and not self.dry_run

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "round": self.round_name,
            "round_created": self.round_created,
            "county": self.county_code,
            "ok": self.ok,
            "saved": self.saved,
            "errors": [e.as_dict() for e in self.errors],
            "counts": dict(self.counts),
            "header_rows": list(self.header_rows) if self.header_rows else None,
            "unused_columns": list(self.unused_columns),
            "preview": list(self.preview),
        }
