"""Write a demo plan (`gridlink.demo.plan`) into an empty database.

Rows go in with `bulk_create`, a few thousand at a time, all inside one transaction: a
seed either lands whole or not at all. People are written grid by grid as the plan
generates them, so a district-scale seed never holds every resident in memory.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from tqdm import tqdm

from gridlink.accounts.models import RoleAssignment, User
from gridlink.core.audit import audit_record
from gridlink.demo.plan import (
    DEMO_PASSWORD,
    VALID_FROM,
    DemoPlan,
    GridPopulation,
)
from gridlink.geo.models import Area, Department, Level
from gridlink.geo.services import geo_revision_bump
from gridlink.registry.models import (
    Building,
    GridAssignment,
    Household,
    Organisation,
    Resident,
    Tag,
)


class DatabaseNotEmpty(RuntimeError):
    """The demo district only goes into a database without areas, registry rows or demo users."""


@dataclass(frozen=True)
class SeedResult:
    scale: str
    seed: int
    counts: dict[str, int]
    seconds: float


_REGISTRY_MODELS: tuple[Any, ...] = (
    Area,
    Department,
    Tag,
    Building,
    Household,
    Resident,
    Organisation,
)


def demo_conflicts(*, plan: DemoPlan) -> list[str]:
    """What already in the database stops `plan` from being seeded (empty list: nothing)."""
    problems = [
        f"{model.objects.count()} {model._meta.verbose_name_plural}"
        for model in _REGISTRY_MODELS
        if model.objects.exists()
    ]
    taken = User.objects.filter(username__in=[u.username for u in plan.users])
    names = list(taken.order_by("username").values_list("username", flat=True)[:5])
    if names:
        problems.append(f"users named {', '.join(names)}")
    return problems


@transaction.atomic
def demo_seed(*, plan: DemoPlan, progress: bool = False, batch_size: int = 5000) -> SeedResult:
    """Write `plan` into an empty database; raise DatabaseNotEmpty otherwise."""
    started = time.monotonic()
    problems = demo_conflicts(plan=plan)
    if problems:
        raise DatabaseNotEmpty("the database already has " + "; ".join(problems))
    areas = _write_areas(plan)
    departments = _write_departments(plan, areas)
    tags = _write_tags(plan)
    n_users = _write_users(plan, areas, departments)
    counts, per_grid = _write_people(plan, areas, tags, progress=progress, batch_size=batch_size)
    _write_area_counts(areas, per_grid)
    summary = {
        "streets": len(plan.by_level(Level.STREET)),
        "communities": len(plan.by_level(Level.COMMUNITY)),
        "grids": len(plan.by_level(Level.GRID)),
        "departments": len(departments),
        "users": n_users,
        "buildings": counts["buildings"],
        "households": counts["households"],
        "residents": counts["residents"],
        "organisations": counts["organisations"],
    }
    geo_revision_bump()
    audit_record(
        actor=None,
        action="demo.seeded",
        data={"scale": plan.scale, "seed": plan.seed, "counts": summary},
    )
    return SeedResult(plan.scale, plan.seed, summary, time.monotonic() - started)


def _write_areas(plan: DemoPlan) -> dict[str, Area]:
    """Areas level by level (parents first), then their `path`, which needs the new ids."""
    by_code: dict[str, Area] = {}
    for level in (Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID):
        rows = [
            Area(
                code=a.code,
                level=a.level,
                kind=a.kind,
                name_zh=a.name_zh,
                name_en=a.name_en,
                grid_type=a.grid_type,
                geometry=a.geojson,
                parent=by_code[a.parent_code] if a.parent_code else None,
                valid_from=VALID_FROM,
            )
            for a in plan.by_level(level)
        ]
        Area.objects.bulk_create(rows, batch_size=500)
        for row in rows:
            row.path = f"{row.parent.path if row.parent else '/'}{row.pk}/"
            by_code[row.code] = row
        Area.objects.bulk_update(rows, ["path"], batch_size=500)
    return by_code


def _write_departments(plan: DemoPlan, areas: dict[str, Area]) -> dict[str, int]:
    by_code: dict[str, int] = {}
    for dept in plan.departments:  # parents come before their stations in the plan
        row = Department.objects.create(
            code=dept.code,
            name_zh=dept.name_zh,
            name_en=dept.name_en,
            kind=dept.kind,
            parent_id=by_code[dept.parent_code] if dept.parent_code else None,
            phone=dept.phone,
        )
        by_code[dept.code] = row.pk
    served = Department.areas.through
    served.objects.bulk_create(
        served(department_id=by_code[dept.code], area_id=areas[code].pk)
        for dept in plan.departments
        for code in dept.area_codes
    )
    return by_code


def _write_tags(plan: DemoPlan) -> dict[str, int]:
    rows = Tag.objects.bulk_create(
        Tag(
            code=t.code,
            name_zh=t.name_zh,
            name_en=t.name_en,
            sensitive=t.sensitive,
            granted_roles=[str(role) for role in t.granted_roles],
        )
        for t in plan.tags
    )
    return {row.code: row.pk for row in rows}


def _write_users(plan: DemoPlan, areas: dict[str, Area], departments: dict[str, int]) -> int:
    """Demo users share one password hash: hashing once keeps seeding fast."""
    password = make_password(DEMO_PASSWORD)
    users = User.objects.bulk_create(
        User(
            username=u.username,
            display_name=u.display_name,
            phone=u.phone,
            password=password,
            is_staff=u.is_superuser,
            is_superuser=u.is_superuser,
        )
        for u in plan.users
    )
    RoleAssignment.objects.bulk_create(
        RoleAssignment(
            user=user,
            role=u.role,
            area_id=areas[u.area_code].pk if u.area_code else None,
            department_id=departments[u.department_code] if u.department_code else None,
            valid_from=VALID_FROM,
        )
        for user, u in zip(users, plan.users, strict=True)
    )
    GridAssignment.objects.bulk_create(
        GridAssignment(user=user, grid=areas[u.assigned_grid_code], started_on=u.started_on)
        for user, u in zip(users, plan.users, strict=True)
        if u.assigned_grid_code
    )
    return len(users)


def _write_people(
    plan: DemoPlan,
    areas: dict[str, Area],
    tags: dict[str, int],
    *,
    progress: bool,
    batch_size: int,
) -> tuple[Counter[str], dict[str, tuple[int, int]]]:
    """Buildings, households, residents (with tags) and organisations, grid by grid.

    Returns the row counts and each grid's (households, residents)."""
    counts: Counter[str] = Counter()
    per_grid: dict[str, tuple[int, int]] = {}
    pending: list[GridPopulation] = []
    size = 0
    bar = tqdm(
        total=len(plan.by_level(Level.GRID)) if plan.people else 0,
        desc="people",
        unit="grid",
        file=sys.stderr,
        disable=not progress,
    )
    with bar:
        for population in plan.populations():
            pending.append(population)
            per_grid[population.grid_code] = (
                len(population.households),
                len(population.residents),
            )
            size += len(population.residents) + len(population.households)
            if size >= batch_size:
                _write_batch(pending, areas, tags, counts)
                bar.update(len(pending))
                bar.set_postfix(residents=counts["residents"])
                pending, size = [], 0
        _write_batch(pending, areas, tags, counts)
        bar.update(len(pending))
        bar.set_postfix(residents=counts["residents"])
    return counts, per_grid


def _write_batch(
    populations: list[GridPopulation],
    areas: dict[str, Area],
    tags: dict[str, int],
    counts: Counter[str],
) -> None:
    if not populations:
        return
    buildings = Building.objects.bulk_create(
        Building(
            address_code=b.address_code,
            address=b.address,
            name=b.name,
            grid_id=areas[b.grid_code].pk,
            lat=b.lat,
            lon=b.lon,
            use=b.use,
            floors=b.floors,
        )
        for p in populations
        for b in p.buildings
    )
    building_ids = {b.address_code: b.pk for b in buildings}
    households = Household.objects.bulk_create(
        Household(
            number=h.number,
            building_id=building_ids[h.building_code],
            room=h.room,
            grid_id=areas[h.grid_code].pk,
        )
        for p in populations
        for h in p.households
    )
    household_ids = {h.number: h.pk for h in households}
    plans = [r for p in populations for r in p.residents]
    residents = Resident.objects.bulk_create(
        Resident(
            id_number=r.id_number,
            name=r.name,
            sex=r.sex,
            birth_date=r.birth_date,
            phone=r.phone,
            household_id=household_ids[r.household_number],
            grid_id=areas[r.grid_code].pk,
            residence_type=r.residence_type,
            relation_to_head=r.relation_to_head,
        )
        for r in plans
    )
    tagged = Resident.tags.through
    tagged.objects.bulk_create(
        tagged(resident_id=row.pk, tag_id=tags[code])
        for row, r in zip(residents, plans, strict=True)
        for code in r.tag_codes
    )
    organisations = Organisation.objects.bulk_create(
        Organisation(
            credit_code=o.credit_code,
            name=o.name,
            kind=o.kind,
            grid_id=areas[o.grid_code].pk,
            building_id=building_ids[o.building_code],
            address=o.address,
            legal_representative=o.legal_representative,
            contact_phone=o.contact_phone,
            employees=o.employees,
        )
        for p in populations
        for o in p.organisations
    )
    counts["buildings"] += len(buildings)
    counts["households"] += len(households)
    counts["residents"] += len(residents)
    counts["organisations"] += len(organisations)


def _write_area_counts(areas: dict[str, Area], per_grid: dict[str, tuple[int, int]]) -> None:
    """Households and residents of each grid, summed up the tree to the district."""
    for area in areas.values():
        area.households = area.residents = 0
    for grid_code, (households, residents) in per_grid.items():
        code: str | None = grid_code
        while code is not None:
            area = areas[code]
            area.households += households
            area.residents += residents
            code = area.parent.code if area.parent else None
    Area.objects.bulk_update(list(areas.values()), ["households", "residents"], batch_size=500)
