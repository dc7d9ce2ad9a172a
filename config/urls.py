from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal import pwa
from portal import urls as portal_urls
from portal.views import HomeView
from toilets import urls as toilets_urls

admin.site.site_header = "农村户厕问题摸排整改 · 管理后台"
admin.site.site_title = "户厕台账管理"

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("sw.js", pwa.service_worker, name="service-worker"),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("offline/", pwa.OfflinePageView.as_view(), name="offline"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("regions/", include((portal_urls.region_patterns, "regions"))),
    path("training/", include((portal_urls.training_patterns, "training"))),
    path("surveys/", include("surveys.urls")),
    path("ledger/", include("rectification.urls")),
    path("reports/", include("reports.urls")),
    path("imports/", include("imports.urls")),
    path("dashboard/", include("dashboards.urls")),
    path("dispatch/", include("dispatch.urls")),
    path("account/tokens/", include("apitokens.urls")),
    path("", include("public.urls")),
    path("", include((toilets_urls.urlpatterns + portal_urls.household_patterns, "toilets"))),
    path("api/", include("config.api_urls")),
    path("admin/", admin.site.urls),
]
