"""Sign-in, sign-out and the home page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _

from gridlink.accounts.throttle import login_retry_after
from gridlink.core.audit import client_ip
from gridlink.web import selectors
from gridlink.web.forms import LoginForm

if TYPE_CHECKING:
    from gridlink.web.views.common import AuthedRequest

_login = auth_views.LoginView.as_view(
    template_name="web/login.html",
    authentication_form=LoginForm,
    redirect_authenticated_user=True,
)


def login_view(request: HttpRequest) -> HttpResponseBase:
    """Django's sign-in, answering 429 with Retry-After while the account or address is locked."""
    if request.method == "POST":
        username = str(request.POST.get("username", ""))[:150]
        wait = login_retry_after(username=username, ip=client_ip(request.META))
        if wait is not None:
            form = LoginForm(request, data=request.POST)
            minutes = max(1, round(wait / 60))
            form.add_error(
                None,
                _("Too many failed sign-ins. Try again in %(minutes)d minutes.")
                % {"minutes": minutes},
            )
            response = render(request, "web/login.html", {"form": form}, status=429)
            response["Retry-After"] = str(wait)
            return response
    return _login(request)


logout_view = auth_views.LogoutView.as_view()


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    context = {
        "sections": selectors.home_sections(user),
        "admin_links": selectors.admin_links(user),
    }
    return render(request, "web/home.html", context)
