"""The request guard every endpoint shares, and errors in the caller's format.

`HostileInputMiddleware` refuses, before any view sees them, requests whose text carries a
character no field of gridlink accepts (`core.inputs.text_problem`: NUL, the other C0
controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF): in the path, in any query
parameter, in a form or multipart field (names and values; file contents are the photo
checks' business), and in any other body (JSON whatever its content type says — ninja
reads JSON sent as `text/plain` or without a content type too). PostgreSQL cannot store
NUL in text and XML cannot carry controls, so the refusal is a 400 naming the field,
instead of a 500 from wherever the value would first reach the database or a document.

It also makes every error under `/api/` and `/open311/` come in that part's format: an
error response that is not (ninja's plain-text 405, Django's HTML CSRF page, …) is replaced
by the same status in the right format (`gridlink.error_views`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qsl

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from gridlink.core.inputs import text_problem, value_text_problem

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def request_text_problem(request: HttpRequest) -> tuple[str | None, str] | None:
    """(field, problem) for the first refused character in the request, or None."""
    problem = text_problem(request.path)
    if problem:
        return "path", problem
    query = request.META.get("QUERY_STRING", "")
    if query:
        # Decode percent-escapes as the views will (invalid UTF-8 becomes U+FFFD, harmless).
        for name, value in parse_qsl(query, keep_blank_values=True):
            problem = text_problem(name) or text_problem(value)
            if problem:
                return name[:100], problem
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if request.content_type in FORM_TYPES:
        if request.method != "POST":
            return None  # Django parses forms of POST only; the views read nothing else
        for name, values in request.POST.lists():
            for value in [name, *values]:
                problem = text_problem(value)
                if problem:
                    return name[:100], problem
        for name, uploads in request.FILES.lists():
            for upload in uploads:
                problem = text_problem(name) or text_problem(getattr(upload, "name", "") or "")
                if problem:
                    return name[:100], problem
        return None
    body = request.body
    if not body:
        return None
    try:
        decoded = json.loads(body)
    except ValueError:
        # Not JSON (or not UTF-8): refuse raw controls; the view refuses the rest.
        text = body.decode("utf-8", errors="replace")
        problem = text_problem(text)
        return (None, problem) if problem else None
    found = value_text_problem(decoded)
    if found is None:
        return None
    where, problem = found
    return where or None, problem


class HostileInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        from gridlink.error_views import error_response  # the project's top level, not core's

        found = request_text_problem(request)
        if found is not None:
            field, problem = found
            return error_response(request, 400, problem, code="control_character", field=field)
        response = self.get_response(request)
        return self._in_format(request, response)

    @staticmethod
    def _in_format(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        from gridlink.error_views import GENERIC, error_kind, error_response

        if response.status_code < 400 or response.streaming:
            return response
        kind = error_kind(request.path)
        content_type = response.get("Content-Type", "")
        if kind == "html":
            return response
        if kind == "api" and content_type.startswith("application/json"):
            return response
        if kind == "open311" and content_type.split(";")[0] in (
            "application/json",
            "text/xml",
        ):
            return response
        status = response.status_code
        code, message = GENERIC.get(status, (f"http_{status}", f"HTTP status {status}."))
        replaced: HttpResponse = error_response(request, status, message, code=code)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                replaced[header] = response[header]
        return replaced
