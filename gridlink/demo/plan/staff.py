"""The people who run the demo district: departments and their street stations, and the
demo users, one or more per role, each with the scope of their role — so that every
routing target (a grid's and a community's office, a street office, a street station, a
district department) has someone who can sign for its cases (`gridlink routing check`)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from gridlink.accounts.roles import Role
from gridlink.demo.plan.areas import AreaPlan, areas_at_level
from gridlink.demo.plan.tables import (
    DISTRICT_CODE,
    DISTRICT_DEPARTMENTS,
    STREET_STATIONS,
    VALID_FROM,
    random_mobile,
    random_person_name,
)
from gridlink.geo.models import AreaKind, DepartmentKind, Level


@dataclass(frozen=True, slots=True)
class DepartmentPlan:
    code: str
    name_zh: str
    name_en: str
    kind: str
    parent_code: str | None
    area_codes: tuple[str, ...]
    phone: str


@dataclass(frozen=True, slots=True)
class UserPlan:
    username: str
    display_name: str
    phone: str
    role: str
    area_code: str | None = None
    department_code: str | None = None
    is_superuser: bool = False
    assigned_grid_code: str | None = None  # a GridAssignment for grid workers
    started_on: dt.date = VALID_FROM


# The demo logins that `demo_logins` prints, one per role: (role, username).
DEMO_LOGINS = (
    (Role.ADMIN, "admin"),
    (Role.GRID_WORKER, "grid001"),
    (Role.COMMUNITY_STAFF, "community1"),
    (Role.STREET_STAFF, "street1"),
    (Role.DISPATCHER, "dispatcher1"),
    (Role.DISPATCHER, "district_dispatcher"),
    (Role.DEPT_HANDLER, "dept_cg"),
    (Role.DEPT_HEAD, "dept_head_cg"),
    (Role.DEPT_HANDLER, "station_cg1"),
    (Role.DEPT_HEAD, "station_head_cg1"),
    (Role.HOTLINE_OPERATOR, "hotline1"),
    (Role.SUPERVISOR, "supervisor1"),
    (Role.SOCIAL_ORG_MEMBER, "socialorg1"),
    (Role.EVALUATOR, "evaluator1"),
    (Role.RESIDENT, "resident1"),
)


def plan_departments(areas: list[AreaPlan], rng: random.Random) -> list[DepartmentPlan]:
    """The district departments, then each street's office and stations."""

    def phone() -> str:
        return f"0532-86{rng.randrange(10**6):06d}"

    out = [
        DepartmentPlan(d.code, d.name_zh, d.name_en, d.kind, None, (DISTRICT_CODE,), phone())
        for d in DISTRICT_DEPARTMENTS
    ]
    for street in areas_at_level(areas, Level.STREET):
        office = "人民政府" if street.kind == AreaKind.TOWN else "办事处"
        out.append(
            DepartmentPlan(
                f"{street.code}-JD",
                f"{street.name_zh}{office}",
                f"{street.name_en} Office",
                DepartmentKind.STREET_OFFICE,
                None,
                (street.code,),
                phone(),
            )
        )
        short = street.name_zh.removesuffix("街道").removesuffix("镇")
        for suffix, name, name_en, kind, parent in STREET_STATIONS:
            out.append(
                DepartmentPlan(
                    f"{street.code}-{suffix}",
                    f"{short}{name}",
                    f"{street.name_en} {name_en}",
                    kind,
                    parent,
                    (street.code,),
                    phone(),
                )
            )
    return out


def plan_users(areas: list[AreaPlan], rng: random.Random) -> list[UserPlan]:
    """The superuser, a grid worker per grid, and staff for every other role and scope."""

    def user(username: str, role: str, **scope: Any) -> UserPlan:
        sex = "M" if rng.random() < 0.5 else "F"
        name = random_person_name(rng, sex, rng.randint(1965, 1999))
        return UserPlan(username, name, random_mobile(rng), role, **scope)

    streets = areas_at_level(areas, Level.STREET)
    communities = areas_at_level(areas, Level.COMMUNITY)
    grids = areas_at_level(areas, Level.GRID)
    district = DISTRICT_CODE
    out = [UserPlan("admin", "系统管理员", "", Role.ADMIN, area_code=district, is_superuser=True)]
    for i, grid in enumerate(grids, start=1):
        started = VALID_FROM + dt.timedelta(days=rng.randrange(4 * 365))
        out.append(
            user(
                f"grid{i:03d}",
                Role.GRID_WORKER,
                area_code=grid.code,
                assigned_grid_code=grid.code,
                started_on=started,
            )
        )
    for i, community in enumerate(communities, start=1):
        out.append(user(f"community{i}", Role.COMMUNITY_STAFF, area_code=community.code))
    for i, street in enumerate(streets, start=1):
        out.append(user(f"dispatcher{i}", Role.DISPATCHER, area_code=street.code))
        # The street office (街道办事处) handles street-level cases; each street station
        # (城管中队, 派出所, 市场监管所) has a handler and a head who sign for its cases.
        out.append(user(f"street{i}", Role.STREET_STAFF, area_code=street.code))
        for suffix, *_rest in STREET_STATIONS:
            code, slug = f"{street.code}-{suffix}", suffix.lower()
            out.append(user(f"station_{slug}{i}", Role.DEPT_HANDLER, department_code=code))
            out.append(user(f"station_head_{slug}{i}", Role.DEPT_HEAD, department_code=code))
    out.append(user("district_dispatcher", Role.DISPATCHER, area_code=district))
    for dept in DISTRICT_DEPARTMENTS:
        slug = dept.code.lower()
        out.append(user(f"dept_{slug}", Role.DEPT_HANDLER, department_code=dept.code))
        out.append(user(f"dept_head_{slug}", Role.DEPT_HEAD, department_code=dept.code))
    for username, role in (
        ("hotline1", Role.HOTLINE_OPERATOR),
        ("hotline2", Role.HOTLINE_OPERATOR),
        ("supervisor1", Role.SUPERVISOR),
        ("socialorg1", Role.SOCIAL_ORG_MEMBER),
        ("evaluator1", Role.EVALUATOR),
    ):
        out.append(user(username, role, area_code=district))
    out.append(user("resident1", Role.RESIDENT, area_code=grids[0].code))
    return out
