"""Resolve a point (lat, lon) to the grid that contains it.

The index is an STRtree over the current grids and micro-grids, built once per process
and rebuilt when `GeoRevision` moves or the day changes (checked at most every
`GRIDLINK_LOCATOR_REFRESH_SECONDS`). A located point returns the leaf area and its
ancestors from memory: no database query on the hot path.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

import numpy as np
import shapely
from django.conf import settings
from django.utils import timezone
from shapely import STRtree

from gridlink.geo.geometry import to_shape
from gridlink.geo.models import Area, GeoRevision, Level


@dataclass(frozen=True, slots=True)
class AreaRef:
    id: int
    code: str
    name_zh: str
    name_en: str
    level: int
    parent_id: int | None


class PointOutsideGrids(LookupError):
    """The point lies in no current grid of the district."""


class GridIndex:
    """An immutable STRtree over leaf polygons plus the area records needed to answer."""

    def __init__(self, leaves: list[tuple[AreaRef, object]], areas: dict[int, AreaRef]):
        # Micro-grids first so that the most specific area wins where they nest in grids.
        leaves = sorted(leaves, key=lambda item: (-item[0].level, item[0].code))
        self.refs = [ref for ref, _ in leaves]
        geoms = [geom for _, geom in leaves]
        for geom in geoms:
            shapely.prepare(geom)
        self.tree = STRtree(geoms)
        self.geoms = geoms
        self.areas = areas

    def locate_leaf(self, lat: float, lon: float) -> AreaRef:
        hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        if len(hits) == 0:
            raise PointOutsideGrids(f"({lat}, {lon}) is outside every grid of the district")
        return self.refs[int(np.min(hits))]

    def chain(self, ref: AreaRef) -> list[AreaRef]:
        """The area and its ancestors, district first."""
        out = [ref]
        while out[-1].parent_id is not None and out[-1].parent_id in self.areas:
            out.append(self.areas[out[-1].parent_id])
        return out[::-1]

    @classmethod
    def from_database(cls) -> GridIndex:
        areas: dict[int, AreaRef] = {}
        leaves: list[tuple[AreaRef, object]] = []
        rows = Area.objects.current().values_list(
            "id", "code", "name_zh", "name_en", "level", "parent_id", "geometry"
        )
        for pk, code, name_zh, name_en, level, parent_id, geometry in rows.iterator(chunk_size=500):
            ref = AreaRef(pk, code, name_zh, name_en, level, parent_id)
            areas[pk] = ref
            if level in (Level.GRID, Level.MICRO_GRID) and geometry:
                leaves.append((ref, to_shape(geometry)))
        return cls(leaves, areas)


class Locator:
    """Process-wide holder of the current `GridIndex`, refreshed on revision change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: GridIndex | None = None
        self._revision: tuple[int, dt.date] | None = None
        self._checked_at = 0.0

    def index(self) -> GridIndex:
        now = time.monotonic()
        if (
            self._index is not None
            and now - self._checked_at < settings.GRIDLINK_LOCATOR_REFRESH_SECONDS
        ):
            return self._index
        with self._lock:
            # Areas come and go by validity date too, so the day is part of the key.
            revision = (current_revision(), timezone.localdate())
            if self._index is None or revision != self._revision:
                self._index = GridIndex.from_database()
                self._revision = revision
            self._checked_at = now
            return self._index

    def invalidate(self) -> None:
        with self._lock:
            self._index = None
            self._revision = None

    def locate(self, lat: float, lon: float) -> list[AreaRef]:
        index = self.index()
        return index.chain(index.locate_leaf(lat, lon))


def current_revision() -> int:
    row = GeoRevision.objects.filter(pk=1).values_list("revision", flat=True).first()
    return int(row or 0)


locator = Locator()
