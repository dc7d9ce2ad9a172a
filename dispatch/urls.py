"""The dispatch briefings (调度通报) and rankings, under the "dispatch" namespace."""

from django.urls import path

from . import views

app_name = "dispatch"

urlpatterns = [
    path("", views.BriefingList.as_view(), name="list"),
    path("generate/", views.Generate.as_view(), name="generate"),
    path("formula/", views.FormulaEdit.as_view(), name="formula"),
    path("mine/", views.Mine.as_view(), name="mine"),
    path("<int:pk>/", views.BriefingDetail.as_view(), name="detail"),
    path("<int:pk>/xlsx/", views.BriefingXlsx.as_view(), name="xlsx"),
]
