"""Scoring: pure functions from indicator values and counts to points, composite and grade.

Nothing here reads the database; `schemes.py` gathers the figures and calls these. Every rule
is written out in prose, with worked examples, in docs/scoring.md — keep the two in step.

- An item earns points from one indicator value (`item_points`):
  *threshold*: full points when the value reaches the target (≥, or ≤ for an indicator where
  lower is better); otherwise `points_per_pp` is lost per point short (percentage points for
  a rate, hours for a mean, cases for a count), never below 0; with no `points_per_pp` an item
  short of its target earns 0.
  *linear*: points × value / target, at most the full points (lower-is-better: points ×
  target / value). A target of 0 is always met.
  No value (nothing to judge, e.g. no rated cases): the item is left out (None).
- Deductions: points per occurrence × occurrences, at most `max_points` when set.
- The composite (`composite`): the points earned by the items with data, rescaled to the
  scheme's total when some items have no data, minus deductions plus bonuses, expressed out
  of 100 and clamped to 0–100, rounded to 2 decimals. No item with data: no composite.
- Ranks: by composite, highest first; equal composites share a rank (1, 2, 2, 4); units
  without a composite are not ranked.
- Grade and colour from the scheme's lines (defaults 90 / 80 / 60).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Rule = Literal["threshold", "linear"]

NO_DATA = ("无数据", "grey")


@dataclass(frozen=True)
class ItemRule:
    points: float
    target: float
    rule: Rule
    points_per_pp: float | None = None
    higher_is_better: bool = True


@dataclass(frozen=True)
class GradeLines:
    excellent: float = 90.0
    good: float = 80.0
    passing: float = 60.0


def _r(x: float) -> float:
    return round(x + 0.0, 2)


def item_points(rule: ItemRule, value: float | None) -> float | None:
    """The points one item earns for `value`; None when there is no value to judge."""
    if value is None:
        return None
    if rule.rule == "linear":
        if rule.target <= 0:
            return _r(rule.points)
        if rule.higher_is_better:
            share = value / rule.target
        else:
            share = 1.0 if value <= rule.target else rule.target / value
        return _r(rule.points * min(1.0, max(0.0, share)))
    short = rule.target - value if rule.higher_is_better else value - rule.target
    if short <= 0:
        return _r(rule.points)
    if rule.points_per_pp is None:
        return 0.0
    return _r(max(0.0, rule.points - rule.points_per_pp * short))


def deduction_points(count: int, per: float, max_points: float | None = None) -> float:
    """Points taken off for `count` occurrences at `per` each (at most `max_points`)."""
    total = max(0, count) * per
    if max_points is not None:
        total = min(total, max_points)
    return _r(total)


def composite(
    items: Sequence[tuple[float | None, float]],
    *,
    total_points: float,
    deductions: float = 0.0,
    bonuses: float = 0.0,
) -> float | None:
    """The 0–100 composite from `(earned or None, full points)` per item."""
    judged = [(earned, full) for earned, full in items if earned is not None]
    full_judged = sum(full for _e, full in judged)
    if not judged or full_judged <= 0 or total_points <= 0:
        return None
    earned = sum(e for e, _f in judged if e is not None)
    base = earned * total_points / full_judged
    score = (base - deductions + bonuses) * 100 / total_points
    return _r(min(100.0, max(0.0, score)))


def grade_of(score: float | None, lines: GradeLines = GradeLines()) -> tuple[str, str]:
    """(grade, colour) for a composite: 优秀 green, 良好 blue, 合格 yellow, 不合格 red."""
    if score is None:
        return NO_DATA
    if score >= lines.excellent:
        return ("优秀", "green")
    if score >= lines.good:
        return ("良好", "blue")
    if score >= lines.passing:
        return ("合格", "yellow")
    return ("不合格", "red")


def ranks(scores: Sequence[float | None]) -> list[int | None]:
    """Competition ranks (1, 2, 2, 4) by score, highest first; None stays unranked."""
    out: list[int | None] = []
    for s in scores:
        out.append(None if s is None else 1 + sum(1 for o in scores if o is not None and o > s))
    return out


def change(current: float | None, previous: float | None) -> float | None:
    """Month-over-month change (环比) in points; None when either side has no score."""
    if current is None or previous is None:
        return None
    return _r(current - previous)


def red_and_black(
    rows: Sequence[tuple[str, int | None, str]], *, red_size: int = 3
) -> tuple[list[str], list[str]]:
    """Red list (红榜): the top `red_size` ranks and every 优秀, never a 不合格; black list
    (黑榜): every 不合格. `rows` are (name, rank, grade), in ranking order."""
    red = [
        name
        for name, rank, grade in rows
        if rank is not None and grade != "不合格" and (rank <= red_size or grade == "优秀")
    ]
    black = [name for name, rank, grade in rows if rank is not None and grade == "不合格"]
    return red, black
