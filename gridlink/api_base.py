"""What the API object and the apps' routers share, without the routers importing the API
object (`gridlink/api.py` mounts them): the two authentication methods, the JSON renderer
and `json_response`, the response the API itself would render."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja.renderers import JSONRenderer
from ninja.security import APIKeyHeader, SessionAuth

from gridlink.core.inputs import json_text_safe


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


class SafeJSONRenderer(JSONRenderer):
    """UTF-8 JSON without control characters or lone surrogates, even from stored data."""

    json_dumps_params = {"ensure_ascii": False}

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> Any:
        return json_text_safe(super().render(request, data, response_status=response_status))


class SessionCookie(SessionAuth):
    """The browser's session: only a request carrying the session cookie is checked (and then
    must pass CSRF on writes). Without the cookie this method does not apply, so a
    non-browser client with neither cookie nor bearer token is anonymous on public
    endpoints, instead of being refused for a missing CSRF cookie."""

    def _get_key(self, request: HttpRequest) -> str | None:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super()._get_key(request)


RENDERER = SafeJSONRenderer()


def json_response(request: HttpRequest, data: Any, *, status: int) -> HttpResponse:
    """`data` as the API renders it (same renderer, same content type), for the operations
    that add headers to their answer."""
    return HttpResponse(
        RENDERER.render(request, data, response_status=status),
        status=status,
        content_type=f"{RENDERER.media_type}; charset={RENDERER.charset}",
    )
