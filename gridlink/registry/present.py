"""How registry records look to a given user: masked fields, permitted tags, and only the
fields their role needs.

The API, the web pages and the exports all go through these functions, so the masking on
a screen and in a file is the same by construction.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from gridlink.accounts.permissions import roles_in_area
from gridlink.accounts.roles import Role
from gridlink.registry.masking import mask_id_number, mask_phone
from gridlink.registry.selectors import tags_visible_to

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser
    from gridlink.geo.models import Area
    from gridlink.registry.models import Building, Household, Organisation, Resident

# Family composition (SPEC §2: "only the fields their role needs"). The roles that keep the
# base data and work with households see it; department staff and supervisors, who deal
# with a person about a matter, see it as null.
HOUSEHOLD_FIELDS = ("household", "relation_to_head")
ROLES_SEEING_HOUSEHOLDS = frozenset(
    {Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.DISPATCHER, Role.ADMIN}
)


def sees_households(user: AnyUser, grid: Area) -> bool:
    return user.is_superuser or bool(ROLES_SEEING_HOUSEHOLDS & roles_in_area(user, grid))


# Age (SPEC §2): a birth year tells who is under 14 as surely as the minor_under_14 tag, so
# only users who may see that tag over the grid see the year; everyone sees an age band.
MINOR_TAG = "minor_under_14"


def age_band(born: dt.date, today: dt.date | None = None) -> str:
    """The band of an age: 0-17, 18-34, 35-59 or 60+ (never the exact age)."""
    today = today or timezone.localdate()
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    bands = {0: "0-17", 18: "18-34", 35: "35-59", 60: "60+"}
    return bands[max(lower for lower in bands if lower <= max(age, 0))]


def sees_birth_year(user: AnyUser, grid: Area) -> bool:
    """Whether `user` may see birth years over `grid`: exactly who may see the minor tag
    (superusers; or, when the tag is sensitive, the roles granted it; when it is not, anyone)."""
    from gridlink.registry.models import Tag

    if user.is_superuser:
        return True
    # One query per request user, not per row (lists and exports call this for every row).
    cached: tuple[bool, set[str] | None] | None = getattr(user, "_gridlink_minor_tag", None)
    if cached is None:
        tag = Tag.objects.filter(code=MINOR_TAG).only("sensitive", "granted_roles").first()
        granted = None if tag is None else (set(tag.granted_roles) if tag.sensitive else None)
        cached = (tag is not None, granted)
        setattr(user, "_gridlink_minor_tag", cached)  # noqa: B010 -- a per-request cache on the user
    exists, granted = cached
    if granted is None:
        return bool(exists)  # no such tag: nobody is told; a tag that is not sensitive: all
    return bool(roles_in_area(user, grid) & granted)


def resident_row(resident: Resident, user: AnyUser, *, tags: bool = True) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": resident.pk,
        "name": resident.name,
        "sex": resident.sex,
        "birth_year": resident.birth_date.year if sees_birth_year(user, resident.grid) else None,
        "age_band": age_band(resident.birth_date),
        "id_number": mask_id_number(resident.id_number),
        "phone": mask_phone(resident.phone),
        "grid_code": resident.grid.code,
        "grid_name": resident.grid.name_zh,
        "household": resident.household.number
        if resident.household_id and resident.household
        else None,
        "residence_type": resident.residence_type,
        "relation_to_head": resident.relation_to_head,
    }
    if not sees_households(user, resident.grid):
        row.update(dict.fromkeys(HOUSEHOLD_FIELDS))
    if tags:
        row["tags"] = [
            t.code for t in tags_visible_to(user, list(resident.tags.all()), grid=resident.grid)
        ]
    return row


def organisation_row(org: Organisation) -> dict[str, Any]:
    return {
        "id": org.pk,
        "credit_code": org.credit_code,
        "name": org.name,
        "kind": org.kind,
        "grid_code": org.grid.code,
        "grid_name": org.grid.name_zh,
        "address": org.address,
        "legal_representative": org.legal_representative,
        "contact_phone": mask_phone(org.contact_phone),
        "employees": org.employees,
    }


def building_row(building: Building) -> dict[str, Any]:
    return {
        "id": building.pk,
        "address_code": building.address_code,
        "address": building.address,
        "name": building.name,
        "grid_code": building.grid.code,
        "lat": building.lat,
        "lon": building.lon,
        "use": building.use,
        "floors": building.floors,
    }


def household_row(household: Household) -> dict[str, Any]:
    return {
        "id": household.pk,
        "number": household.number,
        "building": household.building.address_code if household.building else None,
        "room": household.room,
        "grid_code": household.grid.code,
    }
