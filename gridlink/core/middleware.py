"""Refuse requests carrying NUL characters before any view sees them.

No field of gridlink may contain U+0000, and PostgreSQL cannot store it in text (psycopg
raises DataError), so it is answered once, here, with a 400 that says why — instead of a
500 from wherever the value would first reach the database.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, JsonResponse

MESSAGE = "The request contains a NUL character (U+0000), which no field accepts."


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._has_nul(request):
            if request.path.startswith("/api/"):
                body = {
                    "detail": MESSAGE,
                    "errors": [{"code": "nul", "field": None, "message": MESSAGE}],
                }
                return JsonResponse(body, status=400)
            return HttpResponse(MESSAGE, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _has_nul(request: HttpRequest) -> bool:
        if "\x00" in request.path:
            return True
        query = request.META.get("QUERY_STRING", "")
        if query and b"\x00" in unquote_to_bytes(query.replace("+", " ")):
            return True
        if request.content_type == "application/json":
            body = request.body
            return b"\x00" in body or b"\\u0000" in body
        return False
