"""The authentication backend: Django's model backend behind the sign-in throttle."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from gridlink.accounts.throttle import login_attempt_begin, login_attempt_succeeded
from gridlink.core.audit import client_ip


class ThrottledModelBackend(ModelBackend):
    """Refuses every password check (right or wrong) while the username or address is locked."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        ip = client_ip(request.META) if request is not None else None
        if not username:
            return super().authenticate(request, username=username, password=password, **kwargs)
        # Reserve the failure first (atomic), so concurrent guesses cannot pass the limit.
        if login_attempt_begin(username=username, ip=ip) is not None:
            if request is not None:
                # Tells the audit receiver this was refused, not failed: refusals while
                # locked must not extend the lock.
                request.gridlink_login_refused = True  # type: ignore[attr-defined]
            raise PermissionDenied("too many failed sign-ins")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            login_attempt_succeeded(username=username, ip=ip)
        return user
