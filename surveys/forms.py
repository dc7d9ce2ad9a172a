from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.utils import timezone

from core.geo import FAR_METRES
from regions.models import Region

from .choices import SIGN_OFF_TEXT, CheckMethod, Usability
from .models import FlagKind, Inspection, ProblemCategory, ReportTemplate, SurveyRound
from .spotchecks import MAX_NOTES, MAX_SEED


class RoundForm(forms.ModelForm):
    class Meta:
        model = SurveyRound
        fields = [
            "name",
            "kind",
            "start_date",
            "end_date",
            "submission_deadline",
            "previous",
            "template",
        ]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
            "submission_deadline": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, county, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.county = county
        self.fields["previous"].queryset = SurveyRound.objects.filter(county=county)
        self.fields["template"].initial = ReportTemplate.objects.filter(is_default=True).first()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """Several photos from one input; each is checked by the service (type, size, EXIF)."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        if not data:
            return []
        files = data if isinstance(data, (list, tuple)) else [data]
        return [super(MultiplePhotoField, self).clean(f, initial) for f in files]


class DevicePositionField(forms.Field):
    """The phone's position or accuracy, filled by a script into a hidden input: best effort,
    so a value the phone could not give (blank, garbage, out of range) is None, never an
    error the surveyor could not see or fix."""

    widget = forms.HiddenInput

    def __init__(self, *, low, high, places, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.low, self.high, self.places = low, high, places

    def to_python(self, value):
        if value in self.empty_values or isinstance(value, bool):
            return None
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            return None
        if not number.is_finite() or not (self.low <= number <= self.high):
            return None
        if self.places == 0:
            return int(number.to_integral_value(rounding=ROUND_HALF_UP))
        return number.quantize(Decimal(1).scaleb(-self.places), rounding=ROUND_HALF_UP)


class InspectionForm(forms.ModelForm):
    household_present = forms.TypedChoiceField(
        label="农户是否在家",
        choices=[(True, "在家"), (False, "不在家")],
        coerce=lambda v: v in (True, "True", "true", "1"),
        widget=forms.RadioSelect,
    )
    categories = forms.ModelMultipleChoiceField(
        label="问题类型（不能使用或不能全年使用时至少选一项）",
        queryset=ProblemCategory.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    photos = MultiplePhotoField(
        label="现场照片",
        required=False,
        # No capture attribute: phones then offer the camera *and* picking several photos.
        widget=MultipleFileInput(attrs={"accept": "image/*"}),
        help_text="可现场拍照或一次选多张；照片中的拍摄时间和位置会一并保存。",
    )
    inspected_at = forms.DateTimeField(
        label="摸排时间",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    signed = forms.BooleanField(label=SIGN_OFF_TEXT, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    device_latitude = DevicePositionField(low=-90, high=90, places=6)
    device_longitude = DevicePositionField(low=-180, high=180, places=6)
    # Metres; up to 2,147,483,647 (the column) but a phone's fix is never worse than 100 km.
    device_accuracy = DevicePositionField(low=0, high=100_000, places=0)

    class Meta:
        model = Inspection
        fields = [
            "household_present",
            "check_method",
            "usability",
            "categories",
            "minor_fixes",
            "notes",
            "partner_name",
            "inspected_at",
            "evidence_reason",
            "signed",
            "device_latitude",
            "device_longitude",
            "device_accuracy",
        ]
        labels = {"evidence_reason": "无照片或照片位置偏远的原因"}
        widgets = {
            "check_method": forms.RadioSelect,
            "usability": forms.RadioSelect,
            "notes": forms.Textarea(attrs={"rows": 3}),
            "evidence_reason": forms.Textarea(attrs={"rows": 2}),
        }

    field_order = [
        "household_present", "check_method", "usability", "categories", "minor_fixes",
        "notes", "partner_name", "inspected_at", "photos", "evidence_reason", "signed",
    ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Radio buttons without the empty "---------" choice.
        self.fields["check_method"].choices = CheckMethod.choices
        self.fields["usability"].choices = Usability.choices
        if self.instance.pk is None:
            # The instance's empty values are in self.initial already: overwrite, not setdefault.
            self.initial["inspected_at"] = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
            self.initial["household_present"] = True
        else:
            self.fields["version"].initial = self.instance.version
            self.initial["signed"] = False  # every save is signed again: 谁摸排、谁签字
        self.fields["evidence_reason"].required = False
        self.fields["evidence_reason"].help_text = (
            f"问题厕所没有现场照片，或照片拍摄位置距厕所超过 {FAR_METRES} 米时必填，"
            "乡镇核查时可见。"
        )
        for name in ("device_latitude", "device_longitude", "device_accuracy"):
            self.initial[name] = None  # this save's position only, never the last one
        self.fields["partner_name"].help_text = "入户调查组不少于 2 人"
        self.fields["partner_name"].error_messages["required"] = (
            "入户调查组不少于 2 人，请填写同组摸排人。"
        )


# Office-made flags ------------------------------------------------------------------------


class VillageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.parent.name} {obj.name}" if obj.parent_id else obj.name


class FlagFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label="提示类型", choices=[("", "全部类型"), *FlagKind.choices], required=False
    )
    village = VillageChoiceField(
        label="行政村",
        queryset=Region.objects.none(),
        to_field_name="code",
        required=False,
        empty_label="全部行政村",
    )
    cleared = forms.BooleanField(label="显示已核实的提示", required=False)

    def __init__(self, *args, villages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = villages


# Spot-checks ------------------------------------------------------------------------------


class DrawForm(forms.Form):
    method = forms.ChoiceField(
        label="抽取方式",
        choices=[("per_village", "每村抽取固定户数"), ("percent", "每村按比例抽取（%）")],
        initial="per_village",
        widget=forms.RadioSelect,
    )
    amount = forms.IntegerField(
        label="户数或比例",
        min_value=1,
        help_text="按比例时填 1–100，每村向上取整、至少 1 户。",
    )
    seed = forms.IntegerField(
        label="随机种子",
        required=False,
        min_value=0,
        max_value=MAX_SEED,
        help_text="留空则由系统生成并记录。用同一种子、同一方式再抽一次，得到同一批户。",
    )


class CampaignForm(DrawForm):
    """A city's or the province's spot-check across its counties: a name, then as a draw."""

    name = forms.CharField(
        label="抽查名称",
        max_length=100,
        help_text="如“2026年上半年市级抽查复核”。",
    )
    field_order = ["name", "method", "amount", "seed"]


class RecordForm(forms.Form):
    usability = forms.ChoiceField(
        label="使用情况", choices=Usability.choices, widget=forms.RadioSelect
    )
    categories = forms.ModelMultipleChoiceField(
        label="问题类型",
        queryset=ProblemCategory.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="不能使用或不能全年使用时，至少选一项。",
    )
    notes = forms.CharField(
        label="抽查说明",
        required=False,
        max_length=MAX_NOTES,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
