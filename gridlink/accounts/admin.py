from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from gridlink.accounts.models import ApiToken, RoleAssignment, User
from gridlink.accounts.services import role_assignment_audit


class RoleAssignmentInline(admin.TabularInline[RoleAssignment, User]):
    model = RoleAssignment
    extra = 0
    autocomplete_fields = ["area", "department"]


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
    list_display = ["username", "display_name", "is_active", "is_staff", "last_login"]
    search_fields = ["username", "display_name"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("gridlink", {"fields": ("display_name", "phone")}),
    )
    inlines = [RoleAssignmentInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            role_assignment_audit(actor=request.user, assignment=obj, action="role.revoked")  # type: ignore[arg-type]
            obj.delete()
        for obj in instances:
            action = "role.changed" if obj.pk else "role.granted"
            obj.save()
            role_assignment_audit(actor=request.user, assignment=obj, action=action)  # type: ignore[arg-type]
        formset.save_m2m()


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin[RoleAssignment]):
    list_display = ["user", "role", "area", "department", "valid_from", "valid_to"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__display_name", "area__code", "department__code"]
    autocomplete_fields = ["user", "area", "department"]

    def save_model(
        self, request: HttpRequest, obj: RoleAssignment, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        role_assignment_audit(
            actor=request.user,  # type: ignore[arg-type]
            assignment=obj,
            action="role.changed" if change else "role.granted",
        )

    def delete_model(self, request: HttpRequest, obj: RoleAssignment) -> None:
        role_assignment_audit(actor=request.user, assignment=obj, action="role.revoked")  # type: ignore[arg-type]
        super().delete_model(request, obj)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = [
        "name",
        "user",
        "key_id",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    readonly_fields = ["key_id", "secret_hash", "created_at", "last_used_at"]
    search_fields = ["name", "user__username", "key_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are issued with `gridlink token`, which shows the secret once
