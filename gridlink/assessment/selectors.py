"""Reading indicators: units and periods from user input, the sums, and who may see them.

A unit is written `area:<code>` (the area and everything in it), `office:<code>` (the area's
own office as the responsible unit), `dept:<code>` (a department) or `user:<username>`. A
period is `2026-10` (month), `2026-Q3`, `2026-W42` (ISO week), `2026` (year), `2026-10-05`
(day), or `start`/`end` dates (inclusive); at most 366 days.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from gridlink.accounts.permissions import area_roles, department_roles
from gridlink.accounts.roles import DEPARTMENT_ROLES, Role
from gridlink.assessment.indicators import BY_KEY, INDICATORS, Indicator, Value, indicator_value
from gridlink.assessment.models import AREA, METRICS, IndicatorDay
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.geo.models import Area, Department

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser

MAX_DAYS = 366
# Roles that read the indicators of any unit inside their area scope.
OVERSIGHT = frozenset({Role.SUPERVISOR, Role.EVALUATOR, Role.ADMIN, Role.DISPATCHER})
AREA_READERS = OVERSIGHT | {Role.COMMUNITY_STAFF, Role.GRID_WORKER}


@dataclass(frozen=True)
class Unit:
    key: str  # as stored in IndicatorDay.unit
    kind: str  # area | office | dept | user
    label: str
    area: Area | None = None
    department: Department | None = None


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive
    label: str


def unit_parse(raw: str) -> Unit:
    kind, _sep, ident = (raw or "").strip().partition(":")
    ident = ident.strip()
    if kind in ("area", "office"):
        area = Area.objects.filter(code=ident).first()
        if area is None:
            raise DomainError(_("No area has the code %(code)s.") % {"code": ident[:20]},
                              code="unknown_unit", field="unit")  # fmt: skip
        return Unit(f"{kind}:{area.pk}", kind, area.name_zh, area=area)
    if kind == "dept":
        dept = Department.objects.filter(code=ident).first()
        if dept is None:
            raise DomainError(_("No department has the code %(code)s.") % {"code": ident[:32]},
                              code="unknown_unit", field="unit")  # fmt: skip
        return Unit(f"dept:{dept.pk}", kind, dept.name_zh, department=dept)
    if kind == "user":
        from gridlink.accounts.models import User

        user = User.objects.filter(username=ident).first()
        if user is None:
            raise DomainError(_("No such user."), code="unknown_unit", field="unit")
        return Unit(f"user:{user.pk}", kind, user.get_full_name() or user.username)
    raise DomainError(
        _("The unit is area:<code>, office:<code>, dept:<code> or user:<username>."),
        code="invalid_unit",
        field="unit",
    )


def period_parse(*, period: str = "", start: str = "", end: str = "") -> Period:
    text = period.strip()
    try:
        if text:
            return _named_period(text)
        if not (start and end):
            raise DomainError(_("Give a period (like 2026-10) or both start and end dates."),
                              code="required", field="period")  # fmt: skip
        a, b = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    except ValueError:
        raise DomainError(_("Not a period or date this API understands."), field="period") from None
    return _checked(Period(a, b, f"{a.isoformat()}–{b.isoformat()}"))


def _named_period(text: str) -> Period:
    if m := re.fullmatch(r"(\d{4})", text):
        y = int(m.group(1))
        return _checked(Period(dt.date(y, 1, 1), dt.date(y, 12, 31), f"{y}年"))
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        y, q = int(m.group(1)), int(m.group(2))
        first = dt.date(y, 3 * q - 2, 1)
        last = (dt.date(y + (q == 4), (3 * q) % 12 + 1, 1)) - dt.timedelta(days=1)
        return _checked(Period(first, last, f"{y}年第{q}季度"))
    if m := re.fullmatch(r"(\d{4})-W(\d{2})", text):
        first = dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        return _checked(Period(first, first + dt.timedelta(days=6), text))
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        y, mo = int(m.group(1)), int(m.group(2))
        first = dt.date(y, mo, 1)
        last = dt.date(y + (mo == 12), mo % 12 + 1, 1) - dt.timedelta(days=1)
        return _checked(Period(first, last, f"{y}年{mo}月"))
    day = dt.date.fromisoformat(text)
    return _checked(Period(day, day, day.isoformat()))


def _checked(p: Period) -> Period:
    if p.end < p.start:
        raise DomainError(_("The period ends before it starts."), code="inverted", field="end")
    if (p.end - p.start).days + 1 > MAX_DAYS:
        raise DomainError(_("A period is at most %(n)s days.") % {"n": MAX_DAYS},
                          code="too_long", field="end")  # fmt: skip
    return p


def may_view(actor: AnyUser, unit: Unit) -> bool:
    """Oversight roles see every unit in their area scope; others their own unit and what
    lies inside it; anyone sees their own person figures."""
    if not actor.is_authenticated or not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    if unit.kind == "user":
        return unit.key == f"user:{actor.pk}" or any(r in OVERSIGHT for r, _p in area_roles(actor))
    if unit.department is not None:
        own = any(
            d == unit.department.pk for r, d in department_roles(actor) if r in DEPARTMENT_ROLES
        )
        return own or any(r in OVERSIGHT for r, _p in area_roles(actor))
    if unit.area is not None:
        path = unit.area.path
        return any(r in AREA_READERS and path.startswith(p) for r, p in area_roles(actor))
    return False


def unit_for(actor: AnyUser, raw: str) -> Unit:
    unit = unit_parse(raw)
    if not may_view(actor, unit):
        raise NotPermitted(_("You may not see the figures of this unit."), field="unit")
    return unit


def _rows(category: str) -> Any:
    """Category ALL (""): the per-unit day totals; else the sub-classes under a code prefix."""
    if not category:
        return IndicatorDay.objects.filter(category="")
    return IndicatorDay.objects.filter(category__startswith=category.upper()).exclude(category="")


def unit_rows(unit: Unit, *, category: str = "") -> Any:
    """The leaf rows whose sum is `unit`'s counters: for an area, the `AREA` rows of every
    grid under it (its `path` is a prefix of theirs); for any other unit, its rows in every
    grid."""
    rows = _rows(category)
    if unit.kind == "area" and unit.area is not None:
        return rows.filter(unit=AREA, grid__path__startswith=unit.area.path)
    return rows.filter(unit=unit.key)


def counter_sums(unit: Unit, period: Period, *, category: str = "") -> dict[str, int]:
    """Σ of every counter over the period, plus the stocks' running totals to its end."""
    return counter_sums_many([unit], period, category=category)[unit.key]


STOCKS = ("overdue_start", "overdue_end")
FLOWS = tuple(m for m in METRICS if m not in STOCKS)


def counter_sums_many(
    units: list[Unit], period: Period, *, category: str = ""
) -> dict[str, dict[str, int]]:
    """`counter_sums` of many units at once, whatever their number: two grouped queries for
    the responsible units and persons (by unit), two for the areas (by grid, over the grids
    under any of them; each grid's sums are then added to every asked-for area on its path)."""
    sums: dict[str, dict[str, int]] = {u.key: dict.fromkeys(METRICS, 0) for u in units}
    areas = [u for u in units if u.kind == "area" and u.area is not None]
    others = [u.key for u in units if u.kind != "area" or u.area is None]
    rows = _rows(category)
    if others:
        by_unit = rows.filter(unit__in=others)
        for row in _grouped(by_unit, "unit", period, FLOWS):
            sums[row["unit"]].update({m: int(row[m] or 0) for m in FLOWS})
        for row in _grouped(by_unit, "unit", None, STOCKS, end=period.end):
            sums[row["unit"]].update({m: int(row[m] or 0) for m in STOCKS})
    if areas:
        # The fewest path prefixes that cover every asked-for area (a district's scorecard:
        # one), so the grids are selected by a handful of LIKE 'prefix%' terms.
        paths = sorted({u.area.path for u in areas if u.area is not None})
        roots = [p for i, p in enumerate(paths) if not any(p.startswith(q) for q in paths[:i])]
        under = Q()
        for prefix in roots:
            under |= Q(grid__path__startswith=prefix)
        by_grid = rows.filter(under, unit=AREA)
        wanted = {f"area:{u.area.pk}" for u in areas if u.area is not None}
        for metrics, flows in ((FLOWS, period), (STOCKS, None)):
            for row in _grouped(by_grid, "grid__path", flows, metrics, end=period.end):
                for pk in row["grid__path"].strip("/").split("/"):
                    key = f"area:{pk}"
                    if key in wanted:
                        target = sums[key]
                        for m in metrics:
                            target[m] += int(row[m] or 0)
    return sums


def _grouped(
    rows: Any, by: str, period: Period | None, metrics: tuple[str, ...], *, end: Any = None
) -> Any:
    """Σ of `metrics` per `by`: over the period's days, or (no period) every day to `end`."""
    if period is not None:
        rows = rows.filter(day__gte=period.start, day__lte=period.end)
    else:  # the stocks: only rows where a spell opened or closed (a partial index)
        rows = rows.filter(Q(overdue_start__gt=0) | Q(overdue_end__gt=0), day__lte=end)
    return rows.values(by).annotate(**{m: Sum(m) for m in metrics}).order_by()


def indicator_values(
    unit: Unit, period: Period, *, keys: list[str] | None = None, category: str = ""
) -> list[Value]:
    unknown = [k for k in keys or [] if k not in BY_KEY]
    if unknown:
        raise DomainError(_("Unknown indicator: %(key)s.") % {"key": unknown[0][:40]},
                          code="unknown_indicator", field="indicators")  # fmt: skip
    chosen: list[Indicator] = [BY_KEY[k] for k in keys] if keys else list(INDICATORS)
    sums = counter_sums(unit, period, category=category)
    return [indicator_value(i, sums) for i in chosen]


def value_out(v: Value) -> dict[str, Any]:
    i = v.indicator
    return {
        "key": i.key,
        "name_zh": i.zh,
        "name_en": i.en,
        "kind": i.kind,
        "unit": i.unit_label,
        "value": v.value,
        "numerator": v.numerator,
        "denominator": v.denominator,
        "higher_is_better": i.higher_is_better,
    }


def indicator_cases(unit: Unit, period: Period, key: str, *, limit: int = 500) -> dict[str, Any]:
    """The cases behind an indicator's numerator and denominator (drill-down), from each
    case's stored contributions (`CaseFacts`)."""
    from gridlink.assessment.models import CaseFacts
    from gridlink.cases.models import Case

    if key not in BY_KEY:
        raise DomainError(_("Unknown indicator: %(key)s.") % {"key": key[:40]},
                          code="unknown_indicator", field="indicator")  # fmt: skip
    indicator = BY_KEY[key]
    start, end = period.start.isoformat(), period.end.isoformat()
    stock = indicator.kind == "stock"
    cases = Case.objects.all()
    if unit.area is not None:
        cases = cases.filter(grid__path__startswith=unit.area.path)
    if not stock:
        cases = cases.filter(created_at__date__lte=period.end)
    facts = CaseFacts.objects.filter(case__in=cases.values("pk")).select_related("case")
    sides: dict[str, dict[str, tuple[str, ...]]] = {
        "numerator": {"+": indicator.numerator, "-": indicator.numerator_minus},
        "denominator": {"+": indicator.denominator, "-": indicator.denominator_minus},
    }
    found: dict[str, list[dict[str, Any]]] = {"numerator": [], "denominator": []}
    for f in facts.iterator(chunk_size=1000):
        per_side = {"numerator": 0, "denominator": 0}
        for u, _c, day, metric, value in f.contributions:
            if u != unit.key or day > end or (not stock and day < start):
                continue
            for side, parts in sides.items():
                if metric in parts["+"]:
                    per_side[side] += int(value)
                if metric in parts["-"]:
                    per_side[side] -= int(value)
        for side, value in per_side.items():
            if value and len(found[side]) < limit:
                case = f.case
                found[side].append({"id": case.pk, "number": case.number,
                                    "title": case.title, "state": case.state,
                                    "value": value})  # fmt: skip
    return found
