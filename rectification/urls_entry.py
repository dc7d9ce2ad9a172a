from django.urls import path

from . import views_entry as views

urlpatterns = [
    path("entries/<int:pk>/", views.EntryDetailView.as_view(), name="entry"),
    path("entries/<int:pk>/notice/", views.NoticeView.as_view(), name="notice"),
    path("entries/<int:pk>/<str:action>/", views.TransitionView.as_view(), name="transition"),
    path("notices/", views.BatchNoticeView.as_view(), name="notices"),
    path("bulk-accept/", views.BulkAcceptView.as_view(), name="bulk-accept"),
    path("evidence/<int:pk>/<str:size>/", views.EvidencePhotoView.as_view(), name="evidence-photo"),
    path("consents/<int:pk>/", views.ConsentImageView.as_view(), name="consent-image"),
]
