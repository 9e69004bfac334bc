"""Server-side maps: area polygons drawn as inline SVG, with no tiles and no JavaScript.

The projection is equirectangular with the x axis scaled by cos(latitude) at the centre
of the drawing, which keeps shapes true at the scale of a district. The drawing is fitted
to a viewBox `WIDTH` units wide; its height follows the shape of the extent (clamped), so
a tall street is not squeezed into a wide box. Colours come from CSS classes only: the
strict CSP forbids `style` attributes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gridlink.geo.geometry import centroid_latlon
from gridlink.geo.models import Area, Level

WIDTH = 600.0
MIN_HEIGHT, MAX_HEIGHT = 240.0, 560.0
PADDING = 12.0
TONES = 6  # how many fill tones areas of the same level rotate through

Ring = Sequence[Sequence[float]]


@dataclass(frozen=True, slots=True)
class MapShape:
    area: Area
    d: str  # SVG path data
    css_class: str
    label_x: float
    label_y: float
    highlighted: bool = False


@dataclass(frozen=True, slots=True)
class MapMarker:
    x: float
    y: float
    lat: float
    lon: float


@dataclass(slots=True)
class SvgMap:
    width: float
    height: float
    outline: str = ""  # path data of the parent area, drawn under its children
    shapes: list[MapShape] = field(default_factory=list)
    marker: MapMarker | None = None

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width:.0f} {self.height:.0f}"

    @property
    def grid_types(self) -> list[str]:
        """The grid types drawn, in order of first appearance (for the legend)."""
        seen: list[str] = []
        for shape in self.shapes:
            kind = shape.area.grid_type
            if kind and shape.area.level >= Level.GRID and kind not in seen:
                seen.append(kind)
        return seen


def polygons_of(geometry: dict[str, Any] | None) -> list[list[Ring]]:
    """The polygons (each a list of rings: exterior first) of a GeoJSON (Multi)Polygon."""
    if not geometry:
        return []
    kind = geometry.get("type")
    coords = geometry.get("coordinates") or []
    if kind == "Polygon":
        return [coords]
    if kind == "MultiPolygon":
        return list(coords)
    return []


class Projection:
    """Maps (lon, lat) to SVG user units inside a box fitted to the given extent."""

    def __init__(self, min_lon: float, min_lat: float, max_lon: float, max_lat: float):
        self.min_lon, self.max_lat = min_lon, max_lat
        self.kx = math.cos(math.radians((min_lat + max_lat) / 2))
        span_x = max((max_lon - min_lon) * self.kx, 1e-9)
        span_y = max(max_lat - min_lat, 1e-9)
        inner_w = WIDTH - 2 * PADDING
        wanted_h = inner_w * span_y / span_x + 2 * PADDING
        self.height = min(max(wanted_h, MIN_HEIGHT), MAX_HEIGHT)
        inner_h = self.height - 2 * PADDING
        self.scale = min(inner_w / span_x, inner_h / span_y)
        # Centre the drawing in the box along the axis that has room to spare.
        self.off_x = PADDING + (inner_w - span_x * self.scale) / 2
        self.off_y = PADDING + (inner_h - span_y * self.scale) / 2

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        x = self.off_x + (lon - self.min_lon) * self.kx * self.scale
        y = self.off_y + (self.max_lat - lat) * self.scale
        return x, y

    def path(self, geometry: dict[str, Any] | None) -> str:
        parts: list[str] = []
        for polygon in polygons_of(geometry):
            for ring in polygon:
                points = [self.xy(float(p[0]), float(p[1])) for p in ring]
                if len(points) < 3:
                    continue
                head = f"M{points[0][0]:.1f},{points[0][1]:.1f}"
                tail = "".join(f"L{x:.1f},{y:.1f}" for x, y in points[1:])
                parts.append(f"{head}{tail}Z")
        return "".join(parts)


def _extent(geometries: Iterable[dict[str, Any] | None]) -> tuple[float, float, float, float]:
    lons: list[float] = []
    lats: list[float] = []
    for geometry in geometries:
        for polygon in polygons_of(geometry):
            for ring in polygon:
                for point in ring:
                    lons.append(float(point[0]))
                    lats.append(float(point[1]))
    if not lons:
        raise ValueError("no coordinates")
    return min(lons), min(lats), max(lons), max(lats)


def _label_point(geometry: dict[str, Any]) -> tuple[float, float]:
    """(lon, lat) of a point inside the polygon, where its label goes."""
    lat, lon = centroid_latlon(geometry)
    return lon, lat


def css_class_of(area: Area, index: int) -> str:
    """Grids are coloured by grid type; other levels by level and a rotating tone."""
    classes = ["map-area", f"level-{area.level}"]
    if area.level in (Level.GRID, Level.MICRO_GRID) and area.grid_type:
        # Neighbouring grids often share a type: alternate a shade to tell them apart.
        classes += [f"grid-{area.grid_type}", f"shade-{index % 2}"]
    else:
        classes.append(f"tone-{index % TONES}")
    return " ".join(classes)


def area_map(
    children: Sequence[Area],
    *,
    parent: Area | None = None,
    highlight: Area | None = None,
    point: tuple[float, float] | None = None,
) -> SvgMap | None:
    """Draw `children` (with `parent` as the backdrop); None when nothing has a polygon.

    `point` is (lat, lon) of a marker; `highlight` is a child drawn with emphasis.
    """
    drawn = [c for c in children if polygons_of(c.geometry)]
    backdrop = parent.geometry if parent is not None and polygons_of(parent.geometry) else None
    geometries = [c.geometry for c in drawn] + ([backdrop] if backdrop else [])
    if not geometries:
        return None
    projection = Projection(*_extent(geometries))
    svg = SvgMap(width=WIDTH, height=round(projection.height))
    if backdrop:
        svg.outline = projection.path(backdrop)
    for index, child in enumerate(drawn):
        lx, ly = projection.xy(*_label_point(child.geometry or {}))
        is_highlight = highlight is not None and child.pk == highlight.pk
        css = css_class_of(child, index) + (" highlighted" if is_highlight else "")
        svg.shapes.append(
            MapShape(child, projection.path(child.geometry), css, lx, ly, is_highlight)
        )
    if point is not None:
        x, y = projection.xy(point[1], point[0])
        svg.marker = MapMarker(x, y, point[0], point[1])
    return svg
