import django_filters

from core.web.api import ScopedReadOnlyViewSet
from regions.choices import Level
from regions.models import Region

from .serializers import RegionSerializer


class RegionFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(choices=Level.choices)
    parent = django_filters.CharFilter(field_name="parent__code", label="上级区划代码")

    class Meta:
        model = Region
        fields = ["level", "parent"]


class RegionViewSet(ScopedReadOnlyViewSet):
    """The administrative tree below the caller's own region (read-only)."""

    queryset = Region.objects.all()
    serializer_class = RegionSerializer
    select_related = ("parent",)
    filterset_class = RegionFilter
    lookup_field = "code"
