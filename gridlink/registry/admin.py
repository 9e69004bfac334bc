"""The admin back-office for the base registry (一标三实) and resident tags.

Personal data stays masked here as everywhere: lists and the read-only parts of the change
forms show ID numbers and phones masked (`gridlink.registry.masking`), and a resident's
birth date — which, with a masked ID number, would give the whole number away — only as
its year. The change form never sends a stored ID number or phone to the browser: its input
starts empty, a new value replaces the stored one, and a blank input keeps it. The birth
date is not an input at all: it is taken from the ID number on save.

The lists search by name only. Finding someone by ID number or mobile reveals who owns it,
so that is the logged lookup of the residents page (`web:resident_list`, which calls
`gridlink.registry.services.resident_lookup`: a purpose, the unmask capability, an
access-log entry); an identifier typed into a list's search box is dropped from the address
before any page or link carries it.

Staff who are not superusers see the records inside their registry.view scope, and may
add, change or delete only inside their registry.edit scope — checked on the object, on
the choices offered, and again on save (`gridlink.accounts.admin.ScopedEditAdmin`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridlink.accounts.admin import (
    CapabilityAdmin,
    ScopedEditAdmin,
    is_superuser,
)
from gridlink.accounts.permissions import has_capability, scope_q
from gridlink.accounts.roles import Cap
from gridlink.core.validators import birth_date_from_id, normalise_id_number, validate_id_number
from gridlink.geo.models import Area
from gridlink.registry.exchange.adminviews import ExchangeAdmin
from gridlink.registry.exchange.lookups import LEAF_LEVELS
from gridlink.registry.masking import mask_id_number, mask_phone
from gridlink.registry.models import (
    Building,
    GridAssignment,
    Household,
    Organisation,
    Resident,
    Tag,
)
from gridlink.registry.present import age_band, sees_birth_year

_SEPARATORS = re.compile(r"[\s\-()+]")


class RegistryAdmin(ScopedEditAdmin):
    """Lists in the registry.view scope; writes in the registry.edit scope of the grid."""

    edit_capability = Cap.REGISTRY_EDIT

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # The grid's polygon is never needed to list or edit a registry row.
        qs = super().get_queryset(request).select_related("grid").defer("grid__geometry")
        return qs.filter(scope_q(request.user, Cap.REGISTRY_VIEW))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) and (
            is_superuser(request) or has_capability(request.user, Cap.REGISTRY_VIEW)
        )

    def object_areas(self, obj: Any) -> list[Area]:
        return [obj.grid]

    def target_areas(self, form: forms.ModelForm[Any]) -> list[tuple[str, Area | None]]:
        if "grid" not in form.cleaned_data:
            return []  # the grid input has its own error
        return [("grid", form.cleaned_data["grid"])]

    def limit_choices(self, request: HttpRequest, field_name: str) -> QuerySet[Any] | None:
        user = request.user
        if field_name == "grid":
            return (
                Area.objects.filter(level__in=LEAF_LEVELS)
                .filter(scope_q(user, Cap.REGISTRY_EDIT, "path"))
                .defer("geometry")
            )
        if field_name == "household":
            return Household.objects.filter(scope_q(user, Cap.REGISTRY_EDIT))
        if field_name == "building":
            return Building.objects.filter(scope_q(user, Cap.REGISTRY_EDIT))
        return None


# --- Masked personal data in the change forms -----------------------------------------


class MaskedFieldsForm(forms.ModelForm):  # type: ignore[type-arg]  # one form for two models
    """A change form whose personal-data inputs start empty instead of showing stored values.

    Blank keeps the stored value; a `clear_<field>` box, where the field may be empty,
    removes it.
    """

    masked: ClassVar[dict[str, Callable[[str], str]]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, mask in self.masked.items():
            field = self.fields.get(name)
            if field is None:
                continue
            field.widget.attrs["autocomplete"] = "off"
            if self.instance.pk:
                self.initial[name] = ""
                field.required = False
                stored = getattr(self.instance, name)
                field.help_text = (
                    _("Stored: %(value)s. Type a new value to replace it; leave blank to keep it.")
                    % {"value": mask(stored)}
                    if stored
                    else _("None stored.")
                )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in self.masked:
            if name not in self.fields or cleaned.get(name) or not self.instance.pk:
                continue
            if cleaned.get(f"clear_{name}"):
                cleaned[name] = ""
            else:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


class ResidentAdminForm(MaskedFieldsForm):
    """Sex must agree with the ID number: `Resident.clean()` says so, once, on the field."""

    masked: ClassVar[dict[str, Callable[[str], str]]] = {
        "id_number": mask_id_number,
        "phone": mask_phone,
    }
    clear_phone = forms.BooleanField(
        required=False, label=gettext_lazy("Remove the stored mobile number")
    )

    class Meta:
        model = Resident
        # No birth_date: it is part of the ID number, so it is set from it and never shown.
        fields = (
            "id_number",
            "name",
            "sex",
            "phone",
            "household",
            "grid",
            "residence_type",
            "relation_to_head",
            "tags",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("id_number"):
            cleaned["id_number"] = normalise_id_number(cleaned["id_number"])
            try:
                validate_id_number(cleaned["id_number"])
            except forms.ValidationError:
                return cleaned  # the model's validator reports it on the field
            self.instance.birth_date = birth_date_from_id(cleaned["id_number"])
        return cleaned


class OrganisationAdminForm(MaskedFieldsForm):
    masked: ClassVar[dict[str, Callable[[str], str]]] = {"contact_phone": mask_phone}
    clear_contact_phone = forms.BooleanField(
        required=False, label=gettext_lazy("Remove the stored contact mobile")
    )

    class Meta:
        model = Organisation
        fields = (
            "credit_code",
            "name",
            "kind",
            "grid",
            "building",
            "address",
            "legal_representative",
            "contact_phone",
            "employees",
        )


class MaskedAdmin(RegistryAdmin, ExchangeAdmin):
    """Shared by residents and organisations: raw fields only as empty inputs to edit."""

    raw_fields: ClassVar[tuple[str, ...]] = ()
    # A search term that looks like a personal identifier (after dropping separators).
    identifier_search: ClassVar[re.Pattern[str]]
    # Never carry the list's query (its search term) into change links and back.
    preserve_filters = False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        term = request.GET.get(SEARCH_VAR, "")
        if term and self.identifier_search.search(_SEPARATORS.sub("", term)):
            # Drop it before the page (its search box, sort and page links) repeats it.
            messages.warning(request, self.identifier_search_message())
            query = request.GET.copy()
            del query[SEARCH_VAR]
            return HttpResponseRedirect(
                f"{request.path}?{query.urlencode()}" if query else request.path
            )
        return super().changelist_view(request, extra_context)

    def identifier_search_message(self) -> str:
        return _("Search by name; ID numbers and mobile numbers cannot be searched here.")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            # A view-only page shows every form field read-only, raw values included.
            hidden = set(self.raw_fields) | {f"clear_{n}" for n in self.raw_fields}
            return [
                (title, {**options, "fields": [f for f in options["fields"] if f not in hidden]})
                for title, options in fieldsets
            ]
        return fieldsets


@admin.register(Resident)
class ResidentAdmin(MaskedAdmin):
    exchange_kind = "residents"
    form = ResidentAdminForm
    raw_fields = ("id_number", "phone")
    list_display = (
        "name",
        "masked_id_number",
        "sex",
        "birth_year",
        "masked_phone",
        "grid",
        "household",
        "residence_type",
    )
    list_filter = ("residence_type", "sex")
    list_select_related = ("grid", "household")
    search_fields = ("name",)
    search_help_text = gettext_lazy(
        "Search by name. To find someone by ID number or phone, use “Find by ID number or "
        "phone” on the residents page."
    )
    # 11 digits in a row: a mobile number, or most of an ID number.
    identifier_search = re.compile(r"\d{11}")
    autocomplete_fields = ("grid", "household", "tags")
    readonly_fields = ("masked_id_number", "masked_phone", "birth_year")
    change_list_template = "admin/registry/resident/change_list.html"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "masked_id_number",
                    "id_number",
                    "sex",
                    "birth_year",
                    "masked_phone",
                    "phone",
                    "clear_phone",
                )
            },
        ),
        (
            gettext_lazy("Where"),
            {"fields": ("grid", "household", "residence_type", "relation_to_head", "tags")},
        ),
    )

    @admin.display(description=gettext_lazy("ID number"))
    def masked_id_number(self, obj: Resident) -> str:
        return mask_id_number(obj.id_number) if obj.id_number else "—"

    @admin.display(description=gettext_lazy("mobile"))
    def masked_phone(self, obj: Resident) -> str:
        return mask_phone(obj.phone) or "—"

    # Not sortable: the order within a year would tell the dates apart.
    @admin.display(description=gettext_lazy("birth year"))
    def birth_year(self, obj: Resident) -> int | None:
        return obj.birth_date.year if obj.birth_date else None

    @admin.display(description=gettext_lazy("age"))
    def age_band(self, obj: Resident) -> str:
        return age_band(obj.birth_date) if obj.birth_date else "—"

    # The birth year only to who may see the minor_under_14 tag (docs/information-support.md):
    # on a record, over its grid; in the list, superusers only; others see the age band.
    def _years(self, request: HttpRequest, fields: Any, obj: Any = None) -> list[Any]:
        grid = obj.grid if obj is not None else None
        sees = request.user.is_superuser or (
            grid is not None and sees_birth_year(request.user, grid)
        )
        return [f if sees or f != "birth_year" else "age_band" for f in fields]

    def get_list_display(self, request: HttpRequest) -> Any:
        return self._years(request, super().get_list_display(request))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = self._years(request, super().get_readonly_fields(request, obj), obj)
        return [*fields, "age_band"] if "age_band" not in fields else fields

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return [
            (title, {**options, "fields": self._years(request, options["fields"], obj)})
            for title, options in super().get_fieldsets(request, obj)
        ]

    def identifier_search_message(self) -> str:
        return _(
            "Search by name. To find someone by ID number or phone, use “Find by ID number or "
            "phone” on the residents page: it asks for a purpose and is logged."
        )


@admin.register(Organisation)
class OrganisationAdmin(MaskedAdmin):
    exchange_kind = "organisations"
    form = OrganisationAdminForm
    raw_fields = ("contact_phone",)
    list_display = (
        "name",
        "credit_code",
        "kind",
        "grid",
        "legal_representative",
        "masked_contact_phone",
        "employees",
    )
    list_filter = ("kind",)
    list_select_related = ("grid",)
    # A unified social credit code is public (it is printed on the business licence).
    search_fields = ("name", "=credit_code")
    search_help_text = gettext_lazy("Search by name or the whole unified social credit code.")
    identifier_search = re.compile(r"^(86)?1[3-9]\d{9}$")
    autocomplete_fields = ("grid", "building")
    readonly_fields = ("masked_contact_phone",)
    fieldsets = (
        (None, {"fields": ("credit_code", "name", "kind", "legal_representative", "employees")}),
        (
            gettext_lazy("Contact"),
            {"fields": ("masked_contact_phone", "contact_phone", "clear_contact_phone")},
        ),
        (gettext_lazy("Where"), {"fields": ("grid", "building", "address")}),
    )

    @admin.display(description=gettext_lazy("contact mobile"))
    def masked_contact_phone(self, obj: Organisation) -> str:
        return mask_phone(obj.contact_phone) or "—"

    def identifier_search_message(self) -> str:
        return _("Search by name or credit code; mobile numbers cannot be searched here.")


@admin.register(Building)
class BuildingAdmin(RegistryAdmin, ExchangeAdmin):
    exchange_kind = "buildings"
    list_display = ("address_code", "address", "name", "grid", "use", "floors")
    list_filter = ("use",)
    list_select_related = ("grid",)
    search_fields = ("address_code", "address", "name")
    autocomplete_fields = ("grid",)


@admin.register(Household)
class HouseholdAdmin(RegistryAdmin, ExchangeAdmin):
    exchange_kind = "households"
    list_display = ("number", "building", "room", "grid")
    list_select_related = ("grid", "building")
    search_fields = ("number", "building__address")
    autocomplete_fields = ("building", "grid")


@admin.register(GridAssignment)
class GridAssignmentAdmin(RegistryAdmin):
    list_display = ("user", "grid", "post", "started_on", "ended_on")
    list_filter = ("post",)
    list_select_related = ("user", "grid")
    search_fields = ("user__username", "user__display_name", "grid__code", "grid__name_zh")
    raw_id_fields = ("user",)
    autocomplete_fields = ("grid",)


@admin.register(Tag)
class TagAdmin(CapabilityAdmin):
    """Tags are reference data: changed by superusers and holders of reference.edit."""

    edit_capability = Cap.REFERENCE_EDIT
    list_display = ("code", "name_zh", "name_en", "sensitive")
    list_filter = ("sensitive",)
    search_fields = ("code", "name_zh", "name_en")
