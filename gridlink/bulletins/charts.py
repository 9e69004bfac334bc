"""The bulletin's charts as lists of plain shapes, drawn once and written twice.

Each chart is laid out here, in abstract units on a canvas 600 units wide, as a `Drawing`
of rectangles, lines, polygons and labels. `render.py` writes the same drawing as inline
SVG (HTML page) and as vector paths (PDF), so the page and the printout cannot disagree.
No chart library is involved: three charts do not justify one, and nothing here reaches
the network.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from shapely.geometry import shape

from gridlink.web.maps import Projection, polygons_of

from .cells import NO_DATA
from .data import Bulletin, MapArea, RankRow, TrendSeries, strong_colour

WIDTH = 600.0
INK = "#333333"
GRID = "#dddddd"
MUTED = "#777777"
# Line colours of the trend series, in order (colour-blind safe, Okabe–Ito).
SERIES_COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00")

Point = tuple[float, float]
Anchor = Literal["start", "middle", "end"]


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str


@dataclass(frozen=True, slots=True)
class Line:
    points: tuple[Point, ...]  # an open polyline
    stroke: str
    width: float = 1.0


@dataclass(frozen=True, slots=True)
class Dot:
    x: float
    y: float
    r: float
    fill: str


@dataclass(frozen=True, slots=True)
class Shape:
    """A filled area: rings of points, holes filled by the even-odd rule."""

    rings: tuple[tuple[Point, ...], ...]
    fill: str
    stroke: str = "#ffffff"
    title: str = ""


@dataclass(frozen=True, slots=True)
class Label:
    x: float
    y: float  # baseline
    text: str
    size: float = 12.0
    anchor: Anchor = "start"
    fill: str = INK


Item = Rect | Line | Dot | Shape | Label


@dataclass(slots=True)
class Drawing:
    title: str
    height: float
    width: float = WIDTH
    items: list[Item] = field(default_factory=list)


def text_width(text: str, size: float) -> float:
    """Approximate advance width: CJK and other wide characters 1 em, the rest 0.6 em."""
    return sum(
        size if unicodedata.east_asian_width(ch) in ("W", "F") else 0.6 * size for ch in text
    )


def fit_text(text: str, size: float, width: float) -> str:
    """`text`, cut with an ellipsis so that it fits in `width` units at `size`."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def _no_data(title: str) -> Drawing:
    drawing = Drawing(title=title, height=80)
    drawing.items.append(Label(WIDTH / 2, 46, NO_DATA, 14, "middle", MUTED))
    return drawing


# --- ranking: one horizontal bar per unit, 0–100, coloured by grade --------------------------

BAR_ROW = 22.0
BAR_LEFT = 170.0  # room for the unit names
BAR_RIGHT = 50.0  # room for the score after the longest bar
BAR_TOP = 24.0


def ranking_chart(rows: Sequence[RankRow], *, title: str = "综合得分排名") -> Drawing:
    if not rows:
        return _no_data(title)
    span = WIDTH - BAR_LEFT - BAR_RIGHT
    drawing = Drawing(title=title, height=BAR_TOP + BAR_ROW * len(rows) + 8)
    bottom = BAR_TOP + BAR_ROW * len(rows)
    for tick in range(0, 101, 20):
        x = BAR_LEFT + span * tick / 100
        drawing.items.append(Line(((x, BAR_TOP - 4), (x, bottom)), GRID, 0.8))
        drawing.items.append(Label(x, BAR_TOP - 8, str(tick), 10, "middle", MUTED))
    for index, row in enumerate(rows):
        top = BAR_TOP + index * BAR_ROW
        name = fit_text(f"{row.rank}. {row.unit_name}", 12, BAR_LEFT - 12)
        drawing.items.append(Label(BAR_LEFT - 6, top + 15, name, 12, "end"))
        length = span * min(max(row.score, 0.0), 100.0) / 100
        drawing.items.append(
            Rect(BAR_LEFT, top + 4, length, BAR_ROW - 8, strong_colour(row.colour))
        )
        drawing.items.append(Label(BAR_LEFT + length + 4, top + 15, f"{row.score:.1f}", 11))
    return drawing


# --- trend: one line per series over shared category labels ---------------------------------

TREND_HEIGHT = 260.0
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 44.0, 16.0, 34.0, 36.0


def _value_range(values: Sequence[float]) -> tuple[float, float]:
    """A round axis range holding every value; 0–100 when the values are percentages/scores."""
    low, high = min(values), max(values)
    if low >= 0 and high <= 100 and high - low > 20:
        return 0.0, 100.0
    low, high = math.floor(low / 10) * 10, math.ceil(high / 10) * 10
    if high == low:
        high = low + 10
    return float(low), float(high)


def trend_chart(series: Sequence[TrendSeries], *, title: str = "趋势") -> Drawing:
    labels: list[str] = []
    for line in series:
        labels += [label for label, _ in line.points if label not in labels]
    values = [v for line in series for _, v in line.points if v is not None]
    if not labels or not values:
        return _no_data(title)
    drawing = Drawing(title=title, height=TREND_HEIGHT)
    low, high = _value_range(values)
    plot_w = WIDTH - PLOT_LEFT - PLOT_RIGHT
    plot_h = TREND_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    step = plot_w / max(len(labels) - 1, 1)

    def x_of(label: str) -> float:
        if len(labels) == 1:
            return PLOT_LEFT + plot_w / 2
        return PLOT_LEFT + labels.index(label) * step

    def y_of(value: float) -> float:
        return PLOT_TOP + plot_h * (high - value) / (high - low)

    for i in range(5):
        value = low + (high - low) * i / 4
        y = y_of(value)
        drawing.items.append(Line(((PLOT_LEFT, y), (WIDTH - PLOT_RIGHT, y)), GRID, 0.8))
        drawing.items.append(Label(PLOT_LEFT - 6, y + 4, f"{value:g}", 10, "end", MUTED))
    # Long labels alternate between two lines; with many points only every n-th is shown.
    every = max(1, math.ceil(len(labels) / 24))
    room = step * every - 2 if len(labels) > 1 else plot_w
    stagger = any(text_width(label, 10) > room for label in labels)
    for index, label in enumerate(labels[::every]):
        row = index % 2 if stagger else 0
        text = fit_text(label, 10, 2 * room if stagger else room)
        y = TREND_HEIGHT - 18 + 12 * row
        drawing.items.append(Label(x_of(label), y, text, 10, "middle", MUTED))
    legend_x = PLOT_LEFT
    for number, trend in enumerate(series):
        colour = SERIES_COLOURS[number % len(SERIES_COLOURS)]
        # A missing value breaks the line instead of being drawn as zero.
        segment: list[Point] = []
        for label, point_value in [*trend.points, ("", None)]:
            if point_value is None:
                if len(segment) > 1:
                    drawing.items.append(Line(tuple(segment), colour, 2.0))
                segment = []
                continue
            point = (x_of(label), y_of(point_value))
            segment.append(point)
            drawing.items.append(Dot(*point, 2.8, colour))
        drawing.items.append(Rect(legend_x, 12, 14, 4, colour))
        name = fit_text(trend.name, 11, 160)
        drawing.items.append(Label(legend_x + 18, 18, name, 11))
        legend_x += 18 + text_width(name, 11) + 16
    return drawing


# --- map: the units' outlines filled with their grade colour ---------------------------------

LEGEND_HEIGHT = 28.0


def _label_lonlat(area: MapArea) -> Point | None:
    try:
        point = shape(area.geometry).representative_point()
    except (ValueError, TypeError, AttributeError):  # a malformed outline gets no label
        return None
    return point.x, point.y


def district_map(
    areas: Sequence[MapArea], *, legend: Sequence[tuple[str, str]] = (), title: str = "等级分布图"
) -> Drawing:
    """`legend` is (grade, colour) pairs, drawn under the map."""
    drawn = [a for a in areas if polygons_of(a.geometry)]
    if not drawn:
        return _no_data(title)
    coords = [
        (float(p[0]), float(p[1]))
        for a in drawn
        for polygon in polygons_of(a.geometry)
        for ring in polygon
        for p in ring
    ]
    lons, lats = [c[0] for c in coords], [c[1] for c in coords]
    projection = Projection(min(lons), min(lats), max(lons), max(lats))
    drawing = Drawing(title=title, height=round(projection.height) + LEGEND_HEIGHT)
    for area in drawn:
        rings = tuple(
            tuple(projection.xy(float(p[0]), float(p[1])) for p in ring)
            for polygon in polygons_of(area.geometry)
            for ring in polygon
            if len(ring) >= 3
        )
        drawing.items.append(Shape(rings, strong_colour(area.colour), title=area.name))
    for area in drawn:
        lonlat = _label_lonlat(area)
        if lonlat is not None:
            x, y = projection.xy(*lonlat)
            name = fit_text(area.name, 10, 90)
            ink = INK if area.colour == "yellow" else "#ffffff"  # dark text on the light fill
            drawing.items.append(Label(x, y + 4, name, 10, "middle", ink))
    x, y = 12.0, drawing.height - 10
    for grade, colour in legend:
        drawing.items.append(Rect(x, y - 10, 12, 12, strong_colour(colour)))
        drawing.items.append(Label(x + 16, y, grade, 11))
        x += 16 + text_width(grade, 11) + 18
    return drawing


def grade_legend(rows: Sequence[RankRow]) -> list[tuple[str, str]]:
    """(grade, colour) pairs in order of first appearance, for the map's legend."""
    seen: dict[str, str] = {}
    for row in rows:
        seen.setdefault(row.grade, row.colour)
    return list(seen.items())


def bulletin_charts(bulletin: Bulletin) -> tuple[Drawing, Drawing, Drawing]:
    """The ranking, trend and map drawings of a bulletin, in that order."""
    return (
        ranking_chart(bulletin.rows, title=f"{bulletin.units_label}综合得分排名"),
        trend_chart(bulletin.trend, title="趋势"),
        district_map(
            bulletin.map_areas,
            legend=grade_legend(bulletin.rows),
            title=f"{bulletin.units_label}等级分布图",
        ),
    )
