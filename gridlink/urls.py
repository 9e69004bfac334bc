from django.contrib import admin
from django.urls import include, path

from gridlink.api import api
from gridlink.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("gridlink.web.urls")),
]
