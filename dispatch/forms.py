from django import forms

# Several files from one input; each is checked by the service (``dispatch.evidence``).
from surveys.forms import MultiplePhotoField as MultipleFileField

from .choices import WorkProblemCategory
from .models import DEFAULT_WEIGHTS, BriefingKind, RankingFormula

LABELS = {name: RankingFormula._meta.get_field(name).verbose_name for name in DEFAULT_WEIGHTS}


class FormulaForm(forms.Form):
    """The weights; the service checks them (0–1000, two decimals) and reports on the form."""

    coverage = forms.DecimalField(label=LABELS["coverage"], decimal_places=2, max_digits=6)
    closeout = forms.DecimalField(label=LABELS["closeout"], decimal_places=2, max_digits=6)
    overdue = forms.DecimalField(label=LABELS["overdue"], decimal_places=2, max_digits=6)
    discrepancy = forms.DecimalField(label=LABELS["discrepancy"], decimal_places=2, max_digits=6)


class GenerateForm(forms.Form):
    kind = forms.ChoiceField(label="通报类型", choices=BriefingKind.choices)


# The work-process problem register -----------------------------------------------------------

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class WorkProblemForm(forms.Form):
    """What the browser sent; the service checks every rule and its errors come back here."""

    region = forms.ModelChoiceField(label="所属单位", queryset=None, empty_label=None)
    category = forms.ChoiceField(label="问题类别", choices=WorkProblemCategory.choices)
    title = forms.CharField(
        label="问题", max_length=100, help_text="一句话概括，如“某村改厕任务超出农户意愿”"
    )
    description = forms.CharField(
        label="问题描述", widget=forms.Textarea(attrs={"rows": 4}), max_length=2000
    )
    measures = forms.CharField(
        label="整改措施", widget=forms.Textarea(attrs={"rows": 4}), max_length=2000
    )
    responsible = forms.CharField(label="责任人", max_length=50, help_text="姓名及职务")
    found_on = forms.DateField(label="发现日期", widget=DATE)
    deadline = forms.DateField(label="整改时限", widget=DATE)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, units, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = units
        if editing:
            del self.fields["region"]

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        data.pop("region", None)
        return data


class CloseProblemForm(forms.Form):
    # Not required here: the service checks the text and the files together.
    note = forms.CharField(
        label="整改情况说明",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="落实了哪些整改措施、取得什么效果",
    )
    files = MultipleFileField(
        label="佐证材料",
        required=False,
        help_text="至少一张照片或一份文件：照片（JPEG、PNG、WebP，10 MB 以内）、PDF 或 Excel（20 MB 以内），最多 10 个",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ReopenProblemForm(forms.Form):
    reason = forms.CharField(
        label="重新打开的原因", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
