"""The plain data a bulletin (通报) is rendered from.

The renderer knows nothing about cases, indicators or schemes: whoever computes the
figures builds a `Bulletin` and hands it to `gridlink.bulletins.render`. Everything here is
immutable, so one `Bulletin` can be written to all three formats without surprises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Grade colours as the scheme names them, with a strong tone (bars, map fills) and a light
# tint (table cells). Unknown colour names fall back to grey rather than failing.
PALETTE: dict[str, tuple[str, str]] = {
    "green": ("#2e7d32", "#c8e6c9"),
    "blue": ("#1565c0", "#bbdefb"),
    "yellow": ("#f9a825", "#fff59d"),
    "red": ("#c62828", "#ffcdd2"),
}
FALLBACK_COLOUR = ("#757575", "#eeeeee")


def strong_colour(colour: str) -> str:
    """The hex colour for bars and map fills of a grade colour name ("green", …)."""
    return PALETTE.get(colour, FALLBACK_COLOUR)[0]


def light_colour(colour: str) -> str:
    """The hex tint for table cells of a grade colour name."""
    return PALETTE.get(colour, FALLBACK_COLOUR)[1]


@dataclass(frozen=True, slots=True)
class RankRow:
    """One ranked unit: its composite score (0–100), grade (等级) and indicator values."""

    rank: int
    unit_code: str
    unit_name: str
    score: float
    grade: str  # 优秀 / 良好 / 合格 / 不合格
    colour: str  # green / blue / yellow / red
    change: float | None = None  # score change against the previous period (环比)
    indicators: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TrendSeries:
    """A named line of (label, value) points, e.g. twelve months of the district composite."""

    name: str
    points: list[tuple[str, float | None]]


@dataclass(frozen=True, slots=True)
class MapArea:
    """A unit's outline (GeoJSON Polygon or MultiPolygon, WGS84) and its grade colour."""

    code: str
    name: str
    geometry: dict[str, Any]
    colour: str


@dataclass(frozen=True, slots=True)
class Bulletin:
    """A monthly bulletin (通报) of one assessment scheme."""

    title: str
    period_label: str  # e.g. "2026年10月"
    scheme_name: str
    generated_at: datetime
    units_label: str  # what the rows are: 街道 / 社区 / 网格 / 部门 …
    rows: list[RankRow]
    indicator_labels: dict[str, str]  # indicator key → Chinese label, in column order
    trend: list[TrendSeries] = field(default_factory=list)
    map_areas: list[MapArea] = field(default_factory=list)
    red_list: list[str] = field(default_factory=list)  # 红榜
    black_list: list[str] = field(default_factory=list)  # 黑榜
    notes: list[str] = field(default_factory=list)
