"""Writing to the outbox and delivering it.

1. A service that changes state calls `outbox_put()` inside its own `transaction.atomic()`:
   the entry commits or rolls back with the change.
2. The worker (`tasks.deliver_outbox`, every 15 s) calls `outbox_dispatch()`, which fans
   new entries out into one `Delivery` per matching active endpoint and per e-mail address,
   then `deliveries_attempt()`, which tries each due delivery once.
3. Claiming a delivery moves its `next_attempt_at` forward by a lease and counts the
   attempt, in a short transaction (rows locked with SKIP LOCKED on PostgreSQL). The HTTP
   call or e-mail happens outside any transaction; then the result is recorded. A worker
   that dies mid-way leaves the delivery to be claimed again when the lease runs out, so
   delivery is at least once: receivers de-duplicate on the delivery id.
4. A failed attempt is retried after `backoff * 2**(attempts-1)` seconds; after
   GRIDLINK_WEBHOOK_MAX_ATTEMPTS attempts the delivery is marked failed and left alone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from gridlink.accounts.models import User
from gridlink.core.audit import audit_record
from gridlink.core.errors import DomainError, changes_apply
from gridlink.outbox.models import (
    LAST_ERROR_MAX,
    TOPIC_RE,
    Delivery,
    OutboxEntry,
    WebhookEndpoint,
    new_secret,
)
from gridlink.outbox.transport import Outcome, email_send, webhook_post

log = logging.getLogger(__name__)

CLAIM_BATCH = 10  # deliveries claimed at a time, so that a lease covers the whole batch
LEASE_GRACE_SECONDS = 30
PURGE_AFTER = dt.timedelta(days=30)


def outbox_put(
    *,
    topic: str,
    payload: dict[str, Any],
    emails: Sequence[str] = (),
    email_subject: str = "",
    email_body: str = "",
) -> OutboxEntry:
    """Record an event to deliver. Call inside the caller's transaction: if it rolls back,
    nothing is sent.

    `topic` is a dotted name (`case.created`); `payload` must be JSON-serialisable (dates,
    UUIDs and decimals become strings). Each address in `emails` gets `email_subject` and
    `email_body`. Wrong arguments are programming errors and raise `ValueError`.
    """
    if not TOPIC_RE.match(topic):
        raise ValueError(f"outbox topic {topic!r} is not a dotted lowercase name")
    addresses: list[str] = []
    for raw in emails:
        address = raw.strip()
        try:
            validate_email(address)
        except ValidationError:
            raise ValueError("outbox e-mail recipient is not a valid address") from None
        if address not in addresses:
            addresses.append(address)
    if addresses and not email_subject.strip():
        raise ValueError("outbox e-mails need a subject")
    return OutboxEntry.objects.create(
        topic=topic,
        payload=payload,
        emails=addresses,
        email_subject=email_subject.strip(),
        email_body=email_body,
    )


def _skip_locked() -> bool:
    """PostgreSQL locks and skips rows; SQLite serialises writers, so a plain read is safe."""
    return bool(connection.features.has_select_for_update_skip_locked)


def outbox_dispatch(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Fan new entries out into deliveries (one per active endpoint whose topics match, one
    per e-mail address). Returns how many deliveries were created."""
    now = now or timezone.now()
    with transaction.atomic():
        pending = OutboxEntry.objects.filter(dispatched_at__isnull=True).order_by("id")
        if _skip_locked():
            pending = pending.select_for_update(skip_locked=True)
        entries = list(pending[:limit])
        if not entries:
            return 0
        endpoints = list(WebhookEndpoint.objects.filter(active=True))
        rows: list[Delivery] = []
        for entry in entries:
            rows += [
                Delivery(entry=entry, endpoint=endpoint, next_attempt_at=now, created_at=now)
                for endpoint in endpoints
                if endpoint.wants(entry.topic)
            ]
            rows += [
                Delivery(entry=entry, email=address, next_attempt_at=now, created_at=now)
                for address in entry.emails
            ]
        ids = [entry.pk for entry in entries]
        before = Delivery.objects.filter(entry_id__in=ids).count()
        # The unique constraints make a repeated fan-out of the same entry a no-op.
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        OutboxEntry.objects.filter(pk__in=ids).update(dispatched_at=now)
        return Delivery.objects.filter(entry_id__in=ids).count() - before


def deliveries_attempt(*, now: dt.datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Try every due delivery once: POST webhooks / send e-mails; on failure schedule the
    next attempt with exponential backoff (backoff * 2**(attempts-1)), mark failed after
    max attempts. Returns counts {"delivered": n, "retrying": n, "failed": n}.

    `now` fixes the clock (tests); by default each batch reads the current time.
    """

    def clock() -> dt.datetime:
        return now or timezone.now()

    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    while (done := sum(counts.values())) < limit:
        batch, gave_up = _deliveries_claim(now=clock(), limit=min(CLAIM_BATCH, limit - done))
        counts["failed"] += gave_up
        if not batch and not gave_up:
            break
        for delivery in batch:
            outcome = _send(delivery)
            counts[_delivery_record(delivery, outcome, now=clock())] += 1
    return counts


def _deliveries_claim(*, now: dt.datetime, limit: int) -> tuple[list[Delivery], int]:
    """Lease up to `limit` due deliveries and count their attempt. Returns them, and how many
    were given up instead (out of attempts: a worker stopped during their last one)."""
    max_attempts = settings.GRIDLINK_WEBHOOK_MAX_ATTEMPTS
    lease = dt.timedelta(
        seconds=settings.GRIDLINK_WEBHOOK_TIMEOUT_SECONDS * limit + LEASE_GRACE_SECONDS
    )
    with transaction.atomic():
        due = Delivery.objects.filter(
            status=Delivery.Status.PENDING, next_attempt_at__lte=now
        ).order_by("next_attempt_at", "id")
        if _skip_locked():
            due = due.select_for_update(skip_locked=True)
        claimed = list(due.values_list("id", "attempts")[:limit])
        spent = [pk for pk, attempts in claimed if attempts >= max_attempts]
        ids = [pk for pk, attempts in claimed if attempts < max_attempts]
        Delivery.objects.filter(pk__in=spent).update(
            status=Delivery.Status.FAILED,
            last_error="gave up: the worker stopped during the last attempt",
        )
        Delivery.objects.filter(pk__in=ids).update(
            attempts=F("attempts") + 1, next_attempt_at=now + lease
        )
    batch = Delivery.objects.filter(pk__in=ids).select_related("entry", "endpoint")
    return list(batch.order_by("next_attempt_at", "id")), len(spent)


def _send(delivery: Delivery) -> Outcome:
    if delivery.endpoint is not None:
        return webhook_post(delivery, delivery.endpoint)
    return email_send(delivery)


def _delivery_record(delivery: Delivery, outcome: Outcome, *, now: dt.datetime) -> str:
    """Store the result of one attempt; return "delivered", "retrying" or "failed"."""
    target = f"endpoint {delivery.endpoint_id}" if delivery.endpoint_id else "e-mail"
    pending = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING)
    if outcome.ok:
        pending.update(
            status=Delivery.Status.DELIVERED,
            delivered_at=now,
            last_status_code=outcome.status_code,
            last_error="",
        )
        log.info("outbox delivery %s to %s delivered", delivery.delivery_id, target)
        return "delivered"
    changes: dict[str, Any] = {
        "last_status_code": outcome.status_code,
        "last_error": outcome.error[:LAST_ERROR_MAX],
    }
    if delivery.attempts >= settings.GRIDLINK_WEBHOOK_MAX_ATTEMPTS:
        pending.update(status=Delivery.Status.FAILED, **changes)
        result = "failed"
    else:
        delay = settings.GRIDLINK_WEBHOOK_BACKOFF_SECONDS * 2 ** (delivery.attempts - 1)
        pending.update(next_attempt_at=now + dt.timedelta(seconds=delay), **changes)
        result = "retrying"
    # Status codes and network errors only: never the address, payload or text.
    log.warning(
        "outbox delivery %s to %s attempt %d %s (%s)",
        delivery.delivery_id,
        target,
        delivery.attempts,
        result,
        outcome.status_code if outcome.status_code else "no response",
    )
    return result


def outbox_purge(*, now: dt.datetime | None = None, older_than: dt.timedelta = PURGE_AFTER) -> int:
    """Delete delivered deliveries, then entries with no deliveries left, older than
    `older_than`. Failed and pending deliveries stay for inspection. Returns rows deleted."""
    before = (now or timezone.now()) - older_than
    with transaction.atomic():
        deliveries, _detail = Delivery.objects.filter(
            status=Delivery.Status.DELIVERED, delivered_at__lt=before
        ).delete()
        entries, _detail = OutboxEntry.objects.filter(
            dispatched_at__lt=before, deliveries__isnull=True
        ).delete()
    return deliveries + entries


def endpoint_create(
    *,
    actor: User | None,
    url: str,
    topics: list[str],
    secret: str | None = None,
    description: str = "",
) -> WebhookEndpoint:
    """Register a webhook receiver. A secret is generated unless one is given.

    Raises `DomainError` naming the field (`url`, `topics`, `secret`, `description`).
    """
    endpoint = WebhookEndpoint(
        url=url.strip(),
        topics=list(topics),
        secret=secret or new_secret(),
        description=description.strip(),
        created_by=actor,
    )
    _full_clean(endpoint)
    with transaction.atomic():
        endpoint.save()
        audit_record(
            actor=actor,
            action="webhook.endpoint_created",
            target_type="webhook_endpoint",
            target_id=endpoint.pk,
            data={"host": urlsplit(endpoint.url).hostname, "topics": endpoint.topics},
        )
    return endpoint


def endpoint_remove(*, actor: User | None, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint together with its deliveries (pending ones are never sent)."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="webhook.endpoint_removed",
            target_type="webhook_endpoint",
            target_id=endpoint.pk,
            data={"host": urlsplit(endpoint.url).hostname, "topics": endpoint.topics},
        )
        endpoint.delete()


ENDPOINT_FIELDS = ("topics", "active", "description")


def endpoint_update(
    *, actor: User | None, endpoint: WebhookEndpoint, changes: dict[str, Any]
) -> WebhookEndpoint:
    """Change the topics, description or `active` flag (the URL and secret stay: register a
    new endpoint to move). Raises `DomainError` naming the field."""
    changed = changes_apply(endpoint, changes, ENDPOINT_FIELDS)
    if not changed:
        return endpoint
    # The URL cannot change here, so it is not checked again: an endpoint whose address is
    # now refused can still be paused (and its deliveries are refused when sent).
    _full_clean(endpoint, exclude=["url"])
    with transaction.atomic():
        endpoint.save(update_fields=changed)
        audit_record(
            actor=actor,
            action="webhook.endpoint_changed",
            target_type="webhook_endpoint",
            target_id=endpoint.pk,
            data={"fields": sorted(changed), "topics": endpoint.topics, "active": endpoint.active},
        )
    return endpoint


def _full_clean(instance: WebhookEndpoint, exclude: Sequence[str] = ()) -> None:
    try:
        instance.full_clean(exclude=["created_by", *exclude])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(messages[0], code="invalid", field=field) from None
