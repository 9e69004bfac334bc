"""The admin back-office for the taxonomy: versions, categories and their extra fields.

Every staff member with the view permission may look. Adding, changing and deleting need
the model permission and the reference.edit capability (or superuser status), and only a
draft version's rows can change: a published version is frozen (cases refer to it). The
"publish" action makes one draft the current version (`taxonomy_publish`).

Routing rules are reference data too: editable with the same capability (docs/routing.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridlink.accounts.admin import CapabilityAdmin, admin_actor, is_superuser
from gridlink.accounts.permissions import has_capability
from gridlink.accounts.roles import Cap
from gridlink.cases.models import (
    Case,
    CaseEvent,
    CaseTask,
    Category,
    CategoryAttribute,
    RoutingRule,
    TaxonomyVersion,
)
from gridlink.cases.services import taxonomy_publish
from gridlink.core.errors import DomainError

if TYPE_CHECKING:
    from django import forms
    from django.db.models import ForeignKey

    InlineBase = admin.TabularInline[CategoryAttribute, Category]
else:
    InlineBase = admin.TabularInline  # generic only in the type stubs


def may_edit_taxonomy(request: HttpRequest) -> bool:
    return is_superuser(request) or has_capability(request.user, Cap.REFERENCE_EDIT)


def _is_draft(version: TaxonomyVersion | None) -> bool:
    return version is None or not version.is_published


@admin.register(TaxonomyVersion)
class TaxonomyVersionAdmin(CapabilityAdmin):
    edit_capability = Cap.REFERENCE_EDIT
    list_display = ("code", "name", "published_at", "is_current", "created_at")
    search_fields = ("code", "name")
    fields = ("code", "name", "notes", "published_at", "is_current", "content_sha256")
    readonly_fields = ("published_at", "is_current", "content_sha256")
    actions = ["publish"]

    def may_edit(self, request: HttpRequest, obj: Any) -> bool:
        return self.may_edit_somewhere(request) and _is_draft(obj)

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return super().has_change_permission(request) and self.may_edit_somewhere(request)

    @admin.action(
        description=gettext_lazy("Publish the selected draft and make it current"),
        permissions=["publish"],
    )
    def publish(self, request: HttpRequest, queryset: QuerySet[TaxonomyVersion]) -> None:
        versions = list(queryset)
        if len(versions) != 1:
            self.message_user(request, _("Choose exactly one version to publish."), messages.ERROR)
            return
        try:
            version = taxonomy_publish(actor=admin_actor(request), version=versions[0])
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(
            request,
            _("Taxonomy version %(code)s is published and current.") % {"code": version.code},
            messages.SUCCESS,
        )


class CategoryAttributeInline(InlineBase):
    model = CategoryAttribute
    extra = 0
    fields = (
        "order",
        "code",
        "name_zh",
        "name_en",
        "datatype",
        "required",
        "variable",
        "help_zh",
        "help_en",
        "values",
    )

    def _may_edit(self, request: HttpRequest, obj: Category | None) -> bool:
        return may_edit_taxonomy(request) and (obj is None or _is_draft(obj.version))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and self._may_edit(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)


@admin.register(Category)
class CategoryAdmin(CapabilityAdmin):
    edit_capability = Cap.REFERENCE_EDIT
    list_display = ("code", "name_zh", "name_en", "kind", "urgency", "default_level", "version")
    list_filter = ("version", "kind", "urgency", "default_level")
    search_fields = ("code", "name_zh", "name_en", "keywords_zh", "keywords_en")
    list_select_related = ("version",)
    inlines = [CategoryAttributeInline]
    fieldsets = (
        (None, {"fields": ("version", "parent", "kind", "code", "order")}),
        (
            gettext_lazy("Names"),
            {"fields": ("name_zh", "name_en", "keywords_zh", "keywords_en")},
        ),
        (
            gettext_lazy("Handling (sub-classes)"),
            {
                "fields": (
                    "filing_condition_zh",
                    "filing_condition_en",
                    "closing_condition_zh",
                    "closing_condition_en",
                    "default_level",
                    "default_department_kind",
                    "urgency",
                    ("sign_for_amount", "sign_for_unit"),
                    ("handle_amount", "handle_unit"),
                    ("verify_amount", "verify_unit"),
                    "phases",
                )
            },
        ),
    )
    # Phases come with the file (docs/taxonomy.md, "Phases"); shown, not edited here.
    readonly_fields = ("phases",)

    def may_edit(self, request: HttpRequest, obj: Any) -> bool:
        return self.may_edit_somewhere(request) and (obj is None or _is_draft(obj.version))

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField[Any] | None:
        # New rows go into draft versions only, under a draft's major class.
        if db_field.name == "version":
            kwargs["queryset"] = TaxonomyVersion.objects.filter(published_at__isnull=True)
        elif db_field.name == "parent":
            kwargs["queryset"] = Category.objects.majors().filter(
                version__published_at__isnull=True
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(RoutingRule)
class RoutingRuleAdmin(CapabilityAdmin):
    edit_capability = Cap.REFERENCE_EDIT
    list_display = (
        "id",
        "category_code",
        "area",
        "level",
        "unit_department",
        "unit_area",
        "priority",
        "active",
        "valid_from",
        "valid_to",
    )
    list_filter = ("active", "level")
    search_fields = ("category_code", "area__code", "area__name_zh", "note")
    list_select_related = ("area", "unit_department", "unit_area")
    autocomplete_fields = ("area", "unit_department", "unit_area")
    fieldsets = (
        (gettext_lazy("When"), {"fields": ("category_code", "area")}),
        (gettext_lazy("Then"), {"fields": ("level", "unit_department", "unit_area")}),
        (
            gettext_lazy("Precedence and validity"),
            {"fields": ("priority", "active", "valid_from", "valid_to", "note")},
        ),
    )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Warn, above the rules, about routing targets nobody can sign for (the same list
        as `gridlink routing check`)."""
        from gridlink.cases.routing import routing_check

        if request.method == "GET":
            result = routing_check()
            for gap in result.unstaffed[:ROUTING_WARNINGS_SHOWN]:
                code, where = gap.pairs[0]
                messages.warning(
                    request,
                    _(
                        "Nobody active can sign for %(unit)s (%(via)s): %(n)s category × grid "
                        "pair(s) route there, e.g. %(code)s in %(area)s."
                    )
                    % {
                        "unit": gap.unit_label,
                        "via": gap.via,
                        "n": len(gap.pairs),
                        "code": code,
                        "area": where,
                    },
                )
            hidden = len(result.unstaffed) - ROUTING_WARNINGS_SHOWN
            if hidden > 0:
                messages.warning(
                    request,
                    _("… and %(n)s more unstaffed routing target(s): run `gridlink routing check`.")
                    % {"n": hidden},
                )
        return super().changelist_view(request, extra_context)


ROUTING_WARNINGS_SHOWN = 10


# --- Cases: read-only in the back office ------------------------------------------------------
# A case changes only through `case_transition` (the web pages and the API); the admin lets
# staff with the view permission look, scoped like the case pages.

if TYPE_CHECKING:
    EventInlineBase = admin.TabularInline[CaseEvent, Case]
    TaskInlineBase = admin.TabularInline[CaseTask, Case]
else:
    EventInlineBase = admin.TabularInline
    TaskInlineBase = admin.TabularInline


class _ReadOnlyInline:
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CaseEventInline(_ReadOnlyInline, EventInlineBase):
    model = CaseEvent
    fields = ("created_at", "kind", "actor", "actor_role", "actor_unit", "from_state",
              "to_state", "reason", "public")  # fmt: skip
    readonly_fields = fields


class CaseTaskInline(_ReadOnlyInline, TaskInlineBase):
    model = CaseTask
    fields = ("department", "is_lead", "state", "report_in_due_at", "reported_in_at",
              "deadline_at", "done_at", "rating")  # fmt: skip
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin[Case]):
    # The case number (id), never the reporter's tracking code or rating key.
    list_display = ("id", "title", "state", "level", "card", "supervised",
                    "channel", "created_at")  # fmt: skip
    list_filter = ("state", "level", "card", "supervised", "channel", "whistled")
    search_fields = ("=id", "title", "external_number")
    date_hierarchy = "created_at"
    inlines = [CaseTaskInline, CaseEventInline]
    exclude = ("intake_client", "reporter_phone", "reporter_email", "reporter_name",
               "tracking_code", "rating_key_hash")  # fmt: skip
    list_select_related = ("category",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Case]:
        from gridlink.cases.permissions import case_visibility_q

        return super().get_queryset(request).filter(case_visibility_q(request.user))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Case._meta.fields if f.name not in self.exclude]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
