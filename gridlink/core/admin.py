"""Read-only views of the append-only logs and the worker heartbeats.

The audit log and the personal-data access log are shown only to superusers and to holders
of the audit.view capability (besides Django's view permission): they name who looked at
whose data, and why.

The working calendar (calendar days, working hours) may be looked at by staff with the view
permission; adding, changing and deleting also need the reference.edit capability (or
superuser status). A day saved here becomes an administrator row (`source=admin`), which
`gridlink calendar seed` never overwrites. Provisional days (seeded from the `holidays`
package) are announced on the list until confirmed (the *Confirm* action).

This is the one module of `core` that reads `gridlink.accounts` (for the capability): an
admin module is loaded last, by the admin's autodiscovery, and nothing imports it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.db.models.functions import ExtractYear
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from gridlink.accounts.admin import CapabilityAdmin
from gridlink.accounts.permissions import has_capability
from gridlink.accounts.roles import Cap
from gridlink.core.audit import audit_record
from gridlink.core.models import (
    AccessRecord,
    AuditEvent,
    CalendarDay,
    WorkerHeartbeat,
    WorkingHours,
)


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


class YearFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        years = (
            CalendarDay.objects.annotate(year=ExtractYear("date"))
            .values_list("year", flat=True)
            .distinct()
            .order_by("-year")
        )
        return [(str(year), str(year)) for year in years]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(date__year=int(value))
        return queryset


@admin.register(CalendarDay)
class CalendarDayAdmin(CapabilityAdmin):
    edit_capability = Cap.REFERENCE_EDIT
    list_display = ["date", "weekday", "kind", "name_zh", "name_en", "source", "provisional"]
    list_filter = [YearFilter, "kind", "source", "provisional"]
    search_fields = ["name_zh", "name_en"]
    fields = ["date", "kind", "name_zh", "name_en", "source", "provisional", "updated_at"]
    readonly_fields = ["source", "provisional", "updated_at"]
    actions = ["confirm_days"]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        for year in CalendarDay.provisional_years():
            messages.warning(
                request,
                _(
                    "The %(year)s calendar is provisional (projected by the holidays package, "
                    "not the State Council's notice). Check it, add the notice's make-up "
                    "working days, then confirm it: select its days and run “Confirm”, or "
                    "`gridlink calendar confirm %(year)s`."
                )
                % {"year": year},
            )
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Confirm the selected provisional days"))
    def confirm_days(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied
        count = queryset.filter(provisional=True).update(provisional=False)
        if count:
            audit_record(
                actor=request.user,
                action="calendar.confirmed",
                data={"days": count, "via": "admin"},
            )
        messages.success(request, _("%(n)d days confirmed.") % {"n": count})

    @admin.display(description=_("weekday"))
    def weekday(self, obj: CalendarDay) -> str:
        return f"{obj.date:%a}"

    def save_model(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm[Any], change: bool
    ) -> None:
        obj.source = CalendarDay.Source.ADMIN  # the seed never overwrites what an admin saved
        obj.provisional = False
        super().save_model(request, obj, form, change)


@admin.register(WorkingHours)
class WorkingHoursAdmin(CapabilityAdmin):
    edit_capability = Cap.REFERENCE_EDIT
    list_display = [
        "valid_from",
        "morning_start",
        "morning_end",
        "afternoon_start",
        "afternoon_end",
    ]
    readonly_fields = ["updated_at"]
