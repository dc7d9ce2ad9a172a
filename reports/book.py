"""一村一册: a village's printable book, built by a report job for one person.

One self-contained HTML file (styles inline, photos as JPEG data URIs): it opens in any
browser without a network or a login, prints on A4 (``@page``, a page break per household)
and is saved as PDF with the browser's 打印 → 另存为 PDF. No PDF library or browser runs on
the server. A zip of an HTML file and its images would be a quarter smaller but breaks where
people open it (a zip opened in place shows the page without its pictures).

Size: each photo is its stored thumbnail (at most 360 px, JPEG quality 80, typically
15–30 KB), base64 adds a third; a signature is scaled down to ``CONSENT_MAX_SIDE``. A village
of 400 households with 3 photos each is about 1,200 × 25 KB × 4/3 ≈ 40 MB, plus about 5 KB of
text per household. ``IMAGE_BUDGET`` bounds any village: past it, photos are named but not
embedded, and the job's message says how many.

1. the cut-off, the village's row of the 33-column summary (``build_summary`` for the village,
   read through the person's scoping) and the round's problem toilets in the village
   (``round_entries``, the rows behind columns 6–33), with their states;
2. the cover, the summary page and the table of contents;
3. one page per household, ``CHUNK`` households at a time through
   ``rectification.queries.household_story`` (what 一户一档 shows, with the entries' evidence),
   written to ``out`` as it goes so that memory holds one chunk's photos at a time;
4. the end of the document.

ID and phone numbers are shown in full only to a person whose role holds SEE_IDENTITY, as on
the household page; the file is therefore downloadable by its creator only
(``reports.queries.jobs_visible_to``).
"""

import base64
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html
from PIL import Image

from core.users import display_name
from rectification.choices import LedgerState, PhotoKind
from rectification.queries import household_story
from rectification.workflow import action_label
from regions.choices import SEE_IDENTITY, Level
from regions.models import Region
from regions.scoping import has_capability
from surveys.choices import RoundStatus
from surveys.models import SurveyRound
from toilets.models import Household

from .build import build_summary, round_entries
from .columns import COLUMNS, HEADER, column_titles
from .queries import bucket_labels

VILLAGE_BOOK = "village_book"
LABEL = "一村一册（打印版）"
CHUNK = 25  # households per read (a fixed number of queries each) and per progress step
IMAGE_BUDGET = 60 * 1024 * 1024  # photo bytes embedded in one book, before base64
CONSENT_MAX_SIDE = 480
MISSING = "文件缺失"
OVER_BUDGET = "超出本册容量，未嵌入"


@dataclass
class Shot:
    """A photo as the book prints it: the data URI, or why there is none."""

    uri: str
    caption: str
    missing: str = ""


class Images:
    """Reads stored photos into data URIs, within ``IMAGE_BUDGET`` bytes for the whole book."""

    def __init__(self, budget: int | None = None):
        self.budget = IMAGE_BUDGET if budget is None else budget
        self.used = 0
        self.embedded = 0
        self.left_out = 0
        self.missing = 0

    def shot(self, field, caption: str, *, scale: bool = False) -> Shot:
        if self.used >= self.budget:
            self.left_out += 1
            return Shot("", caption, OVER_BUDGET)
        try:
            with field.storage.open(field.name, "rb") as f:
                data = f.read()
            if scale:
                data = _scaled_jpeg(data)
        except (OSError, ValueError, Image.DecompressionBombError):
            self.missing += 1
            return Shot("", caption, MISSING)
        self.used += len(data)
        self.embedded += 1
        return Shot(f"data:image/jpeg;base64,{base64.b64encode(data).decode()}", caption)


def _scaled_jpeg(data: bytes) -> bytes:
    """A stored image (ours, re-encoded on upload) as a JPEG of at most CONSENT_MAX_SIDE px,
    over white where it was transparent."""
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((CONSENT_MAX_SIDE, CONSENT_MAX_SIDE))
        rgba = image.convert("RGBA")
    canvas = Image.new("RGB", rgba.size, "white")
    canvas.paste(rgba, mask=rgba.getchannel("A"))
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


# What the pages offer ---------------------------------------------------------------------


def book_rounds(user, village: Region) -> list[SurveyRound]:
    """The rounds a book of ``village`` can be made for: the opened rounds of its county the
    user sees, newest first."""
    return list(
        SurveyRound.objects.visible_to(user)
        .filter(county__code__startswith=village.code[:6])
        .exclude(status=RoundStatus.DRAFT)
        .order_by("-opened_at", "-id")
    )


def book_villages(user, region: Region) -> list[tuple[str, list[Region]]]:
    """The villages under ``region`` the user sees, grouped by township (one query)."""
    groups: dict[str, list[Region]] = {}
    for village in (
        Region.objects.visible_to(user)
        .villages()
        .filter(code__startswith=region.prefix)
        .select_related("parent")
        .order_by("code")
    ):
        groups.setdefault(village.parent.name if village.parent else "", []).append(village)
    return list(groups.items())


def book_filename(village: Region, survey_round, cutoff) -> str:
    stamp = timezone.localtime(cutoff).strftime("%Y%m%d")
    return f"{village.name}-{survey_round.name}-一村一册-{stamp}.html".replace("/", "_")


# The book ---------------------------------------------------------------------------------


@dataclass
class BookResult:
    households: int
    images: Images
    cutoff: object


def summary_items(values: dict[int, int], labels: list[str]) -> list[dict]:
    """The village's row of the table as a list (column, where it sits, its title, value): the
    33 columns do not fit across an A4 page."""
    titles = column_titles(labels)
    places: dict[int, str] = {}

    def walk(group, path):
        if not group.children:
            places[group.first] = " · ".join(path)
        for child in group.children:
            walk(child, [*path, group.title])

    for group in HEADER:
        walk(group, [])
    return [
        {"column": c, "place": places.get(c, ""), "title": titles[c], "value": values.get(c, 0)}
        for c in COLUMNS
    ]


def build_book(
    user,
    village: Region,
    survey_round,
    out,
    progress: Callable[[int, int, str], None] = lambda done, total, message: None,
) -> BookResult:
    """Write the book of ``village`` for ``survey_round`` to ``out`` (a binary file), read
    through ``user``'s scoping; ``progress(done, total, message)`` after each step."""
    cutoff = timezone.now()
    household_ids = _in_book_order(
        Household.objects.visible_to(user)
        .filter(village=village)
        .order_by("id")
        .values_list("id", "head_name", "group_name")
    )
    total = len(household_ids) + 2
    progress(0, total, "正在汇总本村数据…")

    # 1. the summary row and the problem toilets behind it
    summary = build_summary(survey_round, village, cutoff, user=user)
    values = summary.rows[0].values if summary.rows else dict.fromkeys(COLUMNS, 0)
    problems = list(
        round_entries(survey_round, cutoff, user)
        .filter(toilet__village=village)
        .select_related("toilet__household")
        .prefetch_related("categories")
        .order_by("toilet__household__group_name", "toilet__household_id", "toilet_id")
    )
    states = Counter(entry.state for entry in problems)
    ancestors = village.ancestors()
    show_identity = has_capability(user, SEE_IDENTITY)
    progress(1, total, "正在生成封面和汇总页…")

    # 2. the cover, the summary and the contents
    context = {
        "village": village,
        "full_name": "".join(a.name for a in ancestors if a.level != Level.PROVINCE) + village.name,
        "township": next((a for a in ancestors if a.level == Level.TOWNSHIP), None),
        "round": survey_round,
        "cutoff": cutoff,
        "maker": display_name(user),
        "household_count": len(household_ids),
        "figures": {
            "toilets": values[1],
            "problems": values[6] + values[9],
            "closed": values[29] + values[32],
            "open": values[33],
        },
        "items": summary_items(values, bucket_labels(survey_round)),
        "errors": summary.errors,
        "problems": problems,
        "states": [(label, states[value]) for value, label in LedgerState.choices if states[value]],
        "contents": [
            {"id": pk, "head_name": name, "group_name": group} for pk, name, group in household_ids
        ],
        "show_identity": show_identity,
        # Inline, so that the file stands alone; the site's pages never carry inline styles
        # (CSP), and this file is never one of them: it is downloaded and opened from disk.
        "style": format_html("<style>\n{}</style>", render_to_string("reports/book/book.css")),
    }
    out.write(render_to_string("reports/book/start.html", context).encode())
    progress(2, total, f"正在生成各户档案，共 {len(household_ids)} 户…")

    # 3. one page per household
    images = Images()
    households = Household.objects.visible_to(user)
    done = 0
    for start in range(0, len(household_ids), CHUNK):
        ids = [pk for pk, _, _ in household_ids[start : start + CHUNK]]
        chunk = household_story(households.filter(pk__in=ids), user, evidence=True)
        order = {pk: i for i, pk in enumerate(ids)}
        for household in sorted(chunk, key=lambda h: order[h.pk]):
            page = {
                "household": household,
                "toilets": [_toilet(t, images) for t in household.toilets.all()],
                "show_identity": show_identity,
            }
            out.write(render_to_string("reports/book/household.html", page).encode())
        done += len(ids)
        progress(2 + done, total, f"已生成 {done} / {len(household_ids)} 户…")

    # 4. the end
    out.write(render_to_string("reports/book/end.html", {"images": images}).encode())
    return BookResult(len(household_ids), images, cutoff)


def _in_book_order(rows) -> list[tuple[int, str, str]]:
    """Households (id, head, group) by 村民小组, each group where its first household was
    registered, then in registration order (names of groups such as 第二组 and 第三组 do not
    sort by their characters' codes)."""
    rows = list(rows)
    first: dict[str, int] = {}
    for pk, _, group in rows:
        first.setdefault(group, pk)
    return sorted(rows, key=lambda row: (first[row[2]], row[0]))


def _toilet(toilet, images: Images) -> dict:
    inspections = []
    for inspection in toilet.inspections.all():
        inspections.append(
            {
                "inspection": inspection,
                "categories": "、".join(c.name for c in inspection.categories.all()),
                "surveyor": display_name(inspection.surveyor),
                "photos": [
                    images.shot(p.thumbnail, _when(p.taken_at) or "现场照片")
                    for p in inspection.photos.all()
                ],
            }
        )
    return {
        "toilet": toilet,
        "inspections": inspections,
        "entries": [_entry(e, images) for e in toilet.ledger_entries.all()],
    }


def _entry(entry, images: Images) -> dict:
    log, after, checks, consents = [], [], [], []
    for row in entry.log.all():
        to_state = row.get_to_state_display()
        verb = action_label(row.action) if row.action else "登记"
        if not row.from_state:
            what = f"{verb}（{to_state}）"
        elif row.from_state != row.to_state:
            what = f"{verb}：{row.get_from_state_display()} → {to_state}"
        else:
            what = f"{verb}（{to_state}）"
        log.append({"at": row.at, "who": display_name(row.actor), "what": what, "note": row.note})
        for photo in row.photos.all():
            if photo.kind == PhotoKind.AFTER:
                caption = _when(photo.taken_at)
                if photo.is_far:
                    caption += f"（距厕所登记位置 {photo.distance_m} 米）"
                after.append(images.shot(photo.thumbnail, caption or "整改后照片"))
        checks += list(row.checks.all())
        consent = getattr(row, "consent", None)
        if consent is not None:
            caption = f"{consent.signer_name} · {consent.signed_on:%Y-%m-%d}"
            consents.append(
                {
                    "consent": consent,
                    "shot": images.shot(consent.image, caption, scale=True),
                }
            )
    return {
        "entry": entry,
        "categories": "、".join(c.name for c in entry.categories.all()),
        "log": log,
        "after": after,
        "checks": checks,
        "checks_failed": sum(1 for c in checks if not c.passed),
        "consents": consents,
        "closed": entry.state == LedgerState.CLOSED,
    }


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""
