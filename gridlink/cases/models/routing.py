"""Routing rules (分派规则): which level and unit handle a category of case in an area.

The resolver that applies them is `gridlink.cases.routing.route_for`; see docs/routing.md.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridlink.cases.models.taxonomy import HandlingLevel, TaxonomyVersion

# Levels whose accountable unit is an area office (grid, community, street), and the area
# level that office sits at. The two district levels are always a department.
AREA_UNIT_LEVELS = {
    HandlingLevel.GRID: 4,  # gridlink.geo.models.Level.GRID
    HandlingLevel.COMMUNITY: 3,  # Level.COMMUNITY
    HandlingLevel.STREET: 2,  # Level.STREET
}
_CATEGORY_CODE = r"^[CE][0-9]{2}([0-9]{2})?$"


class RoutingRuleQuerySet(models.QuerySet["RoutingRule"]):
    def in_force(self, on: date) -> RoutingRuleQuerySet:
        """Active rules whose validity window contains `on` (valid_to is the first day off)."""
        return self.filter(
            Q(active=True),
            Q(valid_from__lte=on),
            Q(valid_to__isnull=True) | Q(valid_to__gt=on),
        )


class RoutingRule(models.Model):
    """A routing rule (分派规则): cases of a category in an area go to a level and a unit.

    Both conditions are optional. `category_code` names a sub-class or a major class (which
    covers its sub-classes) by code, so a rule outlives taxonomy versions; `area` covers its
    whole subtree. The target is one accountable unit (属地管理): a `Department`, or for the
    grid, community and street levels the area whose office handles it. Which rule wins
    when several match is `gridlink.cases.routing` (described in docs/routing.md).
    """

    category_code = models.CharField(
        _("category code"),
        max_length=5,
        blank=True,
        help_text=_(
            "A sub-class (E0102) or a major class (E01, covers its sub-classes); empty: any."
        ),
    )
    area = models.ForeignKey(
        "geo.Area",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="routing_rules",
        verbose_name=_("area"),
        help_text=_("The rule covers this area and everything inside it; empty: anywhere."),
    )
    level = models.CharField(_("handling level"), max_length=24, choices=HandlingLevel.choices)
    unit_department = models.ForeignKey(
        "geo.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="routing_rules",
        verbose_name=_("department"),
    )
    unit_area = models.ForeignKey(
        "geo.Area",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="routing_targets",
        verbose_name=_("area office"),
        help_text=_("For grid, community and street levels: the area whose office handles it."),
    )
    priority = models.IntegerField(
        _("priority"), default=0, help_text=_("Among equally specific rules, the higher wins.")
    )
    active = models.BooleanField(_("active"), default=True)
    valid_from = models.DateField(_("valid from"), default=timezone.localdate)
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RoutingRuleQuerySet.as_manager()

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["category_code", "area", "-priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_department__isnull=False, unit_area__isnull=True)
                | Q(unit_department__isnull=True, unit_area__isnull=False),
                name="routing_rule_exactly_one_unit",
            ),
            models.CheckConstraint(
                condition=Q(unit_area__isnull=True) | Q(level__in=list(AREA_UNIT_LEVELS)),
                name="routing_rule_area_unit_only_below_district",
            ),
            models.CheckConstraint(
                condition=Q(level__in=HandlingLevel.values), name="routing_rule_level"
            ),
            models.CheckConstraint(
                condition=Q(category_code="") | Q(category_code__regex=_CATEGORY_CODE),
                name="routing_rule_category_code_shape",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="routing_rule_valid_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category_code or '*'} @ {self.area_id or '*'} → {self.level}"

    @property
    def unit(self) -> object:
        """The accountable unit: the department or the area office."""
        return self.unit_department if self.unit_department_id else self.unit_area

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.category_code:
            current = TaxonomyVersion.objects.filter(is_current=True).first()
            if current is None:
                errors["category_code"] = str(_("No taxonomy version is current yet."))
            elif not current.categories.filter(code=self.category_code).exists():
                errors["category_code"] = str(
                    _("There is no category %(code)s in the current taxonomy %(version)s.")
                    % {"code": self.category_code, "version": current.code}
                )
        has_department = self.unit_department_id is not None
        has_area = self.unit_area_id is not None
        if has_department == has_area:
            errors["unit_department"] = str(_("Choose either a department or an area office."))
        elif has_area:
            want = AREA_UNIT_LEVELS.get(HandlingLevel(self.level)) if self.level else None
            if want is None:
                errors["unit_area"] = str(
                    _("District levels are handled by a department, not an area office.")
                )
            elif self.unit_area is not None and self.unit_area.level != want:
                errors["unit_area"] = str(
                    _("For the %(level)s level choose an area of that level.")
                    % {"level": HandlingLevel(self.level).label}
                )
        if self.valid_to is not None and self.valid_from and self.valid_to <= self.valid_from:
            errors["valid_to"] = str(_("The end comes after the start."))
        if errors:
            raise ValidationError(errors)
