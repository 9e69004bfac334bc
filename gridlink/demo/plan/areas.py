"""The areas of the demo district: the district, its streets and towns, communities and
villages, and grids, each with its code, names, grid type and polygon.

Grid cells are the Voronoi cells of seeded points clipped to the district outline;
communities are unions of their grids, streets unions of their communities, the district
the union of its streets. Codes number children north to south, then west to east.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import shapely

from gridlink.demo.plan.geometry import (
    PRECISION,
    Geom,
    LonLat,
    absorb_fragments,
    district_outline_and_coast,
    geojson_of,
    lloyd_relax,
    make_contiguous,
    reading_order,
    sample_points,
    snapped_union,
    voronoi_cells,
)
from gridlink.demo.plan.tables import (
    COMMUNITY_STEMS,
    COMMUNITY_SUFFIXES,
    DIRECTIONS,
    DISTRICT_CODE,
    STREETS,
    VILLAGE_PLACES,
    VILLAGE_SUFFIXES,
    ScaleConfig,
    StreetSpec,
    random_surname,
)
from gridlink.geo.models import AreaKind, GridType, Level


@dataclass(frozen=True, slots=True)
class AreaPlan:
    code: str
    level: int
    kind: str
    name_zh: str
    name_en: str
    grid_type: str
    parent_code: str | None
    shape: Geom = field(compare=False, repr=False)

    @property
    def geojson(self) -> dict[str, Any]:
        """The polygon as a GeoJSON dict of lists (so a JSON round trip compares equal)."""
        return geojson_of(self.shape)


def areas_at_level(areas: Iterable[AreaPlan], level: int) -> list[AreaPlan]:
    return [a for a in areas if a.level == level]


@dataclass(frozen=True, slots=True)
class _Tiling:
    """The district cut into grid cells, grouped into communities, grouped into streets."""

    street_seats: list[LonLat]
    street_shapes: list[Geom]
    community_street: list[int]  # the street of each community
    community_shapes: list[Geom]
    grids_of_community: list[list[int]]
    grid_shapes: list[Geom]


def _tile(
    config: ScaleConfig, streets: list[StreetSpec], outline: Geom, rng: random.Random
) -> _Tiling:
    """Seat each street near its town hall, sow communities and grids, and tile the outline."""
    street_seats = []
    for spec in streets:
        x, y = spec.lon + rng.uniform(-0.004, 0.004), spec.lat + rng.uniform(-0.004, 0.004)
        street_seats.append((x, y) if shapely.contains_xy(outline, x, y) else (spec.lon, spec.lat))
    street_regions = voronoi_cells(street_seats, outline)

    # Provisional communities inside each street, then grid seed points inside each community.
    community_street: list[int] = []
    grid_points: list[LonLat] = []
    grid_community: list[int] = []
    for s, (spec, region) in enumerate(zip(streets, street_regions, strict=True)):
        low, high = config.villages_per_town if spec.town else config.communities_per_street
        points = lloyd_relax(sample_points(rng, region, rng.randint(low, high)), region)
        for point, cell in zip(points, voronoi_cells(points, region), strict=True):
            k = rng.choice(config.village_grids if spec.town else config.urban_grids)
            own_points = [point] if k == 1 else lloyd_relax(sample_points(rng, cell, k), cell)
            grid_points.extend(own_points)
            grid_community.extend([len(community_street)] * len(own_points))
            community_street.append(s)

    # Final grid cells: one Voronoi diagram over every grid point, clipped to the outline.
    grid_shapes = absorb_fragments(voronoi_cells(grid_points, outline, grid_size=PRECISION))
    grid_community, community_shapes = make_contiguous(
        grid_shapes, grid_community, len(community_street)
    )
    community_street, street_shapes = make_contiguous(
        community_shapes, community_street, len(streets)
    )
    grids_of_community: list[list[int]] = [[] for _ in community_street]
    for g, c in enumerate(grid_community):
        grids_of_community[c].append(g)
    return _Tiling(
        street_seats,
        street_shapes,
        community_street,
        community_shapes,
        grids_of_community,
        grid_shapes,
    )


def plan_areas(config: ScaleConfig, rng: random.Random) -> list[AreaPlan]:
    """Every area of the district, parents before children (by level, then code)."""
    outline, coast = district_outline_and_coast()
    streets = [s for s in STREETS if s.name_zh in config.streets]
    tiling = _tile(config, streets, outline, rng)
    district = AreaPlan(
        DISTRICT_CODE,
        Level.DISTRICT,
        AreaKind.DISTRICT,
        "黄岛区",
        "Huangdao District (West Coast New Area)",
        "",
        None,
        snapped_union(tiling.street_shapes),
    )
    areas = [district]
    names = _PlaceNames(rng)
    street_numbers, town_numbers = itertools.count(1), itertools.count(101)
    for s, spec in enumerate(streets):
        code = f"{DISTRICT_CODE}{next(town_numbers if spec.town else street_numbers):03d}"
        kind = AreaKind.TOWN if spec.town else AreaKind.STREET
        areas.append(
            AreaPlan(
                code,
                Level.STREET,
                kind,
                spec.name_zh,
                spec.name_en,
                "",
                DISTRICT_CODE,
                tiling.street_shapes[s],
            )
        )
        members = [c for c, owner in enumerate(tiling.community_street) if owner == s]
        seat = shapely.Point(tiling.street_seats[s])
        by_distance = sorted(members, key=lambda c: tiling.community_shapes[c].distance(seat))
        seats = set(by_distance[: config.town_seats])
        community_numbers, village_numbers = itertools.count(1), itertools.count(201)
        for m in reading_order([tiling.community_shapes[c] for c in members]):
            c = members[m]
            village = spec.town and c not in seats
            if village:
                c_code = f"{code}{next(village_numbers):03d}"
                c_name = names.village()
            else:
                c_code = f"{code}{next(community_numbers):03d}"
                c_name = names.town_seat(spec.name_zh) if spec.town else names.community()
            c_kind = AreaKind.VILLAGE if village else AreaKind.COMMUNITY
            c_shape = tiling.community_shapes[c]
            areas.append(AreaPlan(c_code, Level.COMMUNITY, c_kind, c_name, "", "", code, c_shape))
            v2c = (spec.town and not village) or (not spec.town and rng.random() < 0.12)
            grid_shapes = [tiling.grid_shapes[g] for g in tiling.grids_of_community[c]]
            for n, g in enumerate(reading_order(grid_shapes), start=1):
                cell = grid_shapes[g]
                grid_type = _grid_type(rng, spec, village, v2c, cell.intersects(coast))
                suffix = _GRID_SUFFIX.get(grid_type, "")
                areas.append(
                    AreaPlan(
                        f"{c_code}{n:03d}",
                        Level.GRID,
                        AreaKind.GRID,
                        f"{c_name}第{n}网格{suffix}",
                        "",
                        grid_type,
                        c_code,
                        cell,
                    )
                )
    return sorted(areas, key=lambda a: (a.level, a.code))


_GRID_SUFFIX: dict[str, str] = {
    GridType.ENTERPRISE: "（园区）",
    GridType.SPECIAL: "（专属）",
    GridType.SEA: "（海域）",
    GridType.MOUNTAIN_FOREST: "（山林）",
}


def _grid_type(
    rng: random.Random, spec: StreetSpec, village: bool, v2c: bool, coastal: bool
) -> str:
    roll = rng.random()
    if coastal and roll < 0.15:
        return GridType.SEA
    if village:
        return GridType.MOUNTAIN_FOREST if roll > 0.93 else GridType.RURAL
    if "山" in spec.name_zh and roll > 0.88:
        return GridType.MOUNTAIN_FOREST
    if roll > 0.95:
        return GridType.ENTERPRISE
    if roll > 0.91:
        return GridType.SPECIAL
    return GridType.VILLAGE_TO_COMMUNITY if v2c else GridType.URBAN


class _PlaceNames:
    """Unique community and village names drawn from the name pools."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()
        pool = [f"{stem}{suffix}" for stem in COMMUNITY_STEMS for suffix in COMMUNITY_SUFFIXES]
        rng.shuffle(pool)
        self.community_pool = pool

    def _unique(self, name: str) -> str:
        n = 1
        candidate = name
        while candidate in self.used:
            n += 1
            candidate = f"{name[:-2]}{n}{name[-2:]}"
        self.used.add(candidate)
        return candidate

    def community(self) -> str:
        while self.community_pool:
            name = f"{self.community_pool.pop()}社区"
            if name not in self.used:
                return self._unique(name)
        return self._unique(f"{self.rng.choice(COMMUNITY_STEMS)}社区")

    def town_seat(self, town: str) -> str:
        base = town.removesuffix("镇")
        for name in (f"{base}社区", f"{base}东社区", f"{base}西社区", f"{base}南社区"):
            if name not in self.used:
                return self._unique(name)
        return self._unique(f"{base}社区")

    def village(self) -> str:
        rng = self.rng
        for _ in range(50):
            suffix = rng.choice(VILLAGE_SUFFIXES)
            roll = rng.random()
            if roll < 0.45:
                stem = f"{random_surname(rng)}家"
            elif roll < 0.75:
                stem = f"{rng.choice(DIRECTIONS)}{random_surname(rng)}家"
            else:
                stem = f"{rng.choice(DIRECTIONS)}{rng.choice(VILLAGE_PLACES)}"
            name = f"{stem}{suffix}村".replace("家家", "家")
            if name not in self.used:
                return self._unique(name)
        return self._unique(f"{random_surname(rng)}家庄村")
