from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from gridlink.accounts.views import login_throttled
from gridlink.api import api
from gridlink.core.views import healthz

admin.site.login = login_throttled(admin.site.login)  # type: ignore[method-assign,assignment]  # wrap the bound view
admin.site.site_header = _("gridlink back-office")
admin.site.site_title = _("gridlink back-office")
admin.site.index_title = _("Reference data, users and logs")

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("open311/v2/", include("gridlink.open311.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("gridlink.web.urls")),
]

# Errors in the caller's format: JSON under /api/, Open311 documents under /open311/, HTML
# elsewhere (gridlink/error_views.py).
handler400 = "gridlink.error_views.bad_request"
handler403 = "gridlink.error_views.permission_denied"
handler404 = "gridlink.error_views.page_not_found"
handler500 = "gridlink.error_views.server_error"
