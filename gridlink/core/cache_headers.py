"""`Cache-Control: no-store` on every response that may hold personal data.

One honest rule instead of a judgement per view: every response under `/api/`, every
Open311 response (requests, tokens and updates carry request data) unless its view marked it
`public` on purpose (the photo behind a request's `media_url`), and every page shown to a
signed-in user. Browsers and shared caches then keep none of them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class NoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self._holds_personal_data(request, response):
            patch_cache_control(response, no_store=True)
        return response

    @staticmethod
    def _holds_personal_data(request: HttpRequest, response: HttpResponse) -> bool:
        if request.path.startswith("/api/"):
            return True
        if request.path.startswith("/open311/"):
            return "public" not in response.get("Cache-Control", "")
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated)
