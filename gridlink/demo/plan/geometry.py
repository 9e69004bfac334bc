"""The district outline and the Voronoi tiling that cuts it into streets, communities, grids.

Every overlay of the final tiling runs on a 1e-7° precision grid (about 1 cm), so
neighbours share their edges exactly.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from typing import Any

import shapely
from shapely.geometry import LineString, MultiPoint, Polygon, mapping

from gridlink.demo.plan.tables import DISTRICT_CODE

PRECISION = 1e-7  # degrees; every polygon vertex sits on this grid

Geom = Any  # shapely geometries carry no type information
LonLat = tuple[float, float]  # (lon, lat)

# A hand-drawn outline of the West Coast New Area (lon, lat), counter-clockwise from the
# border with Rizhao; edges 1–14 follow the coast.
_OUTLINE = [
    (119.60, 35.62), (119.72, 35.58), (119.85, 35.56), (119.93, 35.60), (119.97, 35.66),
    (120.02, 35.72), (120.07, 35.78), (120.05, 35.84), (120.12, 35.88), (120.17, 35.92),
    (120.22, 35.95), (120.30, 35.97), (120.34, 36.02), (120.30, 36.06), (120.24, 36.08),
    (120.19, 36.12), (120.10, 36.14), (120.00, 36.13), (119.90, 36.15), (119.80, 36.10),
    (119.72, 36.04), (119.66, 35.95), (119.62, 35.85), (119.60, 35.74),
]  # fmt: skip
_COAST_EDGES = range(1, 15)


def district_outline_and_coast() -> tuple[Polygon, Geom]:
    """The fixed district outline (the hand-drawn vertices, jittered between) and its coast."""
    rng = random.Random(int(DISTRICT_CODE))
    points: list[LonLat] = []
    coast: list[LineString] = []
    n = len(_OUTLINE)
    for i in range(n):
        (x0, y0), (x1, y1) = _OUTLINE[i], _OUTLINE[(i + 1) % n]
        dx, dy = x1 - x0, y1 - y0
        length = math.hypot(dx, dy)
        edge = [(x0, y0)]
        for j in range(1, 4):
            offset = rng.uniform(-0.12, 0.12) * length / 4
            edge.append(
                (x0 + dx * j / 4 - dy / length * offset, y0 + dy * j / 4 + dx / length * offset)
            )
        points.extend(edge)
        if i in _COAST_EDGES:
            coast.append(LineString([*edge, (x1, y1)]))
    outline = shapely.set_precision(Polygon(points), PRECISION)
    return outline, shapely.set_precision(shapely.union_all(coast), PRECISION)


def geojson_of(shape: Geom) -> dict[str, Any]:
    """`shape` as a GeoJSON dict of lists (so a JSON round trip compares equal)."""
    geojson: dict[str, Any] = _listify(mapping(shape))
    return geojson


def _listify(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_listify(v) for v in value]
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    return value


def random_points_in(rng: random.Random, region: Geom) -> Iterator[LonLat]:
    """Endless uniform random points strictly inside `region`."""
    minx, miny, maxx, maxy = region.bounds
    shapely.prepare(region)
    while True:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(region, x, y):
            yield x, y


def sample_points(rng: random.Random, region: Geom, n: int) -> list[LonLat]:
    points = random_points_in(rng, region)
    return [next(points) for _ in range(n)]


def voronoi_cells(
    points: Sequence[LonLat], region: Geom, *, grid_size: float | None = None
) -> list[Geom]:
    """The Voronoi cell of each point (in order), clipped to `region` (on `grid_size`)."""
    if len(points) == 1:
        return [region]
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=region, ordered=True)
    parts = list(cells.geoms)
    if len(parts) != len(points):
        raise RuntimeError("Voronoi diagram lost a point; seed points must be distinct")
    return list(shapely.intersection(parts, region, grid_size=grid_size))


def lloyd_relax(points: list[LonLat], region: Geom, rounds: int = 2) -> list[LonLat]:
    """Lloyd relaxation: move each point to its cell's centroid, for evener cells."""
    for _ in range(rounds if len(points) > 1 else 0):
        moved = []
        for point, cell in zip(points, voronoi_cells(points, region), strict=True):
            centre = cell.centroid
            inside = not centre.is_empty and shapely.contains_xy(region, centre.x, centre.y)
            moved.append((centre.x, centre.y) if inside else point)
        points = moved
    return points


def snapped_union(geoms: Sequence[Geom]) -> Geom:
    """The union of `geoms`, on the precision grid."""
    return shapely.union_all(list(geoms), grid_size=PRECISION)


def _polygon_parts(geom: Geom) -> list[Geom]:
    """The non-empty polygons of `geom`, largest first."""
    parts = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and not g.is_empty]
    return sorted(parts, key=lambda g: g.area, reverse=True)


def _neighbour_sharing_most_edge(
    part: Geom, shapes: Sequence[Geom], tree: shapely.STRtree, owner: int
) -> int | None:
    """The index of the shape other than `owner` that shares most boundary with `part`."""
    best, best_length = None, 0.0
    for j in tree.query(part, predicate="intersects"):
        shared = part.boundary.intersection(shapes[j].boundary).length
        if int(j) != owner and shared > best_length:
            best, best_length = int(j), shared
    return best


def absorb_fragments(cells: list[Geom]) -> list[Geom]:
    """Give each stray piece of a multi-part cell to the neighbour it shares most edge with."""
    cells = list(cells)
    for i, cell in enumerate(list(cells)):
        parts = _polygon_parts(cell)
        if len(parts) < 2:
            continue
        cells[i] = parts[0]
        tree = shapely.STRtree(cells)
        for part in parts[1:]:
            best = _neighbour_sharing_most_edge(part, cells, tree, i)
            target = i if best is None else best
            cells[target] = snapped_union([cells[target], part])
    return cells


def make_contiguous(
    children: list[Geom], owner: list[int], n_owners: int
) -> tuple[list[int], list[Geom]]:
    """Reassign children so that each owner's union is one polygon; return owners and unions."""
    owner = list(owner)

    def unions() -> tuple[list[list[int]], list[Geom]]:
        groups: list[list[int]] = [[] for _ in range(n_owners)]
        for child, o in enumerate(owner):
            groups[o].append(child)
        return groups, [snapped_union([children[c] for c in group]) for group in groups]

    groups, shapes = unions()
    for _ in range(20):
        tree = shapely.STRtree(shapes)
        moved = False
        for o, shape in enumerate(shapes):
            for part in _polygon_parts(shape)[1:]:
                shapely.prepare(part)
                members = [
                    c for c in groups[o] if part.contains(children[c].representative_point())
                ]
                best = _neighbour_sharing_most_edge(part, shapes, tree, o)
                if best is not None and members:
                    for c in members:
                        owner[c] = best
                    moved = True
        if not moved:
            break
        groups, shapes = unions()
    return owner, shapes


def reading_order(geoms: Sequence[Geom]) -> list[int]:
    """Indexes of `geoms` north to south, then west to east (how codes are numbered)."""
    points = [g.representative_point() for g in geoms]
    return sorted(range(len(geoms)), key=lambda i: (-round(points[i].y, 2), points[i].x))
