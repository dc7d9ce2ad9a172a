"""Villages by name: a ledger row may give 乡镇（街道） and 行政村（社区） names instead of the
12-digit code.

``VillageDirectory`` holds the townships and villages of one county that the importer may
see (``Region.objects.visible_to``: a township's staff only their own township) and finds a
row's village in it:

- names are compared as written (NFKC, no spaces), else by their core — the name without
  the endings 村民委员会 / 居民委员会 / 村委会 / 居委会 / 办事处 / 社区 / 村 / 街道 / 镇 / 乡 —
  so 沙埠村 finds 沙埠村村民委员会 and 沙埠 finds 沙埠村; a name as written wins over a core;
- a township name narrows the village name to that township; without it the village name
  must be unique among the villages the importer sees;
- an abolished village (``Region.abolished``) never takes new records; when a current
  village has the same name, the current one is meant;
- a name that finds nothing, or more than one village, is an error naming the closest
  names (``difflib``) — only names of the directory, so never a place outside the
  importer's region.

Where a row gives the code too, the code decides and the names must agree with it
(``disagreement``).
"""

import difflib
from collections import defaultdict
from dataclasses import dataclass

from regions.choices import Level
from regions.models import Region

from .aliases import normalized

SUGGESTIONS = 5
_ENDINGS = (
    "村民委员会",
    "居民委员会",
    "村委会",
    "居委会",
    "委员会",
    "办事处",
    "社区",
    "村",
    "街道",
    "镇",
    "乡",
)


def core(name: str) -> str:
    """`沙埠村村民委员会` → `沙埠`; never empty for a non-empty name."""
    key = normalized(name)
    while True:
        for ending in _ENDINGS:
            if key.endswith(ending) and len(key) > len(ending):
                key = key[: -len(ending)]
                break
        else:
            return key


def same_name(written: str, name: str) -> bool:
    return normalized(written) == normalized(name) or core(written) == core(name)


@dataclass(frozen=True)
class Miss:
    """Why a row's names find no village: the column to name and a Chinese message."""

    key: str  # "township_name" or "village_name"
    message: str


class _Index:
    """Regions by their name as written and by its core, for lookups in constant time."""

    def __init__(self, regions: list[Region]):
        self.regions = regions
        self.exact: dict[str, list[Region]] = defaultdict(list)
        self.core: dict[str, list[Region]] = defaultdict(list)
        for region in regions:
            self.exact[normalized(region.name)].append(region)
            self.core[core(region.name)].append(region)

    def matches(self, written: str) -> list[Region]:
        """Those named exactly ``written``, else those of the same core."""
        return self.exact.get(normalized(written)) or self.core.get(core(written), [])


class VillageDirectory:
    def __init__(self, county: Region, regions, *, where: str):
        """``regions`` is the importer's visible Region queryset; ``where`` names the
        searched area in messages (您管辖的范围内, or the county's name)."""
        self.county = county
        self.where = where
        prefix = county.code[:6]
        self.townships: list[Region] = list(
            regions.filter(code__startswith=prefix, level=Level.TOWNSHIP).order_by("code")
        )
        self.villages: list[Region] = list(
            regions.filter(code__startswith=prefix, level=Level.VILLAGE).order_by("code")
        )
        self._township_names = {t.code[:9]: t.name for t in self.townships}
        by_township: dict[str, list[Region]] = defaultdict(list)
        for village in self.villages:
            by_township[village.code[:9]].append(village)
        self._townships = _Index(self.townships)
        self._villages = _Index(self.villages)
        self._in_township = {code: _Index(found) for code, found in by_township.items()}
        self._found: dict[tuple[str, str], Region | Miss] = {}

    def township_of(self, village: Region) -> str:
        return self._township_names.get(village.code[:9], "")

    def label(self, village: Region) -> str:
        """`沙埠镇沙埠村（450702100201）`"""
        return f"{self.township_of(village)}{village.name}（{village.code}）"

    @staticmethod
    def _closest(written: str, names: list[str]) -> list[str]:
        unique = list(dict.fromkeys(names))
        close = difflib.get_close_matches(normalized(written), unique, n=SUGGESTIONS, cutoff=0.5)
        key = core(written)
        for name in unique:  # 坪山 for 坪山村社区: difflib may rate a short core low
            if len(close) < SUGGESTIONS and name not in close and key in name:
                close.append(name)
        return close

    def _suggest(self, written: str, villages: list[Region]) -> str:
        by_name = defaultdict(list)
        for village in villages:
            by_name[village.name].append(village)
        names = self._closest(written, list(by_name))
        if not names:
            return "请核对名称，或填写区划代码"
        labels = [
            f"{village.name}（{self.township_of(village)}）"
            for name in names
            for village in by_name[name]
        ]
        return f"相近的有：{'、'.join(labels[:SUGGESTIONS])}"

    def find(self, township_name: str, village_name: str) -> Region | Miss:
        """The one village the names give, or why there is none (remembered: a ledger
        names the same village in many rows)."""
        key = (normalized(township_name), normalized(village_name))
        if key not in self._found:
            self._found[key] = self._find(township_name, village_name)
        return self._found[key]

    def _find(self, township_name: str, village_name: str) -> Region | Miss:
        villages = self._villages
        township = None
        if township_name:
            townships = self._townships.matches(township_name)
            if not townships:
                names = self._closest(township_name, [t.name for t in self.townships])
                hint = f"相近的有：{'、'.join(names)}" if names else "请核对乡镇（街道）名称"
                return Miss(
                    "township_name", f"在{self.where}找不到乡镇（街道）“{township_name}”；{hint}"
                )
            if len(townships) > 1:
                listed = "、".join(f"{t.name}（{t.code}）" for t in townships)
                return Miss(
                    "township_name",
                    f"“{township_name}”对应多个乡镇（街道）：{listed}；请填写区划代码",
                )
            township = townships[0]
            villages = self._in_township.get(township.code[:9], _Index([]))
        matches = villages.matches(village_name)
        current = [v for v in matches if not v.abolished]
        if len(current) == 1:
            return current[0]
        if len(current) > 1:
            listed = "、".join(self.label(v) for v in current[:SUGGESTIONS])
            more = f"等 {len(current)} 个" if len(current) > SUGGESTIONS else ""
            ask = "请填写区划代码" if township else "请填写乡镇（街道）或区划代码"
            return Miss(
                "village_name",
                f"“{village_name}”对应多个行政村：{listed}{more}；{ask}",
            )
        if matches:
            listed = "、".join(self.label(v) for v in matches[:SUGGESTIONS])
            return Miss("village_name", f"{listed}已撤销，不能再登记")
        if township is not None:
            elsewhere = [v for v in self._villages.matches(village_name) if not v.abolished]
            if elsewhere:
                listed = "、".join(self.label(v) for v in elsewhere[:SUGGESTIONS])
                hint = f"{listed}有这个名称，请核对乡镇（街道）"
            else:
                hint = self._suggest(village_name, villages.regions)
            return Miss("village_name", f"{township.name}没有行政村“{village_name}”；{hint}")
        return Miss(
            "village_name",
            f"在{self.where}找不到行政村“{village_name}”；"
            f"{self._suggest(village_name, self.villages)}",
        )


def disagreement(village: Region, township: Region | None, township_name: str, village_name: str):
    """Where a row gives both the code and names: the column whose name does not agree with
    the code's village, and the message (None when they agree)."""
    said = f"区划代码 {village.code} 是{township.name if township else ''}{village.name}"
    if village_name and not same_name(village_name, village.name):
        return "village_name", f"“{village_name}”与区划代码不一致：{said}"
    if township_name and (township is None or not same_name(township_name, township.name)):
        return "township_name", f"“{township_name}”与区划代码不一致：{said}"
    return None
