"""The city's and the province's picture of the units below them (各县区/各市进度总览): per
county its current round (the open one, else the latest opened) and the live 33 columns read
through the village rollups; per city the sum of its counties. The collecting unit's latest
collection shows who has delivered. Paged: a province's page reads at most ``PER_PAGE``
cities' counties at a time."""

from dataclasses import dataclass, field

from django.utils import timezone

from regions.choices import Level
from regions.models import Region
from surveys.models import SurveyRound
from surveys.queries import current_rounds

from .chain import BELOW, latest_deliveries
from .columns import COLUMNS
from .models import Collection
from .rollups import STORED, counties_counts

PER_PAGE = 20
# The figures a row shows, by column: 农村厕所总数, 问题户厕, 问题公厕, 已整改户厕, 已整改公厕, 未完成.
SHOWN = (1, 6, 9, 29, 32, 33)
KEYS = [str(column) for column in STORED]  # a rollup's stored columns, as its JSON keys


@dataclass
class UnitRow:
    region: Region
    rounds: list[SurveyRound] = field(default_factory=list)
    values: dict[int, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))
    delivery: object = None

    @property
    def problems(self) -> int:
        return self.values[6] + self.values[9]

    @property
    def rectified(self) -> int:
        return self.values[29] + self.values[32]

    @property
    def rate(self) -> str:
        """整改完成率, as printed (— without problems)."""
        return f"{self.rectified * 100 / self.problems:.1f}%" if self.problems else "—"

    @property
    def shown(self) -> list[int]:
        return [self.values[c] for c in SHOWN]


def totals(counted: dict[str, dict]) -> dict[int, int]:
    """A county's 合计 of the live table from its villages' rollups (column 33 derived as the
    build derives it)."""
    sums = dict.fromkeys(KEYS, 0)
    for village in counted.values():
        for key in KEYS:
            sums[key] += village[key]
    values = dict.fromkeys(COLUMNS, 0)
    values.update({int(key): value for key, value in sums.items()})
    values[33] = values[6] + values[9] - values[29] - values[32]
    return values


def latest_collection(user, region: Region) -> Collection | None:
    return Collection.objects.visible_to(user).filter(region=region).order_by("-deadline").first()


def unit_rows(user, region: Region, children: list[Region], collection=None) -> list[UnitRow]:
    """One row per child of ``region`` (counties of a city, cities of a province), with its
    delivery to ``collection`` (the region's latest, ``latest_collection``) when given."""
    now = timezone.now()
    rows = {child.pk: UnitRow(child) for child in children}
    if region.level == Level.CITY:
        counties = {child.pk: child for child in children}
        owner = {pk: pk for pk in counties}
    else:
        county_list = Region.objects.visible_to(user).filter(
            level=Level.COUNTY, parent__in=children, abolished=False
        )
        counties = {county.pk: county for county in county_list}
        owner = {county.pk: county.parent_id for county in counties.values()}
    rounds = current_rounds(list(counties))
    counted = counties_counts(rounds, counties, region.prefix, now)
    for county_pk, survey_round in sorted(rounds.items(), key=lambda kv: counties[kv[0]].code):
        row = rows[owner[county_pk]]
        row.rounds.append(survey_round)
        for column, value in totals(counted[county_pk]).items():
            row.values[column] += value
    if collection is not None:
        deliveries = latest_deliveries(user, collection)
        for row in rows.values():
            row.delivery = deliveries.get(row.region.pk)
    return [rows[child.pk] for child in children]


def children_of(user, region: Region):
    return (
        Region.objects.visible_to(user)
        .filter(parent=region, level=BELOW[Level(region.level)], abolished=False)
        .order_by("code")
    )
