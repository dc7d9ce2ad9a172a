"""Forms of the close-out pages. They only parse what the browser sent; every rule about a
move (required evidence, dates, the checklist) is checked by ``services.transition``, whose
errors the views put back on these fields."""

from django import forms
from django.utils import timezone

from surveys.forms import MultipleFileInput, MultiplePhotoField

from . import plans, services
from .choices import Cause, ConsentMethod, FundingSource, ProblemClass

# The drawn signature arrives base64-encoded: 4 characters per 3 bytes.

PASS, FAIL = "pass", "fail"
CHECK_CHOICES = [(PASS, "合格"), (FAIL, "不合格")]


class VersionedForm(forms.Form):
    """Every move carries the entry version the user looked at: a change made by somebody
    else in between is refused by the service, not overwritten."""

    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={"required": "页面缺少版本信息，请刷新后重试。"},
    )
    required_on_screen: tuple[str, ...] = ()  # starred on the page; the service enforces them

    def __init__(self, *args, version_name="version", **kwargs):
        super().__init__(*args, **kwargs)
        # Several entries in one page (bulk acceptance) each need their own version field.
        if version_name != "version":
            self.fields[version_name] = self.fields.pop("version")
        self.version_name = version_name
        for name in self.required_on_screen:
            self.fields[name].widget.attrs["aria-required"] = "true"

    def seen_version(self) -> int:
        return self.cleaned_data[self.version_name]

    def transition_kwargs(self) -> dict:
        """The keyword arguments for ``services.transition`` besides actor/entry/action."""
        return {"note": self.cleaned_data.get("note", "")}


def _note(label, *, help_text="", rows=3):
    return forms.CharField(
        label=label,
        required=False,
        max_length=services.NOTE_MAX,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows, "maxlength": services.NOTE_MAX}),
    )


def _select(label, choices):
    return forms.ChoiceField(label=label, required=False, choices=[("", "请选择"), *choices])


class PlanForm(VersionedForm):
    """整改方案. Fields are optional here: ``services.clean_plan`` says what is missing."""

    problem_class = forms.ChoiceField(
        label="整改类别",
        required=False,
        choices=ProblemClass.choices,
        widget=forms.RadioSelect,
        help_text="已按问题类型给出建议，可以修改。",
    )
    cause = _select("问题原因", Cause.choices)
    measures = forms.CharField(
        label="整改措施", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    tech_route = forms.CharField(
        label="技术路线",
        required=False,
        max_length=100,
        help_text="如：三格化粪池式、完整下水道水冲式",
    )
    funding_source = _select("资金来源", FundingSource.choices)
    deadline = forms.DateField(
        label="整改时限",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    target_year = forms.IntegerField(
        label="计划完成年度",
        required=False,
        min_value=2000,
        max_value=2100,
        help_text="仅“重点难点”问题需要填写（分年度计划，5 年以内）。",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    responsible_person = forms.CharField(
        label="责任人", required=False, max_length=50, help_text="印在整改告知单上。"
    )
    responsible_phone = forms.CharField(
        label="责任人联系电话",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    note = _note("说明", rows=2)

    required_on_screen = (
        "problem_class", "cause", "measures", "funding_source", "deadline",
        "responsible_person", "responsible_phone",
    )  # fmt: skip

    def transition_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "note": data.get("note", ""),
            "plan": {key: data.get(key) for key in services.PLAN_FIELDS},
        }


class PhotosForm(VersionedForm):
    """整改后照片, taken on site; the phone's position comes along when the photo has none."""

    photos = MultiplePhotoField(
        label="整改后照片",
        required=False,
        widget=MultipleFileInput(
            attrs={"accept": "image/*", "capture": "environment", "class": "photo-input"}
        ),
        help_text=f"请在现场拍摄，至少 1 张，最多 {services.MAX_PHOTOS} 张。",
    )
    note = _note("整改情况说明")
    latitude = forms.DecimalField(widget=forms.HiddenInput, required=False)
    longitude = forms.DecimalField(widget=forms.HiddenInput, required=False)

    def transition_kwargs(self) -> dict:
        data = self.cleaned_data
        lat, lon = data.get("latitude"), data.get("longitude")
        return {
            "note": data.get("note", ""),
            "photos": data.get("photos") or [],
            "location": (lat, lon) if lat is not None and lon is not None else None,
        }


def check_field_name(entry_pk: int, code: str) -> str:
    return f"check-{entry_pk}-{code}"


class ChecklistForm(VersionedForm):
    """验收清单: one 合格/不合格 choice per item, none preselected; one form per entry (the bulk
    page has several, told apart by the entry id in each field name)."""

    note = _note("验收意见", rows=2)

    def __init__(self, *args, entry, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.entry, self.items = entry, items
        self.rows = []
        for n, item in enumerate(items, 1):
            name = check_field_name(entry.pk, item.code)
            self.fields[name] = forms.ChoiceField(
                label=f"{n}. {item.text}",
                required=False,
                choices=CHECK_CHOICES,
                widget=forms.RadioSelect,
            )
            self.rows.append((n, item, name))

    def results(self) -> dict[str, bool]:
        """Only the items answered: a missing one is reported by the service, by name."""
        results = {}
        for _n, item, name in self.rows:
            value = self.cleaned_data.get(name)
            if value in (PASS, FAIL):
                results[item.code] = value == PASS
        return results

    def failed_items(self) -> list[str]:
        answered = self.results()
        return [
            f"第 {n} 项“{item.text}”"
            for n, item, _name in self.rows
            if answered.get(item.code) is False
        ]

    def row_states(self) -> list[dict]:
        """For the template: each item with its field and whether it failed or is missing."""
        answered = self.results() if self.is_bound and hasattr(self, "cleaned_data") else {}
        return [
            {
                "n": n,
                "item": item,
                "field": self[name],
                "anchor": f"row-{name}",
                "failed": answered.get(item.code) is False,
                "missing": self.is_bound and item.code not in answered,
            }
            for n, item, name in self.rows
        ]

    def problem_rows(self) -> list[dict]:
        """The rows left unanswered or failed after a refused submission, in list order: the
        error banner links to each of them."""
        if not self.errors:
            return []
        return [row for row in self.row_states() if row["failed"] or row["missing"]]

    def transition_kwargs(self) -> dict:
        return {"note": self.cleaned_data.get("note", ""), "checklist": self.results()}


class ConsentForm(VersionedForm):
    """户主签字: drawn on the screen, or a photo of the signed paper."""

    method = forms.ChoiceField(
        label="签字方式",
        choices=ConsentMethod.choices,
        initial=ConsentMethod.SCREEN,
        widget=forms.RadioSelect,
        error_messages={"required": "请选择签字方式。"},
    )
    signature = forms.CharField(required=False, widget=forms.HiddenInput)
    paper_photo = forms.FileField(
        label="签字纸质件照片",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    signer_name = forms.CharField(label="签字人", required=False, max_length=50)
    signed_on = forms.DateField(
        label="签字日期",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    note = _note("说明", rows=2)

    required_on_screen = ("method", "signer_name", "signed_on")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["signed_on"].initial = timezone.localdate()

    def clean_signature(self):
        value = self.cleaned_data.get("signature", "").strip()
        return services.decode_signature(value) if value else None

    def image_field(self) -> str:
        """The field a service error about the image belongs to, by the chosen method."""
        method = self.cleaned_data.get("method") if hasattr(self, "cleaned_data") else None
        return "paper_photo" if method == ConsentMethod.PAPER else "signature"

    def transition_kwargs(self) -> dict:
        data = self.cleaned_data
        method = data["method"]
        image = data.get("paper_photo") if method == ConsentMethod.PAPER else data.get("signature")
        return {
            "note": data.get("note", ""),
            "consent": services.ConsentInput(
                method=method,
                signer_name=data.get("signer_name", ""),
                signed_on=data.get("signed_on"),
                image=image,
            ),
        }


class ReasonForm(VersionedForm):
    note = forms.CharField(
        label="原因",
        required=False,
        max_length=services.NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": services.NOTE_MAX}),
    )

    required_on_screen = ("note",)

    def __init__(self, *args, reason_label="原因", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["note"].label = reason_label


class ConfirmForm(VersionedForm):
    note = _note("说明（可不填）", rows=2)


FORMS = {
    "plan": PlanForm,
    "photos": PhotosForm,
    "checklist": ChecklistForm,
    "consent": ConsentForm,
    "reason": ReasonForm,
    "": ConfirmForm,
}


# Township rectification plans (整改方案) -----------------------------------------------------


class IdListField(forms.Field):
    """Ids ticked in a list of checkboxes the page draws itself; whether each may be picked is
    the service's question (``plans.save_plan`` refuses entries of another township or round)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        values = value or []
        if not all(str(v).isdigit() for v in values):
            raise forms.ValidationError("所选问题台账无效，请刷新后重新选择。")
        return [int(v) for v in values]


class TownshipPlanForm(VersionedForm):
    """The plan's five sections and the entries it covers. Sections may be left empty while
    drafting; ``plans.submit_plan`` asks for all five when the plan is sent."""

    entries = IdListField(label="纳入方案的问题台账", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label, hint in plans.SECTIONS:
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                max_length=plans.SECTION_MAX,
                help_text=hint,
                widget=forms.Textarea(attrs={"rows": 3, "maxlength": plans.SECTION_MAX}),
            )
        self.order_fields([*plans.SECTION_FIELDS, "entries"])

    def sections(self) -> dict:
        return {name: self.cleaned_data.get(name, "") for name in plans.SECTION_FIELDS}


class PlanReasonForm(VersionedForm):
    """A reason for returning (county) or revising (township) a plan."""

    reason = forms.CharField(
        label="原因",
        required=False,
        max_length=plans.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": plans.REASON_MAX}),
    )

    def __init__(self, *args, reason_label="原因", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = reason_label
