from django import forms

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
