from django.urls import include, path

from .views import public, staff

app_name = "public"

# Mounted at /p/ (no login): short URLs for QR codes.
public_patterns = [
    path("lookup/", public.lookup, name="lookup"),
    path("g/<str:token>/", public.objection_page, name="objection"),
    path("<str:token>/", public.plate_page, name="plate"),
]

# Mounted at /public/ (signed-in users).
staff_patterns = [
    path("leads/", staff.LeadQueueView.as_view(), name="queue"),
    path("leads/<int:pk>/", staff.LeadDetailView.as_view(), name="lead"),
    path("leads/<int:pk>/photo/", staff.LeadPhotoView.as_view(), name="lead-photo"),
    path("leads/log/<int:pk>/photo/", staff.LogPhotoView.as_view(), name="log-photo"),
    path("plates/", staff.PlateIndexView.as_view(), name="plates"),
    path("plates/toilet/<int:pk>/", staff.ToiletPlateView.as_view(), name="toilet-plates"),
    path("plates/<int:pk>/print/", staff.PlatePrintView.as_view(), name="plate-print"),
    path("plates/village/<str:code>/", staff.VillagePlatesView.as_view(), name="village-plates"),
    path(
        "plates/village/<str:code>/print/",
        staff.VillagePlatesPrintView.as_view(),
        name="village-plates-print",
    ),
    path("contact/", staff.ContactView.as_view(), name="contact"),
    path("postings/", staff.PostingListView.as_view(), name="postings"),
    path("postings/<int:pk>/", staff.PostingDetailView.as_view(), name="posting"),
    path("postings/<int:pk>/print/", staff.PostingPrintView.as_view(), name="posting-print"),
    path("postings/<int:pk>/photo/", staff.PostingPhotoView.as_view(), name="posting-photo"),
]

urlpatterns = [
    path("p/", include(public_patterns)),
    path("public/", include(staff_patterns)),
]
