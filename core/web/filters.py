"""Building a django-filter FilterSet the same way for a page, its export, a job and the API:
over the rows the user may see, with an invalid value never falling back to everything."""

from django.http import Http404


class InvalidFilter(Http404):
    """A filter value the user may not use (e.g. another region's village, an invalid date):
    nothing to export, as for any object the user cannot see (404 on a page)."""

    def __init__(self, message="筛选条件无效或超出您的管辖范围。"):
        super().__init__(message)


class Caller:
    """What the filtersets read from a request (its user), for a page, an export or a job
    alike: all three build the same filterset for the same user."""

    def __init__(self, user):
        self.user = user


def build_filterset(filterset_class, user, params):
    """``filterset_class`` over the rows ``user`` may see, bound to the page's ``params``."""
    queryset = filterset_class._meta.model.objects.visible_to(user)
    return filterset_class(params or None, queryset=queryset, request=Caller(user))


def filtered(filterset):
    """The filtered rows, or none when a filter value is invalid (e.g. another region's
    village): an invalid filter must never fall back to showing everything."""
    if filterset.is_bound and not filterset.is_valid():
        return filterset.queryset.none()
    return filterset.qs


def valid_rows(filterset):
    """The filtered rows for an export; an invalid filter value is a 404 (InvalidFilter)."""
    if filterset.is_bound and not filterset.is_valid():
        raise InvalidFilter()
    return filterset.qs
