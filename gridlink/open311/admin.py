"""Client applications in the back office (superusers only): adding one issues its API key,
shown once in the confirmation message; the one change afterwards is revoking it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from gridlink.accounts.admin import SuperuserOnlyMixin, admin_actor, is_superuser
from gridlink.open311.models import ClientApplication
from gridlink.open311.services import client_application_create, client_application_revoke

SHOWN_FIELDS = ("name", "key_id", "created_at", "revoked_at", "last_used_at")


@admin.register(ClientApplication)
class ClientApplicationAdmin(SuperuserOnlyMixin, admin.ModelAdmin[ClientApplication]):
    list_display = SHOWN_FIELDS
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "key_id"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("name",) if obj is None else SHOWN_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if obj is None else SHOWN_FIELDS

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj is not None else is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a revoked key stays on record

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request)

    def save_model(
        self, request: HttpRequest, obj: ClientApplication, form: forms.ModelForm[Any], change: bool
    ) -> None:
        created, api_key = client_application_create(actor=admin_actor(request), name=obj.name)
        obj.pk = created.pk
        obj.key_id = created.key_id
        obj.secret_hash = created.secret_hash
        obj.created_at = created.created_at
        messages.warning(
            request,
            _("The API key of %(name)s, shown only now — copy it: %(key)s")
            % {"name": created.name, "key": api_key},
        )

    @admin.action(description=gettext_lazy("Revoke the selected API keys"), permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ClientApplication]) -> None:
        applications = list(queryset.filter(revoked_at__isnull=True))
        for application in applications:
            client_application_revoke(actor=admin_actor(request), application=application)
        count = len(applications)
        self.message_user(
            request,
            ngettext("%(n)d API key revoked.", "%(n)d API keys revoked.", count) % {"n": count},
        )
