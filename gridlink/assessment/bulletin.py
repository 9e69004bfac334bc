"""A monthly bulletin (通报) from a scheme's scorecard: the data `gridlink.bulletins` renders.

`bulletin_build(scheme=, period=)` computes the scorecard (with month-over-month change), a
twelve-month trend of the units' mean composite, the units' outlines coloured by grade (none
for departments), the red and black lists and notes saying how the score is made, how many
cases were exempted and how fresh the figures are. The trend reads the rollups once per unit
(grouped by month), not twelve scorecards' worth of queries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db.models import Max, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from gridlink.assessment.models import METRICS, CaseFacts, Exemption, Scheme
from gridlink.assessment.schemes import SUPERVISION_METRICS
from gridlink.assessment.scorecards import (
    Scorecard,
    _month_add,
    bonuses_in,
    item_rules,
    scheme_units,
    scorecard_compute,
    supervision_counts,
    unit_score,
)
from gridlink.assessment.selectors import Period, Unit, unit_rows
from gridlink.bulletins.data import Bulletin, MapArea, RankRow, TrendSeries

UNITS_LABEL = {"street": "街道", "community": "社区", "grid": "网格", "department": "部门"}
TREND_MONTHS = 12


def _monthly_sums(unit: Unit, months: list[dt.date]) -> dict[dt.date, dict[str, int]]:
    """Counter sums of each month (stocks as running totals to the month's end)."""
    first, after = months[0], _month_add(months[-1], 1)
    rows = (
        unit_rows(unit)
        .filter(day__gte=first, day__lt=after)
        .annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(**{m: Sum(m) for m in METRICS})
        .order_by()
    )
    by_month: dict[dt.date, dict[str, int]] = defaultdict(dict)
    for values in rows:
        row: dict[str, Any] = dict(values)
        month = row["month"]
        month = month.date() if isinstance(month, dt.datetime) else month
        by_month[month] = {m: int(row[m] or 0) for m in METRICS}
    before = (
        unit_rows(unit)
        .filter(day__lt=first)
        .aggregate(overdue_start=Sum("overdue_start"), overdue_end=Sum("overdue_end"))
    )
    running = {k: int(v or 0) for k, v in before.items()}
    out = {}
    for month in months:
        sums = {m: by_month.get(month, {}).get(m, 0) for m in METRICS}
        for stock in ("overdue_start", "overdue_end"):
            running[stock] += sums[stock]
            sums[stock] = running[stock]
        out[month] = sums
    return out


def trend_of(scheme: Scheme, level: str, last_month: dt.date) -> TrendSeries:
    """The mean composite of the units with a score, for each of the last twelve months."""
    months = [_month_add(last_month, -i) for i in range(TREND_MONTHS - 1, -1, -1)]
    rules = item_rules(scheme)
    supervised = any(d.metric in SUPERVISION_METRICS for d in scheme.deductions.all())
    scores: dict[dt.date, list[float]] = defaultdict(list)
    bonuses = {m: bonuses_in(scheme, m, _month_add(m, 1) - dt.timedelta(days=1)) for m in months}
    for unit in scheme_units(level):
        monthly = _monthly_sums(unit, months)
        for month in months:
            end = _month_add(month, 1) - dt.timedelta(days=1)
            sup = supervision_counts(unit, month, end) if supervised else {}
            row = unit_score(
                scheme, unit, monthly[month], sup, bonuses[month].get(unit.key, 0.0), rules
            )
            if row.composite is not None:
                scores[month].append(row.composite)
    points: list[tuple[str, float | None]] = [
        (
            f"{m.year}-{m.month:02d}",
            round(sum(scores[m]) / len(scores[m]), 2) if scores[m] else None,
        )
        for m in months
    ]
    return TrendSeries(f"{UNITS_LABEL.get(level, '')}平均综合得分", points)


def _notes(card: Scorecard) -> list[str]:
    scheme, period = card.scheme, card.period
    notes = []
    if scheme.description:
        notes.append(f"考核办法：{scheme.description}")
    notes.append(
        "综合得分 = 各指标得分（无数据的指标不计，按有数据指标的满分折算）− 扣分 + 加分，"
        "折算为百分制，保留两位小数；"
        f"{float(scheme.grade_excellent):g}分以上为优秀，{float(scheme.grade_good):g}分以上为良好，"
        f"{float(scheme.grade_pass):g}分以上为合格，其余为不合格。"
    )
    if card.previous_period is not None:
        notes.append(f"环比：与{card.previous_period.label}相比的得分变化。")
    unscored = [r.unit.label for r in card.rows if r.composite is None]
    if unscored:
        notes.append(f"本期无考核数据、未参与排名：{'、'.join(unscored)}。")
    end_of_period = timezone.make_aware(dt.datetime.combine(period.end, dt.time.max))
    exempted = Exemption.objects.filter(approved=True, reviewed_at__lte=end_of_period).count()
    notes.append(f"截至期末经审核免责的案件 {exempted} 件，已从全部指标中剔除。")
    fresh = CaseFacts.objects.aggregate(at=Max("computed_at"))["at"]
    if fresh is not None:
        local = timezone.localtime(fresh)
        notes.append(f"数据截至 {local:%Y-%m-%d %H:%M}（案卷指标汇总最近一次更新）。")
    return notes


def _values(row_items: Mapping[str, float | None], deducted: float) -> dict[str, float | None]:
    return {**row_items, "deducted": deducted}


def bulletin_build(
    *, scheme: Scheme, period: Period, level: str = "", now: dt.datetime | None = None
) -> Bulletin:
    """The bulletin of `scheme` for `period`, judging the units of `level` (default: the
    scheme's own level)."""
    card = scorecard_compute(scheme=scheme, period=period, level=level)
    level = card.level
    labels = {i.indicator: i.label for i in card.rows[0].items} if card.rows else {}
    if not labels:
        labels = {it.indicator: it.indicator for it, _r in item_rules(scheme)}
    labels["deducted"] = "扣分"
    rows = [
        RankRow(
            rank=r.rank,
            unit_code=r.code,
            unit_name=r.unit.label,
            score=r.composite,
            grade=r.grade,
            colour=r.colour,
            change=r.change,
            indicators=_values({i.indicator: i.value for i in r.items}, r.deducted),
        )
        for r in card.rows
        if r.rank is not None and r.composite is not None
    ]
    map_areas = [
        MapArea(code=r.code, name=r.unit.label, geometry=r.unit.area.geometry, colour=r.colour)
        for r in card.rows
        if r.unit.area is not None and r.unit.area.geometry
    ]
    last_month = dt.date(period.end.year, period.end.month, 1)
    return Bulletin(
        title=f"{scheme.name_zh}{period.label}通报",
        period_label=period.label,
        scheme_name=scheme.name_zh,
        generated_at=now or timezone.now(),
        units_label=UNITS_LABEL.get(level, level),
        rows=rows,
        indicator_labels=labels,
        trend=[trend_of(scheme, level, last_month)],
        map_areas=map_areas,
        red_list=card.red_list,
        black_list=card.black_list,
        notes=_notes(card),
    )
