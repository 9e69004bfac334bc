"""The people of the demo district, grid by grid: buildings, households, residents and
organisations, with unique ID numbers, mobiles and credit codes.

Each grid has its own `random.Random`, so grids are independent; only the sets of issued
ID numbers, mobiles and credit codes carry from one grid to the next, which keeps them
unique. Grids are visited in code order, so the result is deterministic.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from gridlink.core.validators import make_id_number
from gridlink.demo.plan.areas import AreaPlan
from gridlink.demo.plan.geometry import LonLat, random_points_in
from gridlink.demo.plan.households import (
    birth_date_and_region,
    household_makeup,
    resident_tags,
)
from gridlink.demo.plan.organisations import (
    organisation_identity,
    random_credit_code,
    random_organisation_kind,
)
from gridlink.demo.plan.tables import (
    BRANDS,
    ESTATE_SUFFIXES,
    ROADS,
    ScaleConfig,
    random_mobile,
    random_person_name,
)
from gridlink.geo.models import GridType
from gridlink.registry.models import BuildingUse, Sex


@dataclass(frozen=True, slots=True)
class BuildingPlan:
    address_code: str
    address: str
    name: str
    grid_code: str
    lat: float
    lon: float
    use: str
    floors: int


@dataclass(frozen=True, slots=True)
class HouseholdPlan:
    number: str
    building_code: str
    room: str
    grid_code: str


@dataclass(frozen=True, slots=True)
class ResidentPlan:
    id_number: str
    name: str
    sex: str
    birth_date: dt.date
    phone: str
    household_number: str
    grid_code: str
    residence_type: str
    relation_to_head: str
    tag_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OrganisationPlan:
    credit_code: str
    name: str
    kind: str
    grid_code: str
    building_code: str
    address: str
    legal_representative: str
    contact_phone: str
    employees: int


@dataclass(frozen=True, slots=True)
class GridPopulation:
    grid_code: str
    buildings: list[BuildingPlan]
    households: list[HouseholdPlan]
    residents: list[ResidentPlan]
    organisations: list[OrganisationPlan]


_URBAN_TYPES = {
    GridType.URBAN,
    GridType.VILLAGE_TO_COMMUNITY,
    GridType.SPECIAL,
    GridType.ENTERPRISE,
}
# Share of an ordinary grid's households that live in grids of each special type.
_HOUSEHOLD_SHARE: dict[str, float] = {
    GridType.ENTERPRISE: 0.15,
    GridType.SPECIAL: 0.2,
    GridType.SEA: 0.1,
    GridType.MOUNTAIN_FOREST: 0.3,
}


def _unused(draw: Callable[[], str], issued: set[str]) -> str:
    """Draw until the value is not in `issued`, then record it there."""
    value = draw()
    while value in issued:
        value = draw()
    issued.add(value)
    return value


def _add_building(
    out: GridPopulation, spot: LonLat, address: str, name: str, use: str, floors: int
) -> BuildingPlan:
    code = f"{out.grid_code}{len(out.buildings) + 1:04d}"
    building = BuildingPlan(code, address, name, out.grid_code, spot[1], spot[0], use, floors)
    out.buildings.append(building)
    return building


class PeopleMaker:
    """Generates each grid's buildings, households, residents and organisations."""

    def __init__(self, *, config: ScaleConfig, seed: int, areas: Sequence[AreaPlan]) -> None:
        self.seed = seed
        self.config = config
        self.areas = {a.code: a for a in areas}
        self.id_numbers: set[str] = set()
        self.mobiles: set[str] = set()
        self.credit_codes: set[str] = set()

    def grid(self, grid: AreaPlan) -> GridPopulation:
        rng = random.Random(f"gridlink-demo:{self.config.name}:{self.seed}:people:{grid.code}")
        community = self.areas[grid.parent_code or ""]
        roads = random.Random(f"{self.seed}:roads:{community.code}").sample(ROADS, 3)
        inner = grid.shape.buffer(-2e-5)
        region = inner if inner.area > grid.shape.area * 0.2 else grid.shape
        out = GridPopulation(grid.code, [], [], [], [])
        urban = grid.grid_type in _URBAN_TYPES
        low, high = self.config.urban_households if urban else self.config.rural_households
        target = round(rng.randint(low, high) * _HOUSEHOLD_SHARE.get(grid.grid_type, 1.0))
        spots = random_points_in(rng, region)
        if urban:
            self._urban_homes(rng, grid, roads, spots, target, out)
        else:
            self._rural_homes(rng, grid, community, spots, target, out)
        self._organisations(rng, grid, community, roads, spots, out)
        return out

    def _urban_homes(
        self,
        rng: random.Random,
        grid: AreaPlan,
        roads: list[str],
        spots: Iterator[LonLat],
        target: int,
        out: GridPopulation,
    ) -> None:
        estate = f"{rng.choice(BRANDS)}{rng.choice(ESTATE_SUFFIXES)}"
        road, number, block = rng.choice(roads), rng.randrange(1, 400), 0
        while len(out.households) < target:
            block += 1
            floors = rng.choice(self.config.floors)
            units = rng.randint(*self.config.units)
            use = BuildingUse.MIXED if rng.random() < 0.1 else BuildingUse.RESIDENTIAL
            address = f"{road}{number}号{block}号楼"
            building = _add_building(out, next(spots), address, f"{estate}{block}号楼", use, floors)
            for unit in range(1, units + 1):
                for floor in range(1, floors + 1):
                    for door in (1, 2):
                        if len(out.households) < target and rng.random() < 0.85:
                            self._household(rng, grid, building, f"{unit}-{floor}{door:02d}", out)

    def _rural_homes(
        self,
        rng: random.Random,
        grid: AreaPlan,
        community: AreaPlan,
        spots: Iterator[LonLat],
        target: int,
        out: GridPopulation,
    ) -> None:
        number = 0
        for _ in range(target):
            number += rng.randint(1, 4)
            address = f"{community.name_zh}{number}号"
            spot = next(spots)  # before the floors: the order of draws fixes the plan
            floors = rng.choice((1, 1, 1, 2))
            building = _add_building(out, spot, address, "", BuildingUse.RURAL_HOUSE, floors)
            self._household(rng, grid, building, "", out)

    def _household(
        self,
        rng: random.Random,
        grid: AreaPlan,
        building: BuildingPlan,
        room: str,
        out: GridPopulation,
    ) -> None:
        number = f"H{grid.code}{len(out.households) + 1:04d}"
        out.households.append(HouseholdPlan(number, building.address_code, room, grid.code))
        household = household_makeup(rng, urban=grid.grid_type in _URBAN_TYPES)
        for member in household.members:
            born, region = birth_date_and_region(rng, household, member)
            tags = resident_tags(rng, household, member)
            has_phone = member.age >= 14 and rng.random() < (0.55 if member.age >= 80 else 0.95)
            id_number, born = self._id_number(rng, region, born, member.sex)
            name = random_person_name(rng, member.sex, born.year, household.surname_of(member))
            out.residents.append(
                ResidentPlan(
                    id_number=id_number,
                    name=name,
                    sex=member.sex,
                    birth_date=born,
                    phone=self._mobile(rng) if has_phone else "",
                    household_number=number,
                    grid_code=grid.code,
                    residence_type=household.residence_type,
                    relation_to_head=member.relation_to_head,
                    tag_codes=tags,
                )
            )

    def _id_number(
        self, rng: random.Random, region: str, born: dt.date, sex: str
    ) -> tuple[str, dt.date]:
        """A unique ID number whose sequence parity matches `sex` (odd = male), and the
        birth date it carries (moved a day earlier if that day's numbers are all taken)."""
        while True:
            for _ in range(20):
                sequence = rng.randrange(500) * 2 + (1 if sex == Sex.MALE else 0)
                value = make_id_number(region, born, sequence)
                if value not in self.id_numbers:
                    self.id_numbers.add(value)
                    return value, born
            born -= dt.timedelta(days=1)

    def _mobile(self, rng: random.Random) -> str:
        return _unused(lambda: random_mobile(rng), self.mobiles)

    def _credit_code(self, rng: random.Random, prefix: str) -> str:
        return _unused(lambda: random_credit_code(rng, prefix), self.credit_codes)

    def _organisations(
        self,
        rng: random.Random,
        grid: AreaPlan,
        community: AreaPlan,
        roads: list[str],
        spots: Iterator[LonLat],
        out: GridPopulation,
    ) -> None:
        count = rng.randint(*self.config.organisations)
        street = self.areas[community.parent_code or ""]
        if grid.grid_type == GridType.ENTERPRISE:
            count, profile, use = count * 2, "enterprise", BuildingUse.INDUSTRIAL
        elif grid.grid_type in _URBAN_TYPES:
            profile, use = "urban", BuildingUse.COMMERCIAL
        else:
            count, profile, use = max(1, count // 2), "rural", BuildingUse.COMMERCIAL
        premises: list[BuildingPlan] = []
        for _ in range(max(1, math.ceil(count / 3))):
            road = rng.choice(roads) if profile != "rural" else community.name_zh
            address = f"{road}{rng.randrange(1, 500)}号"
            premises.append(_add_building(out, next(spots), address, "", use, rng.randint(1, 5)))
        for _ in range(count):
            kind = random_organisation_kind(rng, profile)
            name, prefix, employees = organisation_identity(rng, kind, street, community)
            building = rng.choice(premises)
            out.organisations.append(
                OrganisationPlan(
                    credit_code=self._credit_code(rng, prefix),
                    name=name,
                    kind=kind,
                    grid_code=grid.code,
                    building_code=building.address_code,
                    address=building.address,
                    legal_representative=random_person_name(
                        rng, rng.choice("MF"), rng.randint(1955, 1995)
                    ),
                    contact_phone=self._mobile(rng),
                    employees=employees,
                )
            )
