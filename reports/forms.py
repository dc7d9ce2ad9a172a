"""The reports pages' forms: the submission footer, a return's reason, the seal, the verify
page, the upload-validation page and the 整村推进 targets. The services check again."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from regions.models import Region

from .completeness import TEXT_MAX, ExceptionInput, parse_toilets
from .models import ExceptionReason
from .progress import MAX_TARGET, TargetInput
from .services import REASON_MAX, SEAL_MAX_BYTES
from .sheet import MAX_FILE_BYTES, VERIFY_MAX_BYTES

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
XLSX_ACCEPT = ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SummaryFileField(forms.FileField):
    """A summary sheet (.xlsx) to be read: one larger than ``max_bytes`` is refused here,
    before it is read."""

    def __init__(self, *, max_bytes: int = MAX_FILE_BYTES, **kwargs):
        kwargs.setdefault("widget", forms.ClearableFileInput(attrs={"accept": XLSX_ACCEPT}))
        super().__init__(**kwargs)
        self.max_bytes = max_bytes
        self.too_big = f"文件超过 {max_bytes // (1024 * 1024)} MB，不是正常的汇总表。"

    def validate(self, value):
        super().validate(value)
        if value and value.size > self.max_bytes:
            raise ValidationError(self.too_big, code="too_big")


class FillerForm(forms.Form):
    """The footer of the form (填报人 / 联系电话 / 填报日期); the service checks it again."""

    filler_name = forms.CharField(label="填报人", max_length=50)
    filler_phone = forms.CharField(
        label="联系电话",
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    filled_on = forms.DateField(label="填报日期", widget=DATE_INPUT)

    def __init__(self, *args, previous=None, user=None, **kwargs):
        """Unbound, it starts from the previous version's footer, else the user's name."""
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("filled_on", timezone.localdate())
            if previous is not None:
                self.initial.setdefault("filler_name", previous.filler_name)
                self.initial.setdefault("filler_phone", previous.filler_phone)
            elif user is not None and user.get_full_name():
                self.initial.setdefault("filler_name", user.get_full_name())

    def service_kwargs(self) -> dict:
        return {key: self.cleaned_data[key] for key in ("filler_name", "filler_phone", "filled_on")}


class ExceptionForm(forms.Form):
    """One village's exception to 全覆盖 on the township's page: the reason, a text (required
    for 其他) and, hidden, the toilets the page showed as missing or unverified (the service
    refuses the exception when they are no longer the village's incomplete ones)."""

    village = forms.CharField(widget=forms.HiddenInput)
    toilets = forms.CharField(widget=forms.HiddenInput, required=False)
    reason = forms.ChoiceField(
        label="例外原因",
        required=False,
        choices=[("", "不填写（须先补齐摸排和核查）"), *ExceptionReason.choices],
        error_messages={"invalid_choice": "请从列表中选择例外原因。"},
    )
    text = forms.CharField(
        label="说明",
        required=False,
        max_length=TEXT_MAX,
        error_messages={"max_length": f"说明不能超过 {TEXT_MAX} 字。"},
    )

    def __init__(self, *args, village_name="", counts="", **kwargs):
        self.village_name = village_name
        self.counts = counts  # "未摸排 1 户、已摸排未核查 0 户" now, shown beside the name
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        reason, text = data.get("reason"), (data.get("text") or "").strip()
        if reason == ExceptionReason.OTHER and not text:
            self.add_error("text", "例外原因为“其他”时须填写具体说明。")
        if text and not reason:
            self.add_error("reason", "填写了说明，请选择例外原因。")
        return data

    def as_input(self) -> ExceptionInput | None:
        data = self.cleaned_data
        if not data.get("reason"):
            return None
        return ExceptionInput(
            village_code=data["village"],
            reason=data["reason"],
            text=(data.get("text") or "").strip(),
            toilets=parse_toilets(data.get("toilets", "")),
        )


class ReopenForm(forms.Form):
    reason = forms.CharField(label="重新开启原因", max_length=100)


class ReturnForm(forms.Form):
    reason = forms.CharField(label="退回原因", max_length=REASON_MAX)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class SealForm(forms.Form):
    image = forms.FileField(
        label="印章图片",
        help_text="PNG 或 JPEG，不超过 2 MB；白色背景会在汇总表上自动变为透明。",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
    )

    def clean_image(self):
        image = self.cleaned_data["image"]
        if image.size > SEAL_MAX_BYTES:
            raise forms.ValidationError("印章图片不能超过 2 MB。")
        return image


class VerifyForm(forms.Form):
    code = forms.CharField(
        label="核验码",
        max_length=40,
        required=False,
        widget=forms.TextInput(
            attrs={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    # A stamped file is 10–20 KB (230 KB at the most rows a summary has).
    file = SummaryFileField(
        label="或上传汇总表文件（.xlsx）", required=False, max_bytes=VERIFY_MAX_BYTES
    )

    def clean(self):
        data = super().clean()
        if not data.get("code") and not data.get("file") and "file" not in self.errors:
            raise forms.ValidationError("请输入核验码，或上传汇总表文件。")
        return data


class UploadForm(forms.Form):
    """The upload-validation page's sheet."""

    file = SummaryFileField(
        label="汇总表文件（.xlsx）",
        error_messages={"required": "请选择要检查的 .xlsx 文件。", "empty": "文件是空的。"},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size == 0:
            raise forms.ValidationError("文件是空的。")
        return upload


# 整村推进 targets -------------------------------------------------------------------------


def _count(label):
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=0,
        max_value=MAX_TARGET,
        error_messages={
            "invalid": "请填写整数",
            "min_value": "不能小于 0",
            "max_value": f"不能大于 {MAX_TARGET}",
        },
        widget=forms.NumberInput(attrs={"min": 0, "max": MAX_TARGET, "inputmode": "numeric"}),
    )


class TargetForm(forms.Form):
    """One village's row: in the programme or not, its targets and a note."""

    in_programme = forms.BooleanField(label="列入整村推进", required=False)
    new_builds = _count("新建目标")
    rectifications = _count("整改目标")
    note = forms.CharField(
        label="备注",
        required=False,
        max_length=200,
        error_messages={"max_length": "不能超过 200 字"},
    )

    def __init__(self, *args, village: Region, **kwargs):
        self.village = village
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        has_values = data.get("new_builds") or data.get("rectifications") or data.get("note")
        if not data.get("in_programme") and has_values:
            raise ValidationError("填写了目标任务，但没有勾选“列入整村推进”")
        return data

    def messages(self) -> list[str]:
        """Every error of this row, naming the village."""
        found = []
        for name, errors in self.errors.items():
            where = "" if name == "__all__" else f"{self.fields[name].label}"
            for error in errors:
                found.append(f"{self.village.name}：{where}{'，' if where else ''}{error}")
        return found

    def as_input(self) -> TargetInput:
        data = self.cleaned_data
        return TargetInput(
            village=self.village,
            in_programme=bool(data["in_programme"]),
            new_builds=data["new_builds"] or 0,
            rectifications=data["rectifications"] or 0,
            note=(data["note"] or "").strip(),
        )


class BaseTargetFormSet(forms.BaseFormSet):
    """A form per village of the scope, keyed by the village code (not the position), so a
    list that changed between loading and saving can never put a row on the wrong village."""

    def __init__(self, *args, villages: list[Region], **kwargs):
        self.villages = villages
        super().__init__(*args, **kwargs)

    def total_form_count(self):
        return len(self.villages)

    def initial_form_count(self):
        return len(self.villages)

    def add_prefix(self, index):
        if isinstance(index, int):
            return f"{self.prefix}-{self.villages[index].code}"
        return super().add_prefix(index)

    def get_form_kwargs(self, index):
        return {"village": self.villages[index] if isinstance(index, int) else None}

    def village_errors(self) -> list[str]:
        return [message for form in self.forms for message in form.messages()]


TargetFormSet = forms.formset_factory(TargetForm, formset=BaseTargetFormSet, extra=0)


# The chain above the county -----------------------------------------------------------------


class CollectionForm(forms.Form):
    """A city's or the province's collection; ``parents``: the collections above it."""

    name = forms.CharField(
        label="任务名称", max_length=100, help_text="例如：2026年农村户厕问题摸排整改汇总。"
    )
    template = forms.ModelChoiceField(label="报表模板", queryset=None, empty_label=None)
    deadline = forms.DateField(
        label="报送截止", widget=DATE_INPUT, help_text="下级单位报送汇总表的最后一天。"
    )
    parent = forms.ModelChoiceField(
        label="本级汇总表报送至", queryset=None, required=False, empty_label="（不向上报送）"
    )

    def __init__(self, *args, templates, parents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = templates
        self.fields["parent"].queryset = parents
        if not parents.exists():
            del self.fields["parent"]


class DeliverForm(forms.Form):
    submission = forms.ModelChoiceField(label="报送的盖章汇总表", queryset=None, empty_label=None)

    def __init__(self, *args, tables, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["submission"].queryset = tables
        self.fields["submission"].label_from_instance = lambda s: (
            f"{s.period} · 第{s.version}版 · 核验码 {s.code}"
        )


class ReviewNoteForm(forms.Form):
    review_note = forms.CharField(
        label="审核意见（暂存，随审核结果发送）",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
