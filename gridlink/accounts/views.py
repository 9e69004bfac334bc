"""HTTP helpers of the accounts app."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from gridlink.accounts.throttle import login_retry_after
from gridlink.core.audit import client_ip


def login_throttled(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wrap a sign-in view: while the account or address is locked, a POST still renders
    the view's own form (the backend refuses the password) but answers 429 + Retry-After."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        wait = None
        if request.method == "POST":
            username = str(request.POST.get("username", ""))[:150]
            wait = login_retry_after(username=username, ip=client_ip(request.META))
        response = view(request, *args, **kwargs)
        if wait is not None and response.status_code == 200:
            response.status_code = 429
            response["Retry-After"] = str(wait)
        return response

    return wrapped
