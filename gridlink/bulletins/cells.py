"""How a bulletin's values read in a table cell: one set of rules for HTML, PDF and XLSX."""

from __future__ import annotations

from django.utils import timezone

from .data import Bulletin, RankRow

NO_DATA = "无数据"  # shown in place of an empty table or chart
MISSING = "—"  # an indicator with no value this period (e.g. nothing to divide by)
FIXED_HEADINGS = ("排名", "代码", "名称", "得分", "等级", "环比")


def headings(bulletin: Bulletin) -> list[str]:
    """Column headings of the ranking table: the fixed ones, then each indicator's label."""
    return [*FIXED_HEADINGS, *bulletin.indicator_labels.values()]


def score_text(score: float) -> str:
    return f"{score:.2f}"


def change_text(change: float | None) -> str:
    if change is None:
        return MISSING
    return f"{change:+.2f}" if round(change, 2) else "0.00"


def value_text(value: float | None) -> str:
    """Up to two decimals, without trailing zeros: 85.5, 12, 0.25."""
    if value is None:
        return MISSING
    return f"{value:.2f}".rstrip("0").rstrip(".")


def indicator_values(bulletin: Bulletin, row: RankRow) -> list[float | None]:
    """The row's indicator values in the order of `indicator_labels`; absent keys are None."""
    return [row.indicators.get(key) for key in bulletin.indicator_labels]


def row_texts(bulletin: Bulletin, row: RankRow) -> list[str]:
    """Every cell of the row as text, in the order of `headings`."""
    return [
        str(row.rank),
        row.unit_code,
        row.unit_name,
        score_text(row.score),
        row.grade,
        change_text(row.change),
        *(value_text(v) for v in indicator_values(bulletin, row)),
    ]


def generated_text(bulletin: Bulletin) -> str:
    """When the bulletin was generated, in the server's local time."""
    at = bulletin.generated_at
    if timezone.is_aware(at):
        at = timezone.localtime(at)
    return at.strftime("%Y-%m-%d %H:%M")
