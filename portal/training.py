"""岗前培训 (先培训后上岗): the township's and the county's page of the people in their region
with their latest training, the form that records a course for one or several of them, and one
person's records. People are read through ``regions.training`` (the role assignments'
scoping): another township's or county's user is not listed, and its page is a 404."""

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View
from django.views.generic import ListView

from core.querystring import without_page
from core.web.forms import put_errors
from regions import training
from regions.models import RoleAssignment, display_name

NO_ACCESS = "岗前培训由乡镇审核员和县级管理员登记和查看。"
PAGE_SIZE = 50


class TrainingMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not training.can_manage(request.user):
            raise PermissionDenied(NO_ACCESS)
        return super().dispatch(request, *args, **kwargs)


def _mark(row):
    row.needs_training = row.role in training.FIELD_ROLES
    row.untrained = row.needs_training and not row.has_record
    return row


class PeopleList(TrainingMixin, ListView):
    """The people in scope, untrained field users highlighted, filter 未培训."""

    template_name = "regions/training_list.html"
    paginate_by = PAGE_SIZE
    context_object_name = "people"

    def untrained_only(self) -> bool:
        return self.request.GET.get("untrained") == "1"

    def get_queryset(self):
        return training.people(self.request.user, untrained_only=self.untrained_only())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        for row in context["people"]:
            _mark(row)
        context.update(
            untrained_count=training.untrained_count(self.request.user),
            untrained_only=self.untrained_only(),
            querystring=without_page(self.request.GET),
        )
        return context


class RecordForm(forms.Form):
    """What the browser sent; the service checks every value and its messages come back here
    (all at once), so nothing is required on the form itself."""

    trained_on = forms.DateField(
        label="培训日期",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    course = forms.CharField(
        label="培训内容",
        required=False,
        max_length=training.TEXT_MAX,
        help_text="如“农村户厕问题摸排业务培训”",
    )
    trainer = forms.CharField(
        label="培训单位/授课人",
        required=False,
        max_length=training.TEXT_MAX,
        help_text="如“县卫健委 张工”",
    )


def _ids(values) -> list[int]:
    ids = []
    for value in values:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise Http404 from None
    return ids


class Record(TrainingMixin, View):
    """One course for the people ticked on the list (``?user=…&user=…``), or, with nobody
    ticked, for any of the untrained field users of the region."""

    template_name = "regions/training_record.html"

    def chosen(self, values):
        ids = _ids(values)
        people = list(training.people(self.request.user).filter(user_id__in=ids)) if ids else []
        if len(people) != len(set(ids)):
            raise Http404("所选人员不存在或不在您的管辖范围内。")
        return [_mark(p) for p in people]

    def render(self, form, chosen, picked=()):
        offered = chosen or [
            _mark(p) for p in training.people(self.request.user, untrained_only=True)[:PAGE_SIZE]
        ]
        return render(
            self.request,
            self.template_name,
            {"form": form, "chosen": chosen, "offered": offered, "picked": set(picked)},
        )

    def get(self, request):
        chosen = self.chosen(request.GET.getlist("user"))
        form = RecordForm(initial={"trained_on": timezone.localdate()})
        return self.render(form, chosen, picked=[p.user_id for p in chosen])

    def post(self, request):
        picked = _ids(request.POST.getlist("users"))
        chosen = self.chosen(request.GET.getlist("user"))
        form = RecordForm(request.POST)
        people = self.chosen(picked)
        if form.is_valid():
            try:
                training.record_trainings(
                    actor=request.user, users=[p.user for p in people], **form.cleaned_data
                )
            except ValidationError as exc:
                put_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                names = "、".join(display_name(p.user) for p in people)
                messages.success(request, f"已登记 {len(people)} 人的岗前培训：{names}。")
                if len(people) == 1:
                    return redirect("training:person", pk=people[0].user_id)
                return redirect("training:list")
        return self.render(form, chosen, picked=picked)


class Person(TrainingMixin, View):
    """One person's training records; 404 outside the scope."""

    def get(self, request, pk):
        try:
            assignment = training.person(request.user, pk)
        except RoleAssignment.DoesNotExist:
            raise Http404 from None
        records = list(training.records_of(request.user, assignment.user))
        needs = assignment.role in training.FIELD_ROLES
        context = {
            "person": assignment,
            "records": records,
            "needs_training": needs,
            "untrained": needs and not records,
            "is_self": assignment.user_id == request.user.pk,
        }
        return render(request, "regions/training_person.html", context)
