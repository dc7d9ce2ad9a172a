"""A page's query string as data: what a list page, its export and a background job share."""

from django.http import QueryDict


def params_of(query) -> dict:
    """A page's query string (a QueryDict, or a job's stored params) as a JSON-able dict: the
    page number and empty values dropped, a repeated key kept as a list."""
    query = as_query(query)
    params = {}
    for key in sorted(query.keys()):
        values = [v for v in query.getlist(key) if v != ""]
        if key != "page" and values:
            params[key] = values[0] if len(values) == 1 else values
    return params


def as_query(params) -> QueryDict:
    if isinstance(params, QueryDict):
        return params
    query = QueryDict(mutable=True)
    for key, value in (params or {}).items():
        query.setlist(key, [str(v) for v in value] if isinstance(value, list) else [str(value)])
    return query


def without_page(query) -> str:
    """The query string minus ``page``: what pagination links append their page to."""
    query = query.copy()
    query.pop("page", None)
    return query.urlencode()
