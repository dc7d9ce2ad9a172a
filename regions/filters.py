"""The region filter of the list pages: a drop-down where the user's scope holds a few units
of that level, a box for the 12-digit code where it holds thousands (a city has about 2,000
villages, a province about 18,000 and 1,200 townships: a drop-down of them would weigh
megabytes and take seconds to render). The choice is looked up within the scope either way,
so another region's code is an invalid choice."""

import django_filters
from django import forms

from .choices import Level
from .codes import LEVEL_DIGITS
from .models import Region
from .scoping import scope_of

# A drop-down lists units at most this many levels below the user's own (a county's villages,
# a city's townships, a province's counties).
DROPDOWN_DEPTH = 2
_DEPTH = {level: depth for depth, level in enumerate(LEVEL_DIGITS)}
CODE_PLACEHOLDER = "输入12位区划代码"


def too_many(user, level: str) -> bool:
    scope = scope_of(user)
    if scope is None:
        return False
    own = _DEPTH[Level(scope.region.level)] if scope.region is not None else -1
    return _DEPTH[Level(level)] - own > DROPDOWN_DEPTH


def scoped(model, **filters):
    """A ModelChoiceFilter queryset: the caller's visible rows of ``model``."""

    def queryset(request):
        if request is None:
            return model.objects.none()
        return model.objects.visible_to(request.user).filter(**filters)

    return queryset


class RegionChoiceFilter(django_filters.ModelChoiceFilter):
    """A township or village of the user's scope, by its code (``?village=<code>``)."""

    def __init__(self, *args, level: str, **kwargs):
        self.level = level
        kwargs.setdefault("queryset", scoped(Region, level=level))
        kwargs.setdefault("to_field_name", "code")
        super().__init__(*args, **kwargs)

    @property
    def field(self):
        field = super().field
        request = getattr(self.parent, "request", None) if self.parent is not None else None
        if request is not None and too_many(request.user, self.level):
            field.widget = forms.TextInput(
                attrs={"placeholder": CODE_PLACEHOLDER, "inputmode": "numeric", "maxlength": 12}
            )
        return field
