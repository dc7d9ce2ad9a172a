from datetime import timedelta

from django import forms

from .services import NAME_MAX_LENGTH

EXPIRY_CHOICES = [
    ("30", "30 天"),
    ("90", "90 天"),
    ("180", "180 天"),
    ("365", "1 年"),
    ("", "永不过期"),
]


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label="用途",
        max_length=NAME_MAX_LENGTH,
        help_text="写明这个令牌给谁、做什么用，例如“省级平台对接”。",
        widget=forms.TextInput(attrs={"placeholder": "例如：省级平台对接", "autocomplete": "off"}),
    )
    expires_in_days = forms.ChoiceField(
        label="有效期",
        choices=EXPIRY_CHOICES,
        initial="365",
        required=False,
        help_text="到期后令牌自动失效。不再使用的令牌请及时撤销。",
    )

    def expires_in(self) -> timedelta | None:
        days = self.cleaned_data.get("expires_in_days")
        return timedelta(days=int(days)) if days else None
