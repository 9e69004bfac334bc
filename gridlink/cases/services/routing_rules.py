"""Writes on routing rules (分派规则): create, change, end, delete; each one audited.

The checks are the model's own (`RoutingRule.clean` and its constraints, what the admin
form runs), with the units and areas named by code. Overlapping rules are not refused —
neither the model nor the admin refuses them: which one wins is the precedence of
`gridlink.cases.routing` (docs/routing.md). A rule that has routed cases stays on record:
it can be ended (`valid_to`) or switched off (`active`), not deleted.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridlink.cases.models import Case, HandlingLevel, RoutingRule
from gridlink.core.audit import audit_record
from gridlink.core.errors import DomainError, changes_apply
from gridlink.core.inputs import DATE_MAX, DATE_MIN
from gridlink.geo.models import Area, Department

if TYPE_CHECKING:
    from gridlink.accounts.models import User

# What a caller may set; the foreign keys are given by code (`area`, `unit_area`: an area
# code, `unit_department`: a department code).
RULE_FIELDS = (
    "category_code",
    "area",
    "level",
    "unit_department",
    "unit_area",
    "priority",
    "active",
    "valid_from",
    "valid_to",
    "note",
)
# A model-wide error (a check constraint) is reported under the field it concerns.
_CONSTRAINT_FIELDS = {
    "routing_rule_exactly_one_unit": "unit_department",
    "routing_rule_area_unit_only_below_district": "unit_area",
    "routing_rule_level": "level",
    "routing_rule_category_code_shape": "category_code",
    "routing_rule_valid_window_ordered": "valid_to",
}


class RuleInvalid(DomainError):
    """Every field error of a rule at once (the API lists them all)."""

    def __init__(self, errors: list[dict[str, str | None]]) -> None:
        first = errors[0]
        super().__init__(str(first["message"]), code=str(first["code"]), field=first["field"])
        self.errors = errors


def _area(code: str | None, field: str) -> Area | None:
    if code is None or code == "":
        return None
    area = Area.objects.filter(code=code).first()
    if area is None:
        raise DomainError(_("No area %(code)r.") % {"code": code}, code="not_found", field=field)
    return area


def _department(code: str | None) -> Department | None:
    if code is None or code == "":
        return None
    department = Department.objects.filter(code=code).first()
    if department is None:
        raise DomainError(
            _("No department %(code)r.") % {"code": code}, code="not_found", field="unit_department"
        )
    return department


def _resolved(values: dict[str, Any]) -> dict[str, Any]:
    """`values` with the codes of areas and departments replaced by the rows."""
    out = dict(values)
    for field in ("area", "unit_area"):
        if field in out:
            out[field] = _area(out[field], field)
    if "unit_department" in out:
        out["unit_department"] = _department(out["unit_department"])
    for text in ("category_code", "note"):
        if text in out and out[text] is None:
            out[text] = ""
    return out


def _check(rule: RoutingRule) -> None:
    """The model's field checks, `clean()` and constraints, as one refusal naming fields."""
    if rule.level not in HandlingLevel.values:  # clean() reads the level as a HandlingLevel
        raise DomainError(
            _("Unknown handling level %(level)r; one of %(levels)s.")
            % {"level": rule.level, "levels": ", ".join(HandlingLevel.values)},
            code="invalid",
            field="level",
        )
    for name in ("valid_from", "valid_to"):
        day = getattr(rule, name)
        if isinstance(day, dt.date) and not DATE_MIN <= day <= DATE_MAX:
            raise DomainError(
                _("A date between %(first)s and %(last)s.")
                % {"first": DATE_MIN.year, "last": DATE_MAX.year},
                code="range",
                field=name,
            )
    try:
        rule.full_clean()
    except ValidationError as exc:
        errors: list[dict[str, str | None]] = []
        for field, messages in exc.message_dict.items():
            for message in messages:
                name = field
                if field == "__all__":
                    name = next((f for c, f in _CONSTRAINT_FIELDS.items() if c in message), "level")
                errors.append({"code": "invalid", "field": name, "message": str(message)})
        raise RuleInvalid(errors) from None


def rule_summary(rule: RoutingRule) -> dict[str, Any]:
    """The rule's settings with codes, as the audit record keeps them."""
    return {
        "category_code": rule.category_code,
        "area": rule.area.code if rule.area else None,
        "level": rule.level,
        "unit_department": rule.unit_department.code if rule.unit_department else None,
        "unit_area": rule.unit_area.code if rule.unit_area else None,
        "priority": rule.priority,
        "active": rule.active,
        "valid_from": rule.valid_from.isoformat() if rule.valid_from else None,
        "valid_to": rule.valid_to.isoformat() if rule.valid_to else None,
    }


@transaction.atomic
def routing_rule_create(*, actor: User | None, values: dict[str, Any]) -> RoutingRule:
    """A new rule from `values` (the fields of `RULE_FIELDS`; codes for the units)."""
    unknown = sorted(set(values) - set(RULE_FIELDS))
    if unknown:
        raise DomainError(
            _("%(field)s cannot be set.") % {"field": unknown[0]}, code="unknown", field=unknown[0]
        )
    # A field left out (None) takes the model's default: `valid_from` today, `active` on.
    given = {k: v for k, v in _resolved(values).items() if v is not None or k == "valid_to"}
    rule = RoutingRule(**given)
    _check(rule)
    rule.save()
    audit_record(
        actor=actor,
        action="routing_rule.created",
        target_type="routing_rule",
        target_id=rule.pk,
        data=rule_summary(rule),
    )
    return rule


@transaction.atomic
def routing_rule_update(
    *, actor: User | None, rule: RoutingRule, changes: dict[str, Any]
) -> RoutingRule:
    """Change the fields of `RULE_FIELDS` given in `changes` (None clears an optional one)."""
    rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    resolved = _resolved(changes)
    for required in ("level", "priority", "active", "valid_from"):
        if required in resolved and resolved[required] is None:
            raise DomainError(
                _("%(field)s cannot be empty.") % {"field": required},
                code="required",
                field=required,
            )
    before = rule_summary(rule)
    changed = changes_apply(rule, resolved, RULE_FIELDS)
    if not changed:
        return rule
    _check(rule)
    rule.save()
    audit_record(
        actor=actor,
        action="routing_rule.changed",
        target_type="routing_rule",
        target_id=rule.pk,
        data={
            "fields": sorted(changed),
            "before": {k: before[k] for k in changed if k in before},
            "after": {k: v for k, v in rule_summary(rule).items() if k in changed},
        },
    )
    return rule


@transaction.atomic
def routing_rule_end(
    *, actor: User | None, rule: RoutingRule, valid_to: dt.date | None = None
) -> RoutingRule:
    """End a rule: from `valid_to` on (default today) it no longer routes cases. It stays on
    record, for the cases it routed."""
    rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    end = valid_to or timezone.localdate()
    if end <= rule.valid_from:
        raise DomainError(
            _(
                "A rule ends after the day it starts; switch it off (active: false) or "
                "delete it if it never routed a case."
            ),
            code="range",
            field="valid_to",
        )
    if rule.valid_to is not None and rule.valid_to <= end:
        raise DomainError(
            _("The rule already ends on %(day)s.") % {"day": rule.valid_to.isoformat()},
            code="already_ended",
            field="valid_to",
        )
    rule.valid_to = end
    _check(rule)
    rule.save(update_fields=["valid_to", "updated_at"])
    audit_record(
        actor=actor,
        action="routing_rule.ended",
        target_type="routing_rule",
        target_id=rule.pk,
        data={"valid_to": end.isoformat()},
    )
    return rule


class RuleInUse(DomainError):
    status = 409


@transaction.atomic
def routing_rule_delete(*, actor: User | None, rule: RoutingRule) -> None:
    """Delete a rule that never routed a case (one that did is ended instead)."""
    rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    if Case.objects.filter(routing_rule=rule).exists():
        raise RuleInUse(
            _("Cases were routed by this rule; end it (valid_to) instead of deleting it."),
            code="rule_in_use",
        )
    summary = rule_summary(rule)
    pk = rule.pk
    rule.delete()
    audit_record(
        actor=actor,
        action="routing_rule.deleted",
        target_type="routing_rule",
        target_id=pk,
        data=summary,
    )
