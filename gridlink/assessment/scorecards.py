"""Scorecards: every unit of a level judged by a scheme over one period.

`scorecard_compute` lists the units — all streets, communities or grids, or the active
departments — and reads one `counter_sums` per unit (an aggregate over the rollups, never the
case table), plus one supervision count per unit when the scheme deducts for supervision
orders, and the approved bonuses in one query. The points are worked out by the pure
functions of `scoring.py`; the rules in prose are in docs/scoring.md.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from gridlink.assessment import scoring
from gridlink.assessment.indicators import BY_KEY, indicator_value
from gridlink.assessment.models import (
    Bonus,
    ItemRule,
    Scheme,
    SchemeItem,
    UnitLevel,
)
from gridlink.assessment.permissions import (
    may_view_scorecards,
)
from gridlink.assessment.selectors import Period, Unit, counter_sums, counter_sums_many
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.geo.models import Area, Department

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser

# Supervision counts a deduction may use, and the key of `order_counts_for_unit` each reads.
from gridlink.assessment.schemes import AREA_LEVELS, SUPERVISION_METRICS, scheme_get


@dataclass(frozen=True)
class ItemScore:
    indicator: str
    label: str
    value: float | None
    points: float | None  # None: no data, left out
    full: float


@dataclass(frozen=True)
class DeductionScore:
    metric: str
    count: int
    points: float


@dataclass(frozen=True)
class ScoreRow:
    unit: Unit
    code: str
    items: list[ItemScore]
    deductions: list[DeductionScore]
    deducted: float
    bonus: float
    composite: float | None
    rank: int | None = None
    grade: str = ""
    colour: str = ""
    previous: float | None = None
    change: float | None = None


@dataclass(frozen=True)
class Scorecard:
    scheme: Scheme
    period: Period
    level: str
    rows: list[ScoreRow]
    previous_period: Period | None = None
    red_list: list[str] = field(default_factory=list)
    black_list: list[str] = field(default_factory=list)


def _month_add(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_previous(period: Period) -> Period:
    """The period before: whole calendar months step back by as many months (October →
    September, Q3 → Q2, a year → the year before); any other range by its own length."""
    after_end = period.end + dt.timedelta(days=1)
    if period.start.day == 1 and after_end.day == 1:
        months = (after_end.year - period.start.year) * 12 + after_end.month - period.start.month
        start = _month_add(period.start, -months)
        end = period.start - dt.timedelta(days=1)
        if months == 1:
            label = f"{start.year}年{start.month}月"
        else:
            label = f"{start.isoformat()}–{end.isoformat()}"
        return Period(start, end, label)
    length = period.end - period.start + dt.timedelta(days=1)
    start, end = period.start - length, period.start - dt.timedelta(days=1)
    return Period(start, end, f"{start.isoformat()}–{end.isoformat()}")


def scheme_units(level: str) -> list[Unit]:
    """Every unit of a level: the areas of that level (with what lies inside them), or the
    active departments, in code order."""
    if level == UnitLevel.DEPARTMENT:
        return [
            Unit(f"dept:{d.pk}", "dept", d.name_zh, department=d)
            for d in Department.objects.filter(active=True).order_by("code")
        ]
    if level not in AREA_LEVELS:
        raise DomainError(
            _("The level is street, community, grid or department."), code="invalid", field="level"
        )
    areas = Area.objects.filter(level=AREA_LEVELS[UnitLevel(level)]).order_by("code")
    return [Unit(f"area:{a.pk}", "area", a.name_zh, area=a) for a in areas]


def unit_code(unit: Unit) -> str:
    if unit.area is not None:
        return unit.area.code
    if unit.department is not None:
        return unit.department.code
    return unit.key


def item_rules(scheme: Scheme) -> list[tuple[SchemeItem, scoring.ItemRule]]:
    out = []
    for item in scheme.items.all():
        higher = BY_KEY[item.indicator].higher_is_better
        per = float(item.points_per_pp) if item.points_per_pp is not None else None
        rule = scoring.ItemRule(
            points=float(item.points),
            target=float(item.target),
            rule="linear" if item.rule == ItemRule.LINEAR else "threshold",
            points_per_pp=per,
            higher_is_better=higher,
        )
        out.append((item, rule))
    return out


def grade_lines(scheme: Scheme) -> scoring.GradeLines:
    return scoring.GradeLines(
        float(scheme.grade_excellent), float(scheme.grade_good), float(scheme.grade_pass)
    )


def supervision_counts(unit: Unit, start: dt.date, end: dt.date) -> dict[str, int]:
    """Supervision orders held against the unit opened in [start, end] (dates inclusive)."""
    from gridlink.supervision.selectors import order_counts_for_unit

    if unit.department is not None:
        kind, ident, subtree = "department", unit.department.pk, False
    elif unit.area is not None:
        kind, ident, subtree = "area", unit.area.pk, True
    else:
        return {}
    return order_counts_for_unit(
        unit_kind=kind, unit_id=ident, start=start, end=end + dt.timedelta(days=1), subtree=subtree
    )


def supervision_counts_many(
    units: list[Unit], start: dt.date, end: dt.date
) -> dict[str, dict[str, int]]:
    """`supervision_counts` of every unit in one query (areas with their subtree)."""
    from gridlink.supervision.selectors import order_counts_for_units

    by_path = {u.area.path: u.key for u in units if u.area is not None}
    counts = order_counts_for_units(
        departments=[u.department.pk for u in units if u.department is not None],
        areas=list(by_path),
        start=start,
        end=end + dt.timedelta(days=1),
    )
    empty = {"opened": 0, "overdue": 0, "escalated": 0}
    out: dict[str, dict[str, int]] = {}
    for u in units:
        if u.department is not None:
            out[u.key] = counts.get(f"dept:{u.department.pk}", empty)
        elif u.area is not None:
            out[u.key] = counts.get(u.area.path, empty)
    return out


def bonuses_in(scheme: Scheme, start: dt.date, end: dt.date) -> dict[str, float]:
    """Approved bonuses of the scheme whose period lies inside [start, end], per unit key."""
    out: dict[str, float] = defaultdict(float)
    rows = Bonus.objects.filter(
        scheme=scheme, approved=True, period_start__gte=start, period_end__lte=end
    ).values_list("unit", "points")
    for unit, points in rows:
        out[unit] += float(points)
    return dict(out)


def unit_score(
    scheme: Scheme,
    unit: Unit,
    sums: Mapping[str, int],
    supervision: Mapping[str, int],
    bonus: float,
    rules: Sequence[tuple[SchemeItem, scoring.ItemRule]] | None = None,
) -> ScoreRow:
    """One unit's row from its counter sums and supervision counts (no database reads)."""
    items = []
    for item, rule in rules if rules is not None else item_rules(scheme):
        indicator = BY_KEY[item.indicator]
        value = indicator_value(indicator, sums).value
        items.append(
            ItemScore(
                item.indicator, indicator.zh, value, scoring.item_points(rule, value), rule.points
            )
        )
    deductions = []
    for d in scheme.deductions.all():
        key = SUPERVISION_METRICS.get(d.metric)
        count = int(supervision.get(key, 0) if key else sums.get(d.metric, 0))
        cap = float(d.max_points) if d.max_points is not None else None
        deductions.append(
            DeductionScore(d.metric, count, scoring.deduction_points(count, float(d.points), cap))
        )
    deducted = round(sum(d.points for d in deductions), 2)
    score = scoring.composite(
        [(i.points, i.full) for i in items],
        total_points=float(scheme.total_points),
        deductions=deducted,
        bonuses=bonus,
    )
    return ScoreRow(unit, unit_code(unit), items, deductions, deducted, bonus, score)


def rows_ranked(
    scheme: Scheme, rows: Sequence[ScoreRow], previous: Mapping[str, float | None] | None = None
) -> list[ScoreRow]:
    """Rank, grade and change, sorted by rank (unranked units last, by code)."""
    lines = grade_lines(scheme)
    ranks = scoring.ranks([r.composite for r in rows])
    out = []
    for row, rank in zip(rows, ranks, strict=True):
        grade, colour = scoring.grade_of(row.composite, lines)
        before = (previous or {}).get(row.unit.key)
        out.append(
            ScoreRow(
                row.unit,
                row.code,
                row.items,
                row.deductions,
                row.deducted,
                row.bonus,
                row.composite,
                rank,
                grade,
                colour,
                before,
                scoring.change(row.composite, before),
            )
        )
    return sorted(out, key=lambda r: (r.rank is None, r.rank or 0, r.code))


def _raw_rows(
    scheme: Scheme,
    units: Iterable[Unit],
    period: Period,
    sums_of: Callable[[Unit, Period], Mapping[str, int]] = counter_sums,
) -> list[ScoreRow]:
    rules = item_rules(scheme)
    wants_supervision = any(d.metric in SUPERVISION_METRICS for d in scheme.deductions.all())
    bonuses = bonuses_in(scheme, period.start, period.end)
    units = list(units)
    batch: dict[str, dict[str, int]] = {}
    if sums_of is counter_sums:  # the usual case: all units' sums in two grouped queries
        batch = counter_sums_many(units, period)
    many_sup = supervision_counts_many(units, period.start, period.end) if wants_supervision else {}
    rows = []
    for unit in units:
        sup = many_sup.get(unit.key, {}) if wants_supervision else {}
        rows.append(
            unit_score(
                scheme,
                unit,
                batch[unit.key] if batch else sums_of(unit, period),
                sup,
                bonuses.get(unit.key, 0.0),
                rules,
            )
        )
    return rows


def scorecard_compute(
    *, scheme: Scheme, period: Period, level: str = "", with_change: bool = True
) -> Scorecard:
    """The scorecard of every unit of the scheme's level (or `level`) over `period`."""
    level = level or scheme.unit_level
    units = scheme_units(level)
    rows = _raw_rows(scheme, units, period)
    before = period_previous(period) if with_change else None
    previous = (
        {r.unit.key: r.composite for r in _raw_rows(scheme, units, before)} if before else None
    )
    ranked = rows_ranked(scheme, rows, previous)
    red, black = scoring.red_and_black(
        [(r.unit.label, r.rank, r.grade) for r in ranked], red_size=scheme.red_list_size
    )
    return Scorecard(scheme, period, level, ranked, before, red, black)


def scorecard_for(actor: AnyUser, *, code: str, period: Period, level: str = "") -> Scorecard:
    if not may_view_scorecards(actor):
        raise NotPermitted(_("You may not see scorecards."))
    return scorecard_compute(scheme=scheme_get(code), period=period, level=level)
