"""Filter pieces the API resources share. Every related object a filter names is looked up
within the caller's scope, so another region's code or id is an invalid choice (400), never a
hint that it exists."""

import django_filters
from drf_spectacular.utils import extend_schema_field

from regions.filters import scoped
from regions.models import Region


@extend_schema_field({"type": "string", "pattern": r"^\d{12}$", "example": "450702100000"})
class RegionPrefixFilter(django_filters.ModelChoiceFilter):
    """``?region=<12-digit code>``: the rows inside that region's subtree (the region must be
    in the caller's own subtree). ``field_name`` is the lookup leading to a region code."""

    def __init__(self, field_name, **kwargs):
        kwargs.setdefault("label", "区划代码（含下级）")
        super().__init__(
            field_name=field_name,
            queryset=scoped(Region),
            to_field_name="code",
            **kwargs,
        )

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        return qs.filter(**{f"{self.field_name}__startswith": value.prefix})


def date_range(field_name: str) -> tuple:
    """``?since=`` and ``?until=`` (inclusive dates) on a datetime field:
    ``since, until = date_range("created_at")`` in a FilterSet."""
    return (
        django_filters.DateFilter(label="起始日期", field_name=field_name, lookup_expr="date__gte"),
        django_filters.DateFilter(label="截止日期", field_name=field_name, lookup_expr="date__lte"),
    )


class MineFilter(django_filters.BooleanFilter):
    """``?mine=true``: only the caller's own rows (``field_name`` leads to a user)."""

    def __init__(self, field_name, **kwargs):
        kwargs.setdefault("label", "只看本人的")
        super().__init__(field_name=field_name, **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        mine = {self.field_name: self.parent.request.user}
        return qs.filter(**mine) if value else qs.exclude(**mine)
