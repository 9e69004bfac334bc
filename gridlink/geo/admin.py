"""The admin back-office for areas (区域/网格) and departments (职能部门).

Saving or deleting an area bumps the geo revision, so every process rebuilds its point
locator. Both change lists have Import and Export pages (`gridlink.registry.exchange`).

Every staff member may look at areas and departments; adding, changing and deleting them
needs the model permission and the reference.edit capability over the areas concerned
(`gridlink.accounts.admin.ScopedEditAdmin`), as the importer asks: an area itself and the
parent it is put under; every area a department serves, before and after the change — a role
held in a department covers the areas it serves.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from gridlink.accounts.admin import ScopedEditAdmin
from gridlink.accounts.permissions import scope_q
from gridlink.accounts.roles import Cap
from gridlink.geo.models import Area, Department
from gridlink.geo.services import geo_revision_bump
from gridlink.registry.exchange.adminviews import ExchangeAdmin


class AreaAdminForm(forms.ModelForm):  # type: ignore[type-arg]  # ModelForm is generic only in stubs
    class Meta:
        model = Area
        fields = (
            "code",
            "parent",
            "level",
            "kind",
            "name_zh",
            "name_en",
            "grid_type",
            "households",
            "residents",
            "valid_from",
            "valid_to",
            "geometry",
        )
        widgets = {"geometry": forms.Textarea(attrs={"rows": 12, "cols": 100})}
        help_texts = {
            "geometry": 'GeoJSON Polygon or MultiPolygon in WGS84, e.g. {"type": "Polygon", '
            '"coordinates": [[[120.0, 35.8], [120.1, 35.8], [120.1, 35.9], [120.0, 35.8]]]}',
        }


class ReferenceAdmin(ScopedEditAdmin):
    edit_capability = Cap.REFERENCE_EDIT
    # The fields choosing areas, offered only inside the user's reference.edit scope.
    area_fields: ClassVar[frozenset[str]] = frozenset()

    def limit_choices(self, request: HttpRequest, field_name: str) -> QuerySet[Any] | None:
        if field_name not in self.area_fields:
            return None
        in_scope = scope_q(request.user, Cap.REFERENCE_EDIT, "path")
        return Area.objects.filter(in_scope).defer("geometry")


@admin.register(Area)
class AreaAdmin(ReferenceAdmin, ExchangeAdmin):
    exchange_kind = "areas"
    area_fields = frozenset({"parent"})
    form = AreaAdminForm
    list_display = ("code", "name_zh", "level", "kind", "grid_type", "valid_from", "valid_to")
    list_filter = ("level", "kind", "grid_type")
    search_fields = ("code", "name_zh", "name_en")
    autocomplete_fields = ("parent",)
    readonly_fields = ("path", "updated_at")
    fields = (*AreaAdminForm.Meta.fields, "path", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Area]:
        # Lists, searches and autocompletes never need the polygons; the change form loads
        # the one it shows.
        return super().get_queryset(request).defer("geometry")

    def object_areas(self, obj: Area) -> list[Area]:
        return [obj]

    def target_areas(self, form: forms.ModelForm[Any]) -> list[tuple[str, Area | None]]:
        """Where a new area goes, or a stored one moves to: under a parent in the scope."""
        if "parent" not in form.cleaned_data:
            return []  # the parent input has its own error
        if form.instance.pk is not None and "parent" not in form.changed_data:
            return []
        return [("parent", form.cleaned_data["parent"])]

    def save_model(self, request: HttpRequest, obj: Area, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        geo_revision_bump()

    def delete_model(self, request: HttpRequest, obj: Area) -> None:
        super().delete_model(request, obj)
        geo_revision_bump()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Area]) -> None:
        super().delete_queryset(request, queryset)
        geo_revision_bump()


@admin.register(Department)
class DepartmentAdmin(ReferenceAdmin, ExchangeAdmin):
    exchange_kind = "departments"
    area_fields = frozenset({"areas"})
    list_display = ("code", "name_zh", "kind", "parent", "phone", "active")
    list_filter = ("kind", "active")
    list_select_related = ("parent",)
    search_fields = ("code", "name_zh", "name_en")
    # Autocomplete rather than filter_horizontal: a district has thousands of areas.
    autocomplete_fields = ("parent", "areas")

    def object_areas(self, obj: Department) -> list[Area]:
        return list(obj.areas.only("id", "path"))

    def target_areas(self, form: forms.ModelForm[Any]) -> list[tuple[str, Area | None]]:
        if "areas" not in form.cleaned_data:
            return []  # the areas input has its own error
        areas = list(form.cleaned_data["areas"])
        return [("areas", area) for area in areas] or [("areas", None)]
