"""Template helpers for the web pages: names in the page's language, choice labels, roles."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Choices

from gridlink.accounts.permissions import has_capability, roles_of
from gridlink.accounts.roles import Role
from gridlink.geo.models import GridType, Level
from gridlink.registry.models import BuildingUse, OrganisationKind, ResidenceType, Sex
from gridlink.web.names import localname

register = template.Library()

# Stored choice codes (as the present.* rows carry them) → the TextChoices that label them.
CHOICES: dict[str, type[Choices]] = {
    "sex": Sex,
    "residence_type": ResidenceType,
    "organisation_kind": OrganisationKind,
    "building_use": BuildingUse,
    "grid_type": GridType,
    "level": Level,
    "role": Role,
}


register.filter("localname", localname)


@register.filter
def choice_label(value: Any, choices: str) -> str:
    """The translated label of a stored choice code; the code itself if unknown."""
    enum = CHOICES[choices]
    for code, label in enum.choices:
        if str(code) == str(value):
            return str(label)
    return "" if value is None else str(value)


@register.filter
def has_cap(user: Any, capability: str) -> bool:
    return has_capability(user, capability)


@register.filter
def works_cases(user: Any) -> bool:
    """Whether the user holds a role that works on cases (the /cases/ pages)."""
    from gridlink.web.views.cases_staff import STAFF_ROLES

    if not user.is_authenticated:
        return False
    return bool(user.is_superuser or roles_of(user) & STAFF_ROLES)


@register.filter
def sees_assessment(user: Any) -> bool:
    """Whether the user may see some unit's figures (the /assessment/ pages)."""
    from gridlink.web.views.assessment import sees_assessment as sees  # views load tags late

    return sees(user)


@register.filter
def sees_scorecards(user: Any) -> bool:
    """Whether the user may open the assessment scorecards."""
    from gridlink.assessment.permissions import may_view_scorecards

    return bool(user.is_authenticated and may_view_scorecards(user))


@register.simple_tag
def role_labels(user: Any) -> list[str]:
    """The user's roles, translated, in the order of the role list."""
    held = roles_of(user) if user.is_authenticated else set()
    return [str(role.label) for role in Role if role.value in held]
