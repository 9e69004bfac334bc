"""The JSON API under /api/v1/: one NinjaAPI mounting one router per app."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyHeader, SessionAuth

from gridlink.core.errors import DomainError


class BearerToken(APIKeyHeader):
    """`Authorization: Bearer gl_<key id>_<secret>` for machine clients."""

    param_name = "Authorization"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        from gridlink.accounts.models import TOKEN_PREFIX, ApiToken

        if not key or not key.startswith("Bearer "):
            return None
        parts = key.removeprefix("Bearer ").strip().split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            return None
        token = ApiToken.objects.select_related("user").filter(key_id=parts[1]).first()
        if token is None or not token.is_usable or not token.matches(parts[2]):
            return None
        if not token.user.is_active:
            return None
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        request.user = token.user
        return token.user


class SessionCookie(SessionAuth):
    """The browser's session: only a request carrying the session cookie is checked (and then
    must pass CSRF on writes). Without the cookie this method does not apply, so a
    non-browser client with neither cookie nor bearer token is anonymous on public
    endpoints, instead of being refused for a missing CSRF cookie."""

    def _get_key(self, request: HttpRequest) -> str | None:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super()._get_key(request)


api = NinjaAPI(
    title="gridlink API",
    version="1",
    urls_namespace="api",
    auth=[BearerToken(), SessionCookie()],  # the bearer token first; a session needs CSRF
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    response = api.create_response(
        request,
        # A refusal may carry several field errors (e.g. `InvalidFields`); list them all.
        {"detail": exc.message, "errors": getattr(exc, "errors", None) or [exc.as_dict()]},
        status=exc.status,
    )
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request,
        {"detail": "Authentication required: sign in or send a Bearer API token."},
        status=401,
    )


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "code": str(err.get("type", "invalid")),
            "field": ".".join(str(p) for p in err.get("loc", [])[1:]) or None,
            "message": str(err.get("msg", "invalid value")),
        }
        for err in exc.errors
    ]
    return api.create_response(
        request, {"detail": "The request has invalid fields.", "errors": errors}, status=422
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


def _mount() -> None:
    from gridlink.assessment.api import router as assessment_router
    from gridlink.cases.api import router as cases_router
    from gridlink.cases.case_api import router as case_router
    from gridlink.geo.api import router as geo_router
    from gridlink.registry.api import router as registry_router
    from gridlink.supervision.api import router as supervision_router

    api.add_router("/", geo_router)
    api.add_router("/registry/", registry_router)
    api.add_router("/", cases_router)
    api.add_router("/", case_router)
    api.add_router("/supervision/", supervision_router)
    api.add_router("/assessment/", assessment_router)


_mount()
