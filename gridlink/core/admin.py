"""Read-only views of the append-only logs and the worker heartbeats."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from gridlink.core.models import AccessRecord, AuditEvent, WorkerHeartbeat


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "seq",
        "at",
        "actor_username",
        "action",
        "target_type",
        "target_id",
        "ip",
        "outcome",
    ]
    list_filter = ["action", "outcome"]
    search_fields = ["actor_username", "action", "target_id"]


@admin.register(AccessRecord)
class AccessRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "seq",
        "at",
        "actor_username",
        "kind",
        "subject_type",
        "subject_ids",
        "fields",
        "purpose",
        "ip",
        "outcome",
    ]
    list_filter = ["kind", "subject_type", "outcome"]
    search_fields = ["actor_username", "purpose"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["worker_id", "hostname", "pid", "started_at", "seen_at"]
