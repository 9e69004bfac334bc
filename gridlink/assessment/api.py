"""The assessment API: indicator values for a unit and period, and their drill-down; schemes,
scorecards (rankings) and exemptions (docs/scoring.md)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status

from gridlink.accounts.models import User
from gridlink.assessment.adjustments import exemption_request, exemption_review
from gridlink.assessment.indicators import INDICATORS
from gridlink.assessment.models import Exemption, Scheme
from gridlink.assessment.permissions import may_view_scorecards
from gridlink.assessment.schemes import (
    DeductionSpec,
    GradeSpec,
    ItemSpec,
    scheme_create,
    scheme_get,
    scheme_publish,
)
from gridlink.assessment.scorecards import ScoreRow, scorecard_for
from gridlink.assessment.selectors import (
    indicator_cases,
    indicator_values,
    period_parse,
    unit_for,
    value_out,
)
from gridlink.core.errors import DomainError, NotPermitted

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


# --- schemes ------------------------------------------------------------------------------


class ItemIn(Schema):
    indicator: str
    points: float
    target: float
    rule: str = "threshold"
    points_per_pp: float | None = None


class DeductionIn(Schema):
    metric: str
    points: float
    max_points: float | None = None


class GradesIn(Schema):
    excellent: float = 90
    good: float = 80
    passing: float = 60


class SchemeIn(Schema):
    code: str
    name_zh: str
    name_en: str = ""
    unit_level: str
    description: str = ""
    total_points: float = 100
    items: list[ItemIn]
    deductions: list[DeductionIn] = []
    grades: GradesIn | None = None
    red_list_size: int = 3
    publish: bool = False


def _num(x: object) -> float | None:
    return None if x is None else float(x)  # type: ignore[arg-type]  # Decimal or float


def scheme_out(scheme: Scheme) -> dict[str, Any]:
    return {
        "code": scheme.code,
        "name_zh": scheme.name_zh,
        "name_en": scheme.name_en,
        "unit_level": scheme.unit_level,
        "description": scheme.description,
        "total_points": float(scheme.total_points),
        "grades": {
            "excellent": float(scheme.grade_excellent),
            "good": float(scheme.grade_good),
            "passing": float(scheme.grade_pass),
        },
        "red_list_size": scheme.red_list_size,
        "published_at": scheme.published_at,
        "items": [
            {
                "indicator": i.indicator,
                "points": float(i.points),
                "target": float(i.target),
                "rule": i.rule,
                "points_per_pp": _num(i.points_per_pp),
            }
            for i in scheme.items.all()
        ],
        "deductions": [
            {"metric": d.metric, "points": float(d.points), "max_points": _num(d.max_points)}
            for d in scheme.deductions.all()
        ],
    }


def _viewer(request: HttpRequest) -> None:
    if not may_view_scorecards(request.user):
        raise NotPermitted(_("You may not see assessment schemes and scorecards."))


@router.get("/schemes")
def schemes(request: HttpRequest) -> list[dict[str, Any]]:
    """Every assessment scheme with its items and deductions."""
    _viewer(request)
    return [scheme_out(s) for s in Scheme.objects.prefetch_related("items", "deductions")]


@router.get("/schemes/{code}")
def scheme_detail(request: HttpRequest, code: str) -> dict[str, Any]:
    _viewer(request)
    return scheme_out(scheme_get(code))


@router.post("/schemes", response={201: dict[str, Any]})
def scheme_new(request: HttpRequest, body: SchemeIn) -> Status[dict[str, Any]]:
    """Create a scheme; 400 names every field at fault (`items`, `items[1].target`, …)."""
    g = body.grades
    scheme = scheme_create(
        actor=request.user,
        code=body.code,
        name_zh=body.name_zh,
        name_en=body.name_en,
        unit_level=body.unit_level,
        description=body.description,
        total_points=body.total_points,
        items=[
            ItemSpec(i.indicator, i.points, i.target, i.rule, i.points_per_pp) for i in body.items
        ],
        deductions=[DeductionSpec(d.metric, d.points, d.max_points) for d in body.deductions],
        grades=GradeSpec(g.excellent, g.good, g.passing) if g else None,
        red_list_size=body.red_list_size,
        publish=body.publish,
    )
    return Status(201, scheme_out(scheme_get(scheme.code)))


@router.post("/schemes/{code}/publish")
def scheme_publish_view(request: HttpRequest, code: str) -> dict[str, Any]:
    scheme_publish(actor=request.user, code=code)
    return scheme_out(scheme_get(code))


# --- scorecards ---------------------------------------------------------------------------


class ScorecardQuery(Schema):
    scheme: str
    period: str = ""
    start: str = ""
    end: str = ""
    level: str = ""


def row_out(r: ScoreRow) -> dict[str, Any]:
    return {
        "rank": r.rank,
        "unit": {"key": r.unit.key, "code": r.code, "name": r.unit.label},
        "composite": r.composite,
        "grade": r.grade,
        "colour": r.colour,
        "previous": r.previous,
        "change": r.change,
        "items": [
            {
                "indicator": i.indicator,
                "name_zh": i.label,
                "value": i.value,
                "points": i.points,
                "full": i.full,
                "no_data": i.points is None,
            }
            for i in r.items
        ],
        "deductions": [
            {"metric": d.metric, "count": d.count, "points": d.points} for d in r.deductions
        ],
        "deducted": r.deducted,
        "bonus": r.bonus,
    }


@router.get("/scorecards")
def scorecards(request: HttpRequest, q: Query[ScorecardQuery]) -> dict[str, Any]:
    """The ranking of every unit of the scheme's level (or `level`) over one period."""
    _viewer(request)
    period = period_parse(period=q.period, start=q.start, end=q.end)
    card = scorecard_for(request.user, code=q.scheme, period=period, level=q.level)
    before = card.previous_period
    return {
        "scheme": card.scheme.code,
        "level": card.level,
        "period": {"start": period.start, "end": period.end, "label": period.label},
        "previous_period": {"start": before.start, "end": before.end, "label": before.label}
        if before
        else None,
        "rows": [row_out(r) for r in card.rows],
        "red_list": card.red_list,
        "black_list": card.black_list,
    }


class BulletinQuery(Schema):
    scheme: str
    period: str
    level: str = ""
    format: str = "html"


BULLETIN_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get("/bulletins")
def bulletin(request: HttpRequest, q: Query[BulletinQuery]) -> HttpResponse:
    """The scheme's bulletin (通报) for a period as an HTML page, a PDF or an XLSX workbook
    (the same as `gridlink bulletin`)."""
    import tempfile
    from pathlib import Path

    from gridlink.assessment.bulletin import bulletin_build
    from gridlink.assessment.models import UnitLevel
    from gridlink.assessment.schemes import scheme_get
    from gridlink.bulletins.pdf import bulletin_pdf
    from gridlink.bulletins.render import bulletin_html
    from gridlink.bulletins.xlsx import bulletin_xlsx

    _viewer(request)
    if q.format not in BULLETIN_TYPES:
        raise DomainError(_("The format is html, pdf or xlsx."), field="format")
    if q.level and q.level not in UnitLevel.values:
        raise DomainError(_("The level is street, community, grid or department."), field="level")
    period = period_parse(period=q.period)
    built = bulletin_build(scheme=scheme_get(q.scheme), period=period, level=q.level)
    if q.format == "html":
        return HttpResponse(bulletin_html(built), content_type=BULLETIN_TYPES["html"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"bulletin.{q.format}"
        (bulletin_pdf if q.format == "pdf" else bulletin_xlsx)(built, path)
        response = HttpResponse(path.read_bytes(), content_type=BULLETIN_TYPES[q.format])
    name = f"{q.period}-{q.scheme}.{q.format}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- exemptions ---------------------------------------------------------------------------


class ExemptionIn(Schema):
    case_id: int
    reason: str


class ReviewIn(Schema):
    approve: bool
    note: str = ""


def _user(request: HttpRequest) -> User:
    if not isinstance(request.user, User):
        raise NotPermitted(_("Sign in first."))
    return request.user


def exemption_out(e: Exemption) -> dict[str, Any]:
    return {
        "id": e.pk,
        "case_id": e.case_id,
        "reason": e.reason,
        "requested_by": e.requested_by_id,
        "requested_at": e.requested_at,
        "reviewed_by": e.reviewed_by_id,
        "reviewed_at": e.reviewed_at,
        "approved": e.approved,
        "review_note": e.review_note,
    }


@router.post("/exemptions", response={201: dict[str, Any]})
def exemption_new(request: HttpRequest, body: ExemptionIn) -> Status[dict[str, Any]]:
    """Ask for a case to be exempted from assessment; a different supervisor reviews it."""
    e = exemption_request(actor=_user(request), case_id=body.case_id, reason=body.reason)
    return Status(201, exemption_out(e))


@router.post("/exemptions/{exemption_id}/review")
def exemption_decide(request: HttpRequest, exemption_id: int, body: ReviewIn) -> dict[str, Any]:
    e = exemption_review(
        actor=_user(request),
        exemption_id=exemption_id,
        approve=body.approve,
        note=body.note,
    )
    return exemption_out(e)
