"""The admin back-office for the base registry (一标三实) and resident tags.

Personal data stays masked here as everywhere: lists, search results and the read-only
parts of the change forms show ID numbers and phones masked (`gridlink.registry.masking`).
The change form never sends the stored value to the browser either: its input starts
empty, a new value replaces the stored one, and a blank input keeps it. Searching by ID
number or phone matches the whole value only, so masked digits cannot be probed.

Staff who are not superusers see only the records inside their registry.view scope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridlink.accounts.permissions import scope_q
from gridlink.accounts.roles import Cap
from gridlink.core.validators import (
    id_number_disagreements,
    normalise_id_number,
    validate_id_number,
)
from gridlink.registry.exchange.adminviews import ExchangeAdmin, ModelAdminBase
from gridlink.registry.masking import mask_id_number, mask_phone
from gridlink.registry.models import (
    Building,
    GridAssignment,
    Household,
    Organisation,
    Resident,
    Tag,
)


class ScopedAdminMixin:
    """Limit the change list (and every object lookup) to the user's registry.view scope."""

    def scoped(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        # The grid's polygon is never needed to list or edit a registry row.
        qs = qs.select_related("grid").defer("grid__geometry")
        if request.user.is_superuser:
            return qs
        return qs.filter(scope_q(request.user, Cap.REGISTRY_VIEW))


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
    masked: ClassVar[dict[str, Callable[[str], str]]] = {
        "id_number": mask_id_number,
        "phone": mask_phone,
    }
    clear_phone = forms.BooleanField(
        required=False, label=gettext_lazy("Remove the stored mobile number")
    )

    class Meta:
        model = Resident
        fields = (
            "id_number",
            "name",
            "sex",
            "birth_date",
            "phone",
            "household",
            "grid",
            "residence_type",
            "relation_to_head",
            "tags",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("id_number"):
            return cleaned
        id_number = cleaned["id_number"] = normalise_id_number(cleaned["id_number"])
        try:
            validate_id_number(id_number)
        except forms.ValidationError:
            return cleaned  # the model's validator reports it on the field
        problems = id_number_disagreements(
            id_number=id_number, sex=cleaned.get("sex"), birth_date=cleaned.get("birth_date")
        )
        for name, message in problems.items():
            self.add_error(name, message)
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


class MaskedAdmin(ScopedAdminMixin, ExchangeAdmin):
    """Shared by residents and organisations: raw fields only as empty inputs to edit."""

    raw_fields: ClassVar[tuple[str, ...]] = ()
    # A search may be a whole ID number or phone; don't carry it into every change link.
    preserve_filters = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.scoped(request, super().get_queryset(request))

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> Any:
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
    # Whole-value matches only ("=" is iexact): fragments of a masked value find nothing.
    search_fields = ("name", "=id_number", "=phone")
    autocomplete_fields = ("grid", "household", "tags")
    readonly_fields = ("masked_id_number", "masked_phone")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "masked_id_number",
                    "id_number",
                    "sex",
                    "birth_date",
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

    @admin.display(description=gettext_lazy("birth year"), ordering="birth_date")
    def birth_year(self, obj: Resident) -> int:
        return obj.birth_date.year


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
    search_fields = ("name", "=credit_code", "=contact_phone")
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


@admin.register(Building)
class BuildingAdmin(ScopedAdminMixin, ExchangeAdmin):
    exchange_kind = "buildings"
    list_display = ("address_code", "address", "name", "grid", "use", "floors")
    list_filter = ("use",)
    list_select_related = ("grid",)
    search_fields = ("address_code", "address", "name")
    autocomplete_fields = ("grid",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.scoped(request, super().get_queryset(request))


@admin.register(Household)
class HouseholdAdmin(ScopedAdminMixin, ExchangeAdmin):
    exchange_kind = "households"
    list_display = ("number", "building", "room", "grid")
    list_select_related = ("grid", "building")
    search_fields = ("number", "building__address")
    autocomplete_fields = ("building", "grid")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.scoped(request, super().get_queryset(request))


@admin.register(GridAssignment)
class GridAssignmentAdmin(ScopedAdminMixin, ModelAdminBase):
    list_display = ("user", "grid", "post", "started_on", "ended_on")
    list_filter = ("post",)
    list_select_related = ("user", "grid")
    search_fields = ("user__username", "user__display_name", "grid__code", "grid__name_zh")
    raw_id_fields = ("user",)
    autocomplete_fields = ("grid",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.scoped(request, super().get_queryset(request))


@admin.register(Tag)
class TagAdmin(ModelAdminBase):
    list_display = ("code", "name_zh", "name_en", "sensitive")
    list_filter = ("sensitive",)
    search_fields = ("code", "name_zh", "name_en")
