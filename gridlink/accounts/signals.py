"""Sign-in, sign-out and failed sign-in go to the audit log (security-relevant actions)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from gridlink.core.audit import audit_record, client_ip


def _ip(request: HttpRequest | None) -> str | None:
    return client_ip(request.META) if request is not None else None


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    audit_record(
        actor=user, action="auth.login", target_type="user", target_id=user.pk, ip=_ip(request)
    )


@receiver(user_logged_out)
def _logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(
            actor=user, action="auth.logout", target_type="user", target_id=user.pk, ip=_ip(request)
        )


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # The username is recorded (it identifies the targeted account); the password never is.
    refused = getattr(request, "gridlink_login_refused", False)
    audit_record(
        actor=None,
        action="auth.login_refused" if refused else "auth.login_failed",
        target_type="user",
        target_id=str(credentials.get("username", ""))[:64],
        ip=_ip(request),
        outcome="refused" if refused else "failure",
    )
