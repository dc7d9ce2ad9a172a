from django import forms

from surveys.choices import Usability
from surveys.models import ProblemCategory

from .choices import MAINTENANCE_CATEGORIES, REPORT_CATEGORIES, LeadKind
from .services import DESCRIPTION_MAX

HONEYPOT = "website"  # hidden from people by CSS; a form filling it in is a robot


class _PublicForm(forms.Form):
    description = forms.CharField(
        label="情况描述", max_length=DESCRIPTION_MAX, widget=forms.Textarea(attrs={"rows": 4})
    )
    photo = forms.FileField(label="照片（可选，不超过 5 MB）", required=False)
    phone = forms.CharField(
        label="回访电话（可选，仅乡镇工作人员可见）",
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    website = forms.CharField(label="网址（请勿填写）", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["photo"].widget.attrs["accept"] = "image/jpeg,image/png,image/webp"
        self.fields[HONEYPOT].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})

    @property
    def is_spam(self) -> bool:
        return bool(self.data.get(self.add_prefix(HONEYPOT)))


class ReportForm(_PublicForm):
    kind = LeadKind.REPORT
    category = forms.ChoiceField(
        label="问题类别",
        choices=[(c.value, c.label) for c in REPORT_CATEGORIES if c.value != "objection"],
    )
    field_order = ["category", "description", "photo", "phone"]


class MaintenanceForm(_PublicForm):
    kind = LeadKind.MAINTENANCE
    category = forms.ChoiceField(
        label="服务类别",
        choices=[(c.value, c.label) for c in MAINTENANCE_CATEGORIES],
        widget=forms.RadioSelect,
    )
    field_order = ["category", "description", "photo", "phone"]


class ObjectionForm(_PublicForm):
    pass


class LookupForm(forms.Form):
    code = forms.CharField(
        label="查询码",
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def clean_code(self):
        return self.cleaned_data["code"].strip().upper().replace("-", "").replace(" ", "")


# The township's steps ------------------------------------------------------------------------


class ConvertForm(forms.Form):
    usability = forms.ChoiceField(
        label="核实的使用情况",
        choices=[(Usability.UNUSABLE, Usability.UNUSABLE.label),
                 (Usability.NOT_YEAR_ROUND, Usability.NOT_YEAR_ROUND.label)],
        widget=forms.RadioSelect,
    )  # fmt: skip
    categories = forms.ModelMultipleChoiceField(
        label="问题类型",
        queryset=ProblemCategory.objects.all(),
        widget=forms.CheckboxSelectMultiple,
    )
    answer = forms.CharField(
        label="答复群众（可不填，用默认答复）",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label="答复群众", max_length=300, widget=forms.Textarea(attrs={"rows": 3})
    )


class OptionalAnswerForm(forms.Form):
    answer = forms.CharField(
        label="答复群众（可不填，用默认答复）",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AssignForm(OptionalAnswerForm):
    assignee = forms.CharField(label="承办人（姓名、单位）", max_length=50)
    field_order = ["assignee", "answer"]


class DoneForm(OptionalAnswerForm):
    note = forms.CharField(
        label="办理情况", max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )
    photo = forms.FileField(label="办结照片")
    field_order = ["note", "photo", "answer"]


class RefuseForm(forms.Form):
    answer = forms.CharField(
        label="不予受理的原因（答复群众）", max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )


STEP_FORMS = {
    "convert": ConvertForm,
    "merge": OptionalAnswerForm,
    "close": AnswerForm,
    "assign": AssignForm,
    "done": DoneForm,
    "refuse": RefuseForm,
}


class ReissueForm(forms.Form):
    reason = forms.CharField(label="作废原因", max_length=100)


class ContactForm(forms.Form):
    service_phone = forms.CharField(label="服务电话（印在标识牌上）", max_length=20)
    complaint_phone = forms.CharField(
        label="举报电话（印在受益户公示上）", max_length=20, required=False
    )


class PostingForm(forms.Form):
    village = forms.ChoiceField(label="行政村")
    year = forms.IntegerField(label="年度")
    starts_on = forms.DateField(label="公示开始", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label="公示结束", widget=forms.DateInput(attrs={"type": "date"}))
    complaint_phone = forms.CharField(
        label="举报电话（不填用乡镇设置的举报电话）", max_length=20, required=False
    )

    def __init__(self, *args, villages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].choices = [(v.code, v.name) for v in villages]


class PostedForm(forms.Form):
    posted_on = forms.DateField(label="张贴日期", widget=forms.DateInput(attrs={"type": "date"}))
    photo = forms.FileField(label="张贴现场照片")
