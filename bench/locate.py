"""How fast does a point resolve to its grid? `make bench` (no database needed).

Builds the district-scale demo area plan in memory (27 streets/towns, ~1,200
communities, ~1,550 grids), builds `gridlink.geo.locator.GridIndex` straight from it, and
times `locate_leaf` + `chain` for random points: most inside grids (half spread over the
district by area, half spread over grids, so small urban grids are hit as often as big
rural ones), some outside the district. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import os
import random
import sys
import time

import django
import numpy as np
import shapely

POINTS = 100_000
OUTSIDE_SHARE = 0.1
SEED = 1


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridlink.settings")
    django.setup()
    from gridlink.demo.plan import build_plan
    from gridlink.geo.locator import AreaRef, GridIndex, PointOutsideGrids
    from gridlink.geo.models import Level

    started = time.perf_counter()
    plan = build_plan(scale="district", seed=SEED, people=False)
    plan_seconds = time.perf_counter() - started

    ids = {area.code: pk for pk, area in enumerate(plan.areas, start=1)}
    refs = {
        ids[a.code]: AreaRef(
            ids[a.code],
            a.code,
            a.name_zh,
            a.name_en,
            a.level,
            ids[a.parent_code] if a.parent_code else None,
        )
        for a in plan.areas
    }
    grids = plan.by_level(Level.GRID)
    leaves: list[tuple[AreaRef, object]] = [(refs[ids[g.code]], g.shape) for g in grids]
    started = time.perf_counter()
    index = GridIndex(leaves, refs)
    build_seconds = time.perf_counter() - started

    rng = np.random.default_rng(SEED)
    district = plan.by_level(Level.DISTRICT)[0].shape
    n_outside = int(POINTS * OUTSIDE_SHARE)
    n_by_area = (POINTS - n_outside) // 2
    n_by_grid = POINTS - n_outside - n_by_area
    expected: list[str | None] = []
    points: list[tuple[float, float]] = []

    def uniform_in(geom: object, n: int, inside: bool) -> np.ndarray:
        minx, miny, maxx, maxy = shapely.bounds(geom)
        pad = 0.0 if inside else 0.05
        out = np.empty((0, 2))
        while len(out) < n:
            xy = rng.uniform([minx - pad, miny - pad], [maxx + pad, maxy + pad], (4 * n + 16, 2))
            keep = shapely.contains_xy(geom, xy[:, 0], xy[:, 1]) == inside
            out = np.vstack([out, xy[keep]])
        return out[:n]

    for x, y in uniform_in(district, n_by_area, inside=True):
        points.append((float(y), float(x)))
        expected.append(None)  # its grid is not known in advance
    per_grid = [n_by_grid // len(grids)] * len(grids)
    for i in range(n_by_grid - sum(per_grid)):
        per_grid[i] += 1
    for grid, n in zip(grids, per_grid, strict=True):
        for x, y in uniform_in(grid.shape, n, inside=True):
            points.append((float(y), float(x)))
            expected.append(grid.code)
    for x, y in uniform_in(district, n_outside, inside=False):
        points.append((float(y), float(x)))
        expected.append("")
    order = list(range(len(points)))
    random.Random(SEED).shuffle(order)

    timings = np.empty(len(points))
    results: list[str] = [""] * len(points)
    clock = time.perf_counter_ns
    for k, i in enumerate(order):
        lat, lon = points[i]
        t0 = clock()
        try:
            chain = index.chain(index.locate_leaf(lat, lon))
        except PointOutsideGrids:
            chain = []
        timings[k] = clock() - t0
        results[i] = chain[-1].code if chain else ""

    wrong = sum(
        1 for want, got in zip(expected, results, strict=True) if want is not None and want != got
    )
    micro = timings / 1000.0
    inside = np.array([expected[i] != "" for i in order])
    print(
        f"district plan: {len(plan.areas):,} areas, {len(grids):,} grids "
        f"(planned in {plan_seconds:.2f} s)"
    )
    print(f"index build:   {build_seconds * 1000:.1f} ms")
    print(
        f"points:        {len(points):,} ({int(inside.sum()):,} inside grids, "
        f"{int((~inside).sum()):,} outside the district)"
    )
    for label, sample in (("all", micro), ("inside", micro[inside]), ("outside", micro[~inside])):
        print(
            f"locate_leaf+chain {label:<8} mean {sample.mean():6.2f} µs   "
            f"p50 {np.percentile(sample, 50):6.2f} µs   p99 {np.percentile(sample, 99):6.2f} µs"
        )
    print(f"throughput:    {len(points) / (timings.sum() / 1e9):,.0f} locates/s (one core)")
    print(f"wrong answers on points with a known grid: {wrong}")
    geos = ".".join(map(str, shapely.geos_version))
    print(f"python {sys.version.split()[0]}, shapely {shapely.__version__}, GEOS {geos}")


if __name__ == "__main__":
    main()
