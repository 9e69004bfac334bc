"""The admin back-office for areas (区域/网格) and departments (职能部门).

Saving or deleting an area bumps the geo revision, so every process rebuilds its point
locator. Both change lists have Import and Export pages (`gridlink.registry.exchange`).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

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


@admin.register(Area)
class AreaAdmin(ExchangeAdmin):
    exchange_kind = "areas"
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
class DepartmentAdmin(ExchangeAdmin):
    exchange_kind = "departments"
    list_display = ("code", "name_zh", "kind", "parent", "phone", "active")
    list_filter = ("kind", "active")
    list_select_related = ("parent",)
    search_fields = ("code", "name_zh", "name_en")
    # Autocomplete rather than filter_horizontal: a district has thousands of areas.
    autocomplete_fields = ("parent", "areas")
