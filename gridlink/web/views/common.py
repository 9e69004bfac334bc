"""What the page modules share: the capability check, the request type, htmx partials,
and how a service's refusal reaches a form."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from gridlink.accounts.permissions import has_capability
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.core.ratelimit import RateLimited

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from gridlink.accounts.models import User

    class AuthedRequest(HttpRequest):
        user: User
        htmx: HtmxDetails


View = Callable[..., HttpResponse]


def capability_required(capability: str) -> Callable[[View], View]:
    """Sign-in required, then 403 unless the user holds `capability` somewhere."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_capability(request.user, capability):
                raise PermissionDenied(_("Your roles do not include this page."))
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


def htmx_partial(request: AuthedRequest, template: str, name: str) -> str:
    """The partial `template#name` for an htmx request, else the whole `template`."""
    return f"{template}#{name}" if request.htmx else template


def add_refusal(
    form: forms.Form, exc: DomainError, *, field_aliases: Mapping[str, str] | None = None
) -> int:
    """Put a service's refusal on `form` and return the status to answer with.

    `NotPermitted` goes on the form as a whole, answered with 403; `RateLimited` too,
    answered with 429 (add its `Retry-After` with `retry_after_set`). Any other `DomainError`
    goes on the field it names (after `field_aliases`, service argument → form field) when
    the form has that field, else on the form, answered with 200.
    """
    if isinstance(exc, NotPermitted):
        form.add_error(None, exc.message)
        return 403
    if isinstance(exc, RateLimited):
        form.add_error(None, exc.message)
        return 429
    field = (field_aliases or {}).get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, exc.message)
    return 200


def retry_after_set(response: HttpResponse, exc: DomainError | None) -> HttpResponse:
    """A page answering a rate limit (429) carries the true wait in `Retry-After`."""
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response
