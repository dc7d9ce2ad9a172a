from django import forms
from django.utils import timezone

from .services import REASON_MAX, SEAL_MAX_BYTES

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


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
    file = forms.FileField(
        label="或上传汇总表文件（.xlsx）",
        required=False,
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )

    def clean(self):
        data = super().clean()
        if not data.get("code") and not data.get("file"):
            raise forms.ValidationError("请输入核验码，或上传汇总表文件。")
        return data
