"""Webhook endpoints (editable by admins) and deliveries (read-only, filterable by status).

Outbox entries are not shown: their payloads and e-mail texts may hold personal data.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from gridlink.core.admin import ReadOnlyAdmin
from gridlink.outbox.models import Delivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    list_display = ["id", "url", "topics", "active", "description", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "description"]
    readonly_fields = ["created_at", "created_by"]
    fields = ["url", "topics", "active", "description", "secret", "created_at", "created_by"]

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        if not change and request.user.is_authenticated:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "delivery_id",
        "topic",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "delivered_at",
    ]
    list_filter = ["status", "endpoint"]
    list_select_related = ["entry", "endpoint"]
    search_fields = ["delivery_id"]
    exclude = ["email"]  # an address is personal data; the list says "e-mail" instead

    @admin.display(description=_("topic"), ordering="entry__topic")
    def topic(self, obj: Delivery) -> str:
        return obj.entry.topic
