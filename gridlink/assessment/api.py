"""The assessment API: indicator values for a unit and period, and their drill-down."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from gridlink.assessment.indicators import INDICATORS
from gridlink.assessment.selectors import (
    indicator_cases,
    indicator_values,
    period_parse,
    unit_for,
    value_out,
)

router = Router(tags=["assessment"])


class IndicatorQuery(Schema):
    unit: str
    period: str = ""
    start: str = ""
    end: str = ""
    category: str = ""
    indicators: list[str] = []


@router.get("/indicators/definitions")
def definitions(request: HttpRequest) -> list[dict[str, Any]]:
    """Every indicator: key, names, kind, formula counters (docs/indicators.md)."""
    return [
        {
            "key": i.key,
            "name_zh": i.zh,
            "name_en": i.en,
            "kind": i.kind,
            "numerator": list(i.numerator),
            "numerator_minus": list(i.numerator_minus),
            "denominator": list(i.denominator),
            "denominator_minus": list(i.denominator_minus),
            "unit": i.unit_label,
            "higher_is_better": i.higher_is_better,
        }
        for i in INDICATORS
    ]


@router.get("/indicators")
def indicators(request: HttpRequest, q: Query[IndicatorQuery]) -> dict[str, Any]:
    """Indicator values of one unit over one period (every indicator, or those asked for)."""
    unit = unit_for(request.user, q.unit)
    period = period_parse(period=q.period, start=q.start, end=q.end)
    values = indicator_values(unit, period, keys=q.indicators or None, category=q.category)
    return {
        "unit": {"key": q.unit, "name": unit.label},
        "period": {"start": period.start, "end": period.end, "label": period.label},
        "indicators": [value_out(v) for v in values],
    }


@router.get("/indicators/{key}/cases")
def drill_down(request: HttpRequest, key: str, q: Query[IndicatorQuery]) -> dict[str, Any]:
    """The cases behind an indicator's numerator and denominator."""
    unit = unit_for(request.user, q.unit)
    period = period_parse(period=q.period, start=q.start, end=q.end)
    return indicator_cases(unit, period, key)
