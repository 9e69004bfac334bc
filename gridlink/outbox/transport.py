"""Sending one delivery: a signed webhook POST over http.client, or one e-mail through Django.

Each function returns an `Outcome` and never raises for network or receiver trouble; the
caller records it. Nothing here logs addresses, payloads or e-mail text.

A webhook's host is checked again at every delivery (`netguard.delivery_addresses`) and the
connection goes to one of the addresses just checked (`_PinnedHTTPConnection`), never to a
name resolved a second time. TLS still verifies the certificate against the URL's host name.
Redirects are never followed, and no proxy is used: a proxy would resolve the name again.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder

from gridlink.outbox.models import Delivery, WebhookEndpoint
from gridlink.outbox.netguard import AddressRefused, IPAddress, delivery_addresses, url_port
from gridlink.outbox.signing import signature_for

USER_AGENT = "gridlink-webhook/1"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str = ""


def _connect(addresses: list[IPAddress], port: int, timeout: float | None) -> socket.socket:
    """A TCP connection to the first of `addresses` that answers."""
    last: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((str(address), port), timeout=timeout)
        except OSError as exc:
            last = exc
    raise last or OSError("no address to connect to")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to one of the checked `addresses`; the Host header keeps the URL's host."""

    def __init__(self, host: str, port: int, *, addresses: list[IPAddress], timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.addresses = addresses

    def connect(self) -> None:
        self.sock = _connect(self.addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to one of the checked `addresses`, verifying the certificate for the URL's host."""

    def __init__(self, host: str, port: int, *, addresses: list[IPAddress], timeout: float):
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.addresses = addresses

    def connect(self) -> None:
        sock = _connect(self.addresses, self.port, self.timeout)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


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
    """POST the signed envelope; any non-2xx answer (redirects included), timeout, network
    error or refused address is a failure."""
    try:
        parts, addresses = delivery_addresses(endpoint.url)
    except AddressRefused as exc:
        return Outcome(ok=False, error=f"refused: {exc.message}")
    body = webhook_body(delivery)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Gridlink-Delivery": str(delivery.delivery_id),
        "X-Gridlink-Topic": delivery.entry.topic,
        "X-Gridlink-Timestamp": str(timestamp),
        "X-Gridlink-Signature": signature_for(endpoint.secret, timestamp, body),
    }
    kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = kind(
        str(parts.hostname),
        url_port(parts),
        addresses=addresses,
        timeout=settings.GRIDLINK_WEBHOOK_TIMEOUT_SECONDS,
    )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=headers)
        reply = connection.getresponse()
        reply.read(64 * 1024)  # a bounded look at the answer; it is not kept
        if 200 <= reply.status < 300:
            return Outcome(ok=True, status_code=reply.status)
        error = f"HTTP {reply.status} {reply.reason}"
        return Outcome(ok=False, status_code=reply.status, error=error)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()


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
