"""The indicators (SPEC §4): each one's definition lives here, once, as data.

An indicator combines counters summed over a unit and a period (`IndicatorDay`):
`value = scale × (Σ numerator − Σ numerator_minus) / (Σ denominator − Σ denominator_minus)`;
a `count` has no denominator; a `stock` is the level at the end of the period (overdue
spells started minus ended, from the beginning of time). What each counter counts is in
`facts.py`; the formulas in prose are in docs/indicators.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Kind = Literal["rate", "mean", "count", "stock"]


@dataclass(frozen=True)
class Indicator:
    key: str
    zh: str
    en: str
    kind: Kind
    numerator: tuple[str, ...]
    denominator: tuple[str, ...] = ()
    numerator_minus: tuple[str, ...] = ()
    denominator_minus: tuple[str, ...] = ()
    scale: float = 100.0  # rates in percent; means in hours (minutes / 60)
    unit_label: str = "%"
    higher_is_better: bool = True


INDICATORS: tuple[Indicator, ...] = (
    Indicator("filing_rate", "立案率", "Filing rate", "rate", ("filed",), ("reported",),
              denominator_minus=("invalid", "merged")),
    Indicator("on_time_filing_rate", "按时立案率", "On-time filing rate", "rate",
              ("filed_on_time",), ("filed",)),
    Indicator("dispatch_accuracy", "派遣准确率", "Dispatch accuracy", "rate", ("dispatched",),
              ("dispatched",), numerator_minus=("returned",)),
    Indicator("handling_rate", "处置率", "Handling rate", "rate", ("handled_of_due",),
              ("handle_due",)),
    Indicator("on_time_handling_rate", "按期处置率", "On-time handling rate", "rate",
              ("handled_on_time",), ("handle_due",)),
    Indicator("closing_rate", "结案率", "Closing rate", "rate", ("closed_of_due",),
              ("close_due",), denominator_minus=("close_suspended",)),
    Indicator("on_time_closing_rate", "按期结案率", "On-time closing rate", "rate",
              ("closed_on_time",), ("close_due",), denominator_minus=("close_suspended",)),
    Indicator("rework_rate", "返工率", "Rework rate", "rate", ("reworked_cases",),
              ("handled_cases",), higher_is_better=False),
    Indicator("extension_rate", "延期率", "Extension rate", "rate", ("extended",), ("filed",),
              higher_is_better=False),
    Indicator("overdue_count", "超期数", "Overdue at period end", "stock", ("overdue_start",),
              numerator_minus=("overdue_end",), scale=1, unit_label="件",
              higher_is_better=False),
    Indicator("mean_accept_hours", "平均受理时长", "Mean working hours to accept", "mean",
              ("accept_minutes",), ("accepted",), scale=1 / 60, unit_label="h",
              higher_is_better=False),
    Indicator("mean_handle_hours", "平均处置时长", "Mean working hours to handle", "mean",
              ("handle_minutes",), ("handle_timed",), scale=1 / 60, unit_label="h",
              higher_is_better=False),
    Indicator("response_rate", "响应率", "Response rate", "rate", ("responded",),
              ("dispatched",)),
    Indicator("resolution_rate", "解决率", "Resolution rate", "rate", ("solved",), ("rated",)),
    Indicator("satisfaction_rate", "满意率", "Satisfaction rate", "rate", ("satisfied",),
              ("rated",)),
    Indicator("closed_in_grid_rate", "不出网格率", "Closed within the grid", "rate",
              ("closed_grid",), ("closed",)),
    Indicator("closed_in_community_rate", "不出社区率", "Closed within the community", "rate",
              ("closed_grid", "closed_community"), ("closed",)),
    Indicator("closed_in_street_rate", "不出街道率", "Closed within the street", "rate",
              ("closed_grid", "closed_community", "closed_street"), ("closed",)),
    Indicator("whistle_rate", "吹哨率", "Whistle rate", "rate", ("whistled",), ("street_cases",)),
    Indicator("reports", "上报数", "Reports", "count", ("reported",), scale=1, unit_label="件"),
    Indicator("rework_count", "返工次数", "Send-backs for rework", "count", ("rework",),
              scale=1, unit_label="次", higher_is_better=False),
    Indicator("redo_count", "重办数", "Cases redone", "count", ("redone",), scale=1,
              unit_label="件", higher_is_better=False),
    Indicator("failed_verification_3_count", "三次核查不通过数", "Failed verification 3 times",
              "count", ("failed_verification_3",), scale=1, unit_label="件",
              higher_is_better=False),
)  # fmt: skip

BY_KEY = {i.key: i for i in INDICATORS}


@dataclass(frozen=True)
class Value:
    indicator: Indicator
    numerator: int
    denominator: int | None
    value: float | None  # None: no denominator (nothing to judge)


def _sum(sums: Mapping[str, int], names: tuple[str, ...]) -> int:
    return sum(int(sums.get(n) or 0) for n in names)


def indicator_value(indicator: Indicator, sums: Mapping[str, int]) -> Value:
    """The indicator from counter sums (a stock's sums run from the beginning)."""
    num = _sum(sums, indicator.numerator) - _sum(sums, indicator.numerator_minus)
    if indicator.kind in ("count", "stock"):
        return Value(indicator, num, None, float(num))
    den = _sum(sums, indicator.denominator) - _sum(sums, indicator.denominator_minus)
    if den <= 0:
        return Value(indicator, num, den, None)
    return Value(indicator, num, den, round(indicator.scale * num / den, 2))
