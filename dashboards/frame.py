"""What a dashboard shows: the round, the region (its rows: a county's townships, a township's
villages, a village itself, a city's counties) and the cut-off, read from the query string
through the scoping. A round or region the user cannot see is a 404 that names nothing."""

import datetime
from dataclasses import dataclass

from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.utils import timezone

from regions.models import Region
from regions.scoping import scope_of
from reports.build import child_rows
from surveys.choices import RoundStatus
from surveys.models import SurveyRound

OUT_OF_SCOPE = "该区划不在您的管辖范围内。"


class BadParameter(ValueError):
    """A query-string value that cannot be read (400)."""


@dataclass
class Frame:
    user: object
    survey_round: SurveyRound
    region: Region
    cutoff: datetime.datetime
    children: list[Region]
    digits: int
    cutoff_param: str = ""  # the cut-off as given in the query string ('' = now)

    @property
    def prefix(self) -> str:
        return self.region.prefix

    @property
    def today(self) -> datetime.date:
        return timezone.localdate(self.cutoff)

    def opens(self, region: Region) -> bool:
        """A row's region has a dashboard of its own for this round (not the region itself;
        on a city's dashboard only the round's own county)."""
        return region.pk != self.region.pk and related(region, self.survey_round.county)

    def params(self, **overrides) -> dict:
        params = {
            "round": self.survey_round.pk,
            "region": self.region.code,
            "cutoff": self.cutoff_param,
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v}


def visible_rounds(user):
    return SurveyRound.objects.visible_to(user).select_related("county", "template")


def default_round(user):
    """The open round of the user's county, else its latest one (a city or province user:
    of any county below it)."""
    scope = scope_of(user)
    rounds = visible_rounds(user)
    if scope.region is not None:
        rounds = rounds.filter(county__code__startswith=scope.prefix[:6])
    return (
        rounds.annotate(
            open_first=Case(
                When(status=RoundStatus.OPEN, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("open_first", "-start_date", "-id")
        .first()
    )


def parse_cutoff(raw: str):
    """``YYYY-MM-DD`` is the end of that day (county time); a full ISO time is that instant."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = datetime.date.fromisoformat(raw)
            start = datetime.datetime.combine(day, datetime.time(23, 59, 59))
            return timezone.make_aware(start)
        value = datetime.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise BadParameter("截止时间格式应为 YYYY-MM-DD。") from exc
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def related(region: Region, county: Region) -> bool:
    """The region lies in the round's county, or above it (a city or province)."""
    return region.code.startswith(county.prefix) or county.code.startswith(region.prefix)


def frame_of(user, params) -> Frame | None:
    """The frame of the query string ``params``; None when the user has no round at all."""
    scope = scope_of(user)
    if scope is None:
        raise Http404
    raw_round = (params.get("round") or "").strip()
    if raw_round:
        if not raw_round.isdigit():
            raise BadParameter("轮次参数无效。")
        survey_round = visible_rounds(user).filter(pk=int(raw_round)).first()
        if survey_round is None:
            raise Http404("该轮次不在您的管辖范围内。")
    else:
        survey_round = default_round(user)
        if survey_round is None:
            return None
    county = survey_round.county
    cutoff = parse_cutoff(params.get("cutoff", ""))
    code = (params.get("region") or "").strip()
    if code:
        region = Region.objects.visible_to(user).filter(code=code).first()
        if region is None or not related(region, county):
            raise Http404(OUT_OF_SCOPE)
    elif scope.region is not None and related(scope.region, county):
        region = scope.region
    else:
        region = county
    children, digits = child_rows(region)
    given = (params.get("cutoff") or "").strip() if cutoff else ""
    return Frame(user, survey_round, region, cutoff or timezone.now(), children, digits, given)
