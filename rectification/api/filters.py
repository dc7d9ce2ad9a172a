import django_filters

from rectification.models import OverdueSnapshot
from regions.api.filters import RegionPrefixFilter


class OverdueSnapshotFilter(django_filters.FilterSet):
    region = RegionPrefixFilter("township__code")
    since = django_filters.DateFilter(label="起始日期", field_name="day", lookup_expr="gte")
    until = django_filters.DateFilter(label="截止日期", field_name="day", lookup_expr="lte")

    class Meta:
        model = OverdueSnapshot
        fields = ["region", "since", "until"]
