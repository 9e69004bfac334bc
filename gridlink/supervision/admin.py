"""Supervision orders in the back-office: a read-only list (writes go through the API)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from gridlink.supervision.models import SupervisionEvent, SupervisionOrder
from gridlink.supervision.selectors import orders_visible_to

if TYPE_CHECKING:
    EventInlineBase = admin.TabularInline[SupervisionEvent, SupervisionOrder]
else:
    EventInlineBase = admin.TabularInline  # generic only in the type stubs


class SupervisionEventInline(EventInlineBase):
    model = SupervisionEvent
    extra = 0
    fields = ("at", "kind", "actor", "text")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SupervisionOrder)
class SupervisionOrderAdmin(admin.ModelAdmin[SupervisionOrder]):
    list_display = ("code", "level", "state", "overdue", "escalation_count", "opened_at",
                    "deadline_at", "opened_by")  # fmt: skip
    list_filter = ("state", "level", "overdue", "escalated")
    search_fields = ("code", "instructions")
    date_hierarchy = "opened_at"
    inlines = [SupervisionEventInline]
    list_select_related = ("opened_by",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[SupervisionOrder]:
        return super().get_queryset(request).filter(pk__in=orders_visible_to(request.user))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in SupervisionOrder._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
