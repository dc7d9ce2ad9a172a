from django import forms

from core.web.forms import ModelErrorsOnTopMixin
from regions.models import Region

from .choices import ToiletKind
from .models import Household, Toilet


class VersionedForm(forms.ModelForm):
    """Carries the version the editor loaded, so a concurrent save is refused, not lost."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["version"].initial = self.instance.version


class HouseholdForm(VersionedForm):
    class Meta:
        model = Household
        fields = [
            "village",
            "group_name",
            "head_name",
            "id_number",
            "phone",
            "address",
            "occupancy",
        ]
        widgets = {
            "id_number": forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
            "phone": forms.TextInput(attrs={"inputmode": "tel"}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # The model's duplicate-ID check names the other household only if this user sees it.
        self.instance.editor = user
        villages = Region.objects.visible_to(user).villages().current().select_related("parent")
        field = self.fields["village"]
        field.queryset = villages
        field.label_from_instance = lambda r: f"{r.parent.name if r.parent else ''} {r.name}"
        if self.instance.pk is None and len(villages) == 1 and not self.initial.get("village"):
            self.initial["village"] = villages[0].pk  # a surveyor's own village


class ToiletForm(ModelErrorsOnTopMixin, VersionedForm):
    class Meta:
        model = Toilet
        fields = [
            "village",
            "name",
            "tech_type",
            "flush_kind",
            "placement",
            "build_year",
            "funding",
            "lead_department",
            "latitude",
            "longitude",
            "status",
        ]
        widgets = {
            "build_year": forms.NumberInput(attrs={"inputmode": "numeric"}),
            "latitude": forms.NumberInput(attrs={"step": "0.000001", "inputmode": "decimal"}),
            "longitude": forms.NumberInput(attrs={"step": "0.000001", "inputmode": "decimal"}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.kind == ToiletKind.HOUSEHOLD:
            # A household toilet lives where its household lives.
            del self.fields["village"]
            del self.fields["name"]
        else:
            villages = Region.objects.visible_to(user).villages().current().select_related("parent")
            self.fields["village"].queryset = villages
            self.fields["village"].label_from_instance = lambda r: (
                f"{r.parent.name if r.parent else ''} {r.name}"
            )
            self.fields["name"].required = True
