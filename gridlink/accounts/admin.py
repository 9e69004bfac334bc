"""The admin back-office for users, roles and API tokens, and the permission rules every
ModelAdmin of gridlink shares.

- Users, groups, role assignments and API tokens are the superusers' business only: a staff
  member must not be able to grant themselves a role, a group or superuser status.
- Every change to a user (in the change form or the password form) and every role granted,
  changed or revoked is written to the audit log (`gridlink.accounts.services`).
- API tokens are read-only here; the one thing the admin does with them is revoke them.
- `CapabilityAdmin` and `ScopedEditAdmin` are the bases the other apps' ModelAdmins use: a
  staff member needs Django's model permission *and* the gridlink capability (for scoped
  data, over every area the record lies in — before and after the change).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from gridlink.accounts.models import ApiToken, RoleAssignment, User
from gridlink.accounts.permissions import can_in_area, has_capability
from gridlink.accounts.services import api_token_revoke, role_assignment_audit, user_change_audit

if TYPE_CHECKING:
    from django.db.models import ForeignKey, ManyToManyField

    from gridlink.geo.models import Area

    ModelAdminBase = admin.ModelAdmin[Any]
else:
    # ModelAdmin is generic only in the type stubs, not at run time.
    ModelAdminBase = admin.ModelAdmin


def is_superuser(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


def admin_actor(request: HttpRequest) -> User:
    """The acting user of an admin page (`admin_view` lets only signed-in staff through)."""
    return cast(User, request.user)


# --- Shared rules for the other apps' ModelAdmins ------------------------------------------


class SuperuserOnlyMixin:
    """Every page of the ModelAdmin, even its entry on the index, for superusers only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)


class CapabilityAdmin(ModelAdminBase):
    """Adding, changing and deleting need the model permission and `edit_capability`."""

    edit_capability: ClassVar[str]

    def may_edit_somewhere(self, request: HttpRequest) -> bool:
        return is_superuser(request) or has_capability(request.user, self.edit_capability)

    def may_edit(self, request: HttpRequest, obj: Any) -> bool:
        """Whether the user may change or delete `obj` (None: some object of the kind)."""
        return self.may_edit_somewhere(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and self.may_edit_somewhere(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self.may_edit(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self.may_edit(request, obj)


class ScopedEditAdmin(CapabilityAdmin):
    """`CapabilityAdmin` for records that lie in areas: the capability must cover them.

    - Changing or deleting a record needs `edit_capability` over every area in
      `object_areas(obj)`; adding needs it somewhere.
    - On save the form checks again, with the submitted values: the stored record's areas
      and every area in `target_areas(form)` must be inside the scope, or the form shows an
      error and nothing is saved.
    - Choices of the related fields named by `limit_choices` are limited in the form and in
      the autocomplete the admin serves for them (`get_search_results` of the admin whose
      rows are offered asks the admin of the form).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Every registered scoped admin must say where its records lie: fail when the admin
        # is registered (at start-up), not on a request.
        if type(self).object_areas is ScopedEditAdmin.object_areas:
            raise TypeError(f"{type(self).__name__} must define object_areas()")
        super().__init__(*args, **kwargs)

    def object_areas(self, obj: Any) -> list[Area]:
        """The areas a stored record lies in (all must be inside the editor's scope).

        Registered admins define it (checked when they are registered); this base answers
        with no areas, which `may_edit` treats as out of scope.
        """
        return []

    def target_areas(self, form: forms.ModelForm[Any]) -> list[tuple[str, Area | None]]:
        """(field, area) the record will lie in after the save; None: nowhere (refused)."""
        return []

    def limit_choices(self, request: HttpRequest, field_name: str) -> QuerySet[Any] | None:
        """The rows the related field `field_name` may choose from, or None for any."""
        return None

    def covers(self, user: Any, areas: list[Area]) -> bool:
        return bool(areas) and all(can_in_area(user, self.edit_capability, a) for a in areas)

    def may_edit(self, request: HttpRequest, obj: Any) -> bool:
        if obj is None:
            return self.may_edit_somewhere(request)
        return is_superuser(request) or self.covers(request.user, self.object_areas(obj))

    # --- the form: checked again on save ---------------------------------------------------

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        form = super().get_form(request, obj, change, **kwargs)
        if is_superuser(request):
            return form
        model_admin, actor = self, request.user

        form_clean = form.clean

        def clean(self: forms.ModelForm[Any]) -> dict[str, Any] | None:
            cleaned = form_clean(self)
            model_admin.check_scope_on_save(actor, self)
            return cleaned

        return cast(type[forms.ModelForm[Any]], type(form.__name__, (form,), {"clean": clean}))

    def check_scope_on_save(self, actor: Any, form: forms.ModelForm[Any]) -> None:
        if form.instance.pk is not None and not self.covers(
            actor, self.object_areas(form.instance)
        ):
            form.add_error(None, _("This record lies outside the area where you may edit."))
        for field, area in self.target_areas(form):
            if area is None or not can_in_area(actor, self.edit_capability, area):
                form.add_error(field, _("Choose an area inside the area where you may edit."))

    # --- choices -----------------------------------------------------------------------------

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField[Any] | None:
        if "queryset" not in kwargs:
            allowed = self.limit_choices(request, db_field.name)
            if allowed is not None:
                kwargs["queryset"] = allowed
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelMultipleChoiceField[Any] | None:
        if "queryset" not in kwargs:
            allowed = self.limit_choices(request, db_field.name)
            if allowed is not None:
                kwargs["queryset"] = allowed
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        allowed = self._autocomplete_limit(request)
        if allowed is not None:
            queryset = queryset.filter(pk__in=allowed.values("pk"))
        return queryset, may_have_duplicates

    def _autocomplete_limit(self, request: HttpRequest) -> QuerySet[Any] | None:
        """For the admin's autocomplete: the choices the asking form's admin allows."""
        match = request.resolver_match
        if match is None or match.url_name != "autocomplete":
            return None
        try:
            source_model = self._source_model(request)
            source_admin = self.admin_site.get_model_admin(source_model)
        except (LookupError, NotRegistered):
            return None
        if not isinstance(source_admin, ScopedEditAdmin):
            return None
        return source_admin.limit_choices(request, request.GET.get("field_name", ""))

    @staticmethod
    def _source_model(request: HttpRequest) -> type[Model]:
        from django.apps import apps

        return apps.get_model(request.GET.get("app_label", ""), request.GET.get("model_name", ""))


# --- Users, groups, roles ----------------------------------------------------------------

PASSWORD_FORM_FIELDS = frozenset({"password1", "password2", "usable_password"})


def _audited_fields(changed: list[str]) -> list[str]:
    """The form's changed fields, with the password inputs named as "password"."""
    fields = {("password" if name in PASSWORD_FORM_FIELDS else name) for name in changed}
    return sorted(fields)


class RoleAssignmentInline(admin.TabularInline[RoleAssignment, User]):
    model = RoleAssignment
    extra = 0
    autocomplete_fields = ["area", "department"]


@admin.register(User)
class UserAdmin(SuperuserOnlyMixin, BaseUserAdmin[User]):
    list_display = ["username", "display_name", "is_active", "is_staff", "last_login"]
    search_fields = ["username", "display_name"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("gridlink", {"fields": ("display_name", "phone")}),
    )
    inlines = [RoleAssignmentInline]

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        user_change_audit(
            actor=admin_actor(request),
            user=obj,
            changed_fields=_audited_fields(list(form.changed_data)),
            created=not change,
        )

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            # The password form redirects once it has saved; it re-renders on errors.
            if request.method == "POST" and response.status_code == 302:
                user = self.get_object(request, unquote(id))
                if user is not None:
                    user_change_audit(
                        actor=admin_actor(request),
                        user=user,
                        changed_fields=["password"],
                        created=False,
                    )
        return response

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            role_assignment_audit(actor=admin_actor(request), assignment=obj, action="role.revoked")
            obj.delete()
        for obj in instances:
            action = "role.changed" if obj.pk else "role.granted"
            obj.save()
            role_assignment_audit(actor=admin_actor(request), assignment=obj, action=action)
        formset.save_m2m()


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(SuperuserOnlyMixin, BaseGroupAdmin):
    """Groups carry Django permissions: granting them is the superusers' business."""


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(SuperuserOnlyMixin, admin.ModelAdmin[RoleAssignment]):
    list_display = ["user", "role", "area", "department", "valid_from", "valid_to"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__display_name", "area__code", "department__code"]
    autocomplete_fields = ["user", "area", "department"]

    def save_model(
        self, request: HttpRequest, obj: RoleAssignment, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        role_assignment_audit(
            actor=admin_actor(request),
            assignment=obj,
            action="role.changed" if change else "role.granted",
        )

    def delete_model(self, request: HttpRequest, obj: RoleAssignment) -> None:
        role_assignment_audit(actor=admin_actor(request), assignment=obj, action="role.revoked")
        super().delete_model(request, obj)


# --- API tokens --------------------------------------------------------------------------


TOKEN_FIELDS = ("name", "user", "key_id", "created_at", "expires_at", "revoked_at", "last_used_at")


@admin.register(ApiToken)
class ApiTokenAdmin(SuperuserOnlyMixin, admin.ModelAdmin[ApiToken]):
    """Read-only: tokens are issued with `gridlink token` (which shows the secret once) and
    only revoked here, through the audited service."""

    list_display = [
        "name",
        "user",
        "key_id",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    # Not the secret's hash: it has no use on a screen.
    fields = TOKEN_FIELDS
    readonly_fields = TOKEN_FIELDS
    search_fields = ["name", "user__username", "key_id"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a revoked token stays on record

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request)

    @admin.action(description=gettext_lazy("Revoke the selected tokens"), permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        tokens = list(queryset.filter(revoked_at__isnull=True).select_related("user"))
        for token in tokens:
            api_token_revoke(actor=admin_actor(request), token=token)
        self.message_user(
            request,
            ngettext("%(n)d token revoked.", "%(n)d tokens revoked.", len(tokens))
            % {"n": len(tokens)},
            messages.SUCCESS,
        )
