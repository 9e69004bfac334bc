"""The demo district as one plan: `build_plan` and the `DemoPlan` it returns."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from gridlink.demo.plan.areas import AreaPlan, areas_at_level, plan_areas
from gridlink.demo.plan.people import GridPopulation, PeopleMaker
from gridlink.demo.plan.staff import DepartmentPlan, UserPlan, plan_departments, plan_users
from gridlink.demo.plan.tables import SCALE_CONFIGS, SCALES, TAGS, TagPlan
from gridlink.geo.models import Level


@dataclass(frozen=True)
class DemoPlan:
    """Everything the demo district holds; `populations()` yields the people grid by grid."""

    scale: str
    seed: int
    areas: tuple[AreaPlan, ...]  # parents before children, by level then code
    departments: tuple[DepartmentPlan, ...]
    tags: tuple[TagPlan, ...]
    users: tuple[UserPlan, ...]
    people: bool

    def by_level(self, level: int) -> list[AreaPlan]:
        return areas_at_level(self.areas, level)

    def populations(self) -> Iterator[GridPopulation]:
        """People of each grid in code order (nothing when the plan was built without)."""
        if not self.people:
            return
        config = SCALE_CONFIGS[self.scale]
        maker = PeopleMaker(config=config, seed=self.seed, areas=self.areas)
        for grid in self.by_level(Level.GRID):
            yield maker.grid(grid)


def build_plan(*, scale: str, seed: int, people: bool = True) -> DemoPlan:
    """Plan the demo district at `scale` ("small" or "district") from `seed`."""
    if scale not in SCALE_CONFIGS:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    rng = random.Random(f"gridlink-demo:{scale}:{seed}:areas")
    areas = plan_areas(SCALE_CONFIGS[scale], rng)
    return DemoPlan(
        scale=scale,
        seed=seed,
        areas=tuple(areas),
        departments=tuple(plan_departments(areas, rng)),
        tags=TAGS,
        users=tuple(plan_users(areas, rng)),
        people=people,
    )
