from django.urls import path

from . import views

app_name = "imports"

urlpatterns = [
    path("", views.UploadView.as_view(), name="upload"),
    path("template.xlsx", views.TemplateDownloadView.as_view(), name="template"),
    path("<int:pk>/", views.JobDetailView.as_view(), name="job"),
    path("<int:pk>/status/", views.JobStatusView.as_view(), name="job-status"),
    path("<int:pk>/confirm/", views.ConfirmView.as_view(), name="confirm"),
    path("<int:pk>/mapping/", views.MappingView.as_view(), name="mapping"),
    path("<int:pk>/errors.xlsx", views.ErrorsDownloadView.as_view(), name="errors"),
    path("aliases/", views.AliasHomeView.as_view(), name="alias-home"),
    path("aliases/<str:code>/", views.AliasListView.as_view(), name="aliases"),
    path(
        "aliases/<str:code>/<int:pk>/delete/",
        views.AliasDeleteView.as_view(),
        name="alias-delete",
    ),
]
