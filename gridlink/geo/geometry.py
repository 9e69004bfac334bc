"""GeoJSON polygons ↔ shapely geometries, with the checks a user needs to hear about."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

ALLOWED_TYPES = ("Polygon", "MultiPolygon")


def to_shape(geojson: dict[str, Any]) -> BaseGeometry:
    return shape(geojson)


def geometry_error(geojson: Any) -> str | None:
    """Return why `geojson` is not a usable WGS84 area polygon, or None if it is."""
    if not isinstance(geojson, dict):
        return "must be a GeoJSON object"
    if geojson.get("type") == "Feature":
        return "give the geometry, not a Feature"
    if geojson.get("type") not in ALLOWED_TYPES:
        return f"type must be Polygon or MultiPolygon, got {geojson.get('type')!r}"
    try:
        geom = shape(geojson)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        return f"coordinates are malformed ({exc})"
    if geom.is_empty:
        return "polygon is empty"
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        return "coordinates must be WGS84 longitude, latitude"
    if not geom.is_valid:
        return f"polygon is invalid: {shapely.is_valid_reason(geom)}"
    return None


def centroid_latlon(geojson: dict[str, Any]) -> tuple[float, float]:
    point = to_shape(geojson).representative_point()
    return point.y, point.x
