"""Webhook signatures: HMAC-SHA256 over `"{timestamp}.{body}"` with the endpoint secret.

Receivers may import these helpers or copy the few lines (see `docs/outbox.md`).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_PREFIX = "sha256="


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def signature_for(secret: str, timestamp: int | str, body: str | bytes) -> str:
    """The `X-Gridlink-Signature` value: `sha256=<hex>` of `"{timestamp}.{body}"`."""
    message = f"{timestamp}.".encode() + _as_bytes(body)
    digest = hmac.new(_as_bytes(secret), message, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def signature_verify(
    secret: str,
    timestamp: int | str,
    body: str | bytes,
    signature: str,
    *,
    max_age_seconds: int | None = 300,
    now: float | None = None,
) -> bool:
    """True if `signature` is right for the body and the timestamp is recent enough.

    The comparison takes constant time. `max_age_seconds=None` skips the freshness check
    (which guards against replayed requests).
    """
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if max_age_seconds is not None:
        current = time.time() if now is None else now
        if abs(current - sent_at) > max_age_seconds:
            return False
    return hmac.compare_digest(signature_for(secret, sent_at, body), signature)
