"""Read-only views of the append-only logs and the worker heartbeats.

The audit log and the personal-data access log are shown only to superusers and to holders
of the audit.view capability (besides Django's view permission): they name who looked at
whose data, and why.

This is the one module of `core` that reads `gridlink.accounts` (for the capability): an
admin module is loaded last, by the admin's autodiscovery, and nothing imports it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from gridlink.accounts.permissions import has_capability
from gridlink.accounts.roles import Cap
from gridlink.core.models import AccessRecord, AuditEvent, WorkerHeartbeat


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditLogAdmin(ReadOnlyAdmin):
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return super().has_view_permission(request, obj) and (
            bool(user.is_active and user.is_superuser) or has_capability(user, Cap.AUDIT_VIEW)
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) and self.has_view_permission(request)


@admin.register(AuditEvent)
class AuditEventAdmin(AuditLogAdmin):
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
class AccessRecordAdmin(AuditLogAdmin):
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
