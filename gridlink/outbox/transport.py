"""Sending one delivery: a signed webhook POST over urllib, or one e-mail through Django.

Each function returns an `Outcome` and never raises for network or receiver trouble; the
caller records it. Nothing here logs addresses, payloads or e-mail text.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import IO, Any

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder

from gridlink.outbox.models import Delivery, WebhookEndpoint
from gridlink.outbox.signing import signature_for

USER_AGENT = "gridlink-webhook/1"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str = ""


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: the 3xx reaches the error handler and counts as a failure."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    """HTTP(S) only (no file:, ftp:, data: handlers), proxies from the environment."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        _RefuseRedirects(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def webhook_body(delivery: Delivery) -> bytes:
    """The JSON envelope, compact and with sorted keys, as UTF-8."""
    entry = delivery.entry
    envelope: dict[str, Any] = {
        "delivery_id": str(delivery.delivery_id),
        "topic": entry.topic,
        "created_at": entry.created_at.isoformat(),
        "payload": entry.payload,
    }
    text = json.dumps(
        envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder
    )
    return text.encode("utf-8")


def webhook_post(delivery: Delivery, endpoint: WebhookEndpoint) -> Outcome:
    """POST the signed envelope; any non-2xx answer, timeout or network error is a failure."""
    body = webhook_body(delivery)
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310  (endpoint URLs are validated http(s); the opener has no other handlers)
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Gridlink-Delivery": str(delivery.delivery_id),
            "X-Gridlink-Topic": delivery.entry.topic,
            "X-Gridlink-Timestamp": str(timestamp),
            "X-Gridlink-Signature": signature_for(endpoint.secret, timestamp, body),
        },
    )
    try:
        with _opener().open(request, timeout=settings.GRIDLINK_WEBHOOK_TIMEOUT_SECONDS) as reply:
            return Outcome(ok=True, status_code=reply.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return Outcome(ok=False, status_code=exc.code, error=f"HTTP {exc.code} {exc.reason}")
    except urllib.error.URLError as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc.reason}")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}")


def email_send(delivery: Delivery) -> Outcome:
    """Send the entry's e-mail to this delivery's one address."""
    entry = delivery.entry
    try:
        send_mail(
            entry.email_subject,
            entry.email_body,
            settings.DEFAULT_FROM_EMAIL,
            [delivery.email],
        )
    except (OSError, ValueError) as exc:  # SMTPException is an OSError; bad headers a ValueError
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}")
    return Outcome(ok=True)
