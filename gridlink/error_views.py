"""Error responses in the caller's format, for every status and every way a request fails.

- Under `/api/`: JSON in the API's error shape, `{"detail": …, "errors": [{"code", "field",
  "message"}]}` (docs/cases.md).
- Under `/open311/`: the Open311 error document, XML or JSON after the path's format
  (`requests.json` → JSON; anything else → XML, the spec's default).
- Elsewhere (web pages, admin): HTML.

Django's own error handlers (`handler400/403/404/500` in `gridlink/urls.py`) and the API's
exception handlers both come here, so an oversized body (413), a multipart body without a
boundary, too many fields, an unknown URL, a method not allowed and an unexpected exception
(500, never with a traceback) all answer the same way. `ErrorFormatMiddleware` catches the
rest (e.g. ninja's plain-text 405).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.html import escape
from django.views import defaults

logger = logging.getLogger("django.request")

API_PREFIX = "/api/"
OPEN311_PREFIX = "/open311/"

# Status → (code, message) when nothing more specific is known.
GENERIC: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request could not be read."),
    401: ("unauthenticated", "Authentication required: sign in or send a Bearer API token."),
    403: ("forbidden", "You may not do this."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "This method is not allowed here."),
    406: ("not_acceptable", "This format cannot be produced."),
    409: ("conflict", "The request conflicts with the current state."),
    413: ("too_large", "The request body is too large."),
    415: ("unsupported_media_type", "This content type is not accepted."),
    429: ("rate_limited", "Too many requests; try again later."),
    500: ("server_error", "Something went wrong on our side; the error has been logged."),
}


def error_kind(path: str) -> str:
    """ "api", "open311" or "html": which format an error at `path` is written in."""
    if path.startswith(API_PREFIX):
        return "api"
    if path.startswith(OPEN311_PREFIX):
        return "open311"
    return "html"


def open311_format(path: str) -> str:
    return "json" if path.rstrip("/").lower().endswith(".json") else "xml"


def exception_reply(exc: BaseException | None) -> tuple[int, str, str]:
    """(status, code, message) for an exception raised while reading or serving a request."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        return 413, "too_large", f"The request body is larger than the {limit:,} bytes accepted."
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS or 0
        return 400, "too_many_fields", f"The request has more than {limit:,} fields."
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES or 0
        return 400, "too_many_files", f"The request has more than {limit:,} files."
    if isinstance(exc, MultiPartParserError):
        return 400, "bad_multipart", f"The multipart body could not be read: {exc}"
    if isinstance(exc, SuspiciousOperation | BadRequest):
        return 400, "bad_request", GENERIC[400][1]
    if isinstance(exc, PermissionDenied):
        return 403, *GENERIC[403]
    if isinstance(exc, Http404):
        return 404, *GENERIC[404]
    return 500, *GENERIC[500]


def api_error_body(message: str, *, code: str, field: str | None = None) -> dict[str, Any]:
    return {"detail": message, "errors": [{"code": code, "field": field, "message": message}]}


def error_response(
    request: HttpRequest, status: int, message: str, *, code: str, field: str | None = None
) -> HttpResponse:
    """One error in the format of the part of the site `request` went to."""
    kind = error_kind(request.path)
    if kind == "api":
        body = api_error_body(message, code=code, field=field)
        return JsonResponse(body, status=status)
    if kind == "open311":
        from gridlink.open311.formats import render_errors

        description = f"{field}: {message}" if field else message
        return render_errors(open311_format(request.path), [(status, description)], status=status)
    title = escape(GENERIC.get(status, ("", "Error"))[1])
    text = escape(f"{field}: {message}" if field else message)
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{status}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>"
    )
    return HttpResponse(html, status=status, content_type="text/html; charset=utf-8")


def exception_response(request: HttpRequest, exc: BaseException | None) -> HttpResponse:
    status, code, message = exception_reply(exc)
    if status == 500:
        logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=(type(exc), exc, exc.__traceback__) if exc is not None else None,
        )
    return error_response(request, status, message, code=code)


# --- Django's error handlers (gridlink/urls.py) -------------------------------------------------


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    status, code, message = exception_reply(exception)
    if status == 500:  # a 400 handler only ever answers 4xx
        status, (code, message) = 400, GENERIC[400]
    if error_kind(request.path) == "html" and status == 400:
        return defaults.bad_request(request, exception)  # type: ignore[arg-type]  # stub wants Exception
    return error_response(request, status, message, code=code)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if error_kind(request.path) == "html":
        return defaults.permission_denied(request, exception)  # type: ignore[arg-type]  # as above
    return error_response(request, 403, GENERIC[403][1], code=GENERIC[403][0])


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if error_kind(request.path) == "html":
        return defaults.page_not_found(request, exception)
    return error_response(request, 404, GENERIC[404][1], code=GENERIC[404][0])


def server_error(request: HttpRequest) -> HttpResponse:
    if error_kind(request.path) == "html":
        return defaults.server_error(request)
    return error_response(request, 500, GENERIC[500][1], code=GENERIC[500][0])
