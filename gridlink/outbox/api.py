"""Webhook endpoints through the API (`/api/v1/admin/webhooks`), for superusers.

The signing secret is returned once, when the endpoint is created (or given by the caller);
lists never show it. Every change is audited by `outbox.services`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from pydantic import Field

from gridlink.accounts.api import require_superuser
from gridlink.outbox.models import Delivery, WebhookEndpoint
from gridlink.outbox.services import endpoint_create, endpoint_remove, endpoint_update

router = Router(tags=["configuration"])


class WebhookOut(Schema):
    id: int
    url: str
    topics: list[str]
    active: bool
    description: str
    created_at: dt.datetime
    pending: int
    failed: int


class WebhookCreated(WebhookOut):
    secret: str


class WebhookIn(Schema):
    url: str = Field(min_length=1, max_length=500)
    topics: list[str] = Field(min_length=1, max_length=50)
    secret: str | None = Field(None, min_length=16, max_length=128)
    description: str = Field("", max_length=200)


class WebhookPatch(Schema):
    topics: list[str] | None = Field(None, min_length=1, max_length=50)
    active: bool | None = None
    description: str | None = Field(None, max_length=200)


def webhook_out(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "topics": list(endpoint.topics),
        "active": endpoint.active,
        "description": endpoint.description,
        "created_at": endpoint.created_at,
        "pending": getattr(endpoint, "n_pending", 0),
        "failed": getattr(endpoint, "n_failed", 0),
    }


def _endpoints() -> Any:
    from django.db.models import Count, Q

    return WebhookEndpoint.objects.annotate(
        n_pending=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.PENDING)),
        n_failed=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
    ).order_by("id")


@router.get("/admin/webhooks", response=list[WebhookOut])
def webhooks_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Every endpoint with its pending and failed deliveries (never the secret)."""
    require_superuser(request)
    return [webhook_out(e) for e in _endpoints()]


@router.post("/admin/webhooks", response={201: WebhookCreated})
def webhooks_create(request: HttpRequest, body: WebhookIn) -> Status[dict[str, Any]]:
    """Register a receiver; the response carries the signing secret, shown this once."""
    actor = require_superuser(request)
    endpoint = endpoint_create(actor=actor, **body.dict())
    return Status(201, {**webhook_out(endpoint), "secret": endpoint.secret})


@router.patch("/admin/webhooks/{endpoint_id}", response=WebhookOut)
def webhooks_update(request: HttpRequest, endpoint_id: int, body: WebhookPatch) -> dict[str, Any]:
    """Change the topics, the description, or pause (`active: false`) an endpoint."""
    actor = require_superuser(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    endpoint_update(actor=actor, endpoint=endpoint, changes=body.dict(exclude_none=True))
    return webhook_out(_endpoints().get(pk=endpoint.pk))


@router.delete("/admin/webhooks/{endpoint_id}", response={204: None})
def webhooks_remove(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """Remove an endpoint and its deliveries (pending ones are never sent)."""
    actor = require_superuser(request)
    endpoint_remove(actor=actor, endpoint=get_object_or_404(WebhookEndpoint, pk=endpoint_id))
    return HttpResponse(status=204)
