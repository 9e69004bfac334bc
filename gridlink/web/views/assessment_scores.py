"""Scorecards (issue 5): every unit of a scheme's level judged over one period — composite
0–100, rank, grade and its colour, the red and black lists, the change from the previous
period — with a map of the areas coloured by grade and links to the bulletin downloads.

The figures come from `gridlink.assessment.scorecards.scorecard_for` only; this module
parses the query, checks `may_view_scorecards` and presents (labels, arrows, CSS classes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from gridlink.assessment.indicators import BY_KEY
from gridlink.assessment.models import Scheme, UnitLevel
from gridlink.assessment.permissions import may_view_scorecards
from gridlink.assessment.schemes import URBAN_CODE, schemes_ensure_defaults
from gridlink.assessment.scorecards import Scorecard, ScoreRow, scorecard_for
from gridlink.assessment.selectors import Period, period_parse
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.geo.models import Area
from gridlink.web.maps import SvgMap, area_map
from gridlink.web.names import localname
from gridlink.web.views.assessment import indicator_name

if TYPE_CHECKING:
    from gridlink.web.views.common import AuthedRequest

TEMPLATE = "web/assessment/scorecard.html"
COLOURS = ("green", "blue", "yellow", "red", "grey")
BULLETIN_FORMATS = (("html", "HTML"), ("pdf", "PDF"), ("xlsx", "XLSX"))


def grade_label(grade: str) -> str:
    """The grade as shown: 优秀/良好/合格/不合格/无数据 translated."""
    labels = {
        "优秀": _("Excellent"),
        "良好": _("Good"),
        "合格": _("Pass"),
        "不合格": _("Fail"),
        "无数据": _("No data"),
    }
    return labels.get(grade, grade)


def metric_label(metric: str) -> str:
    """A deduction's counted metric: the name of its count indicator when there is one."""
    supervision = {
        "supervision_opened": _("Supervision orders opened"),
        "supervision_overdue": _("Supervision orders overdue"),
        "supervision_escalated": _("Supervision orders escalated"),
    }
    if metric in supervision:
        return supervision[metric]
    indicator = BY_KEY.get(f"{metric}_count")
    return indicator_name(indicator) if indicator is not None else metric


def points(value: float | None) -> str:
    """Points with at most two decimals and no trailing zeros; — for no data."""
    if value is None:
        return "—"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# --- The query --------------------------------------------------------------------------------


class ScorecardForm(forms.Form):
    """`scheme` (a code), `period` (anything `period_parse` reads, default this month) and
    `level` (empty: the scheme's own level)."""

    scheme = forms.CharField(label=gettext_lazy("Scheme"), required=False, max_length=32)
    period = forms.CharField(label=gettext_lazy("Period"), required=False, max_length=20)
    level = forms.ChoiceField(
        label=gettext_lazy("Level"),
        required=False,
        choices=[("", gettext_lazy("The scheme's level")), *UnitLevel.choices],
    )


def default_scheme(schemes: list[Scheme]) -> str:
    """`urban-street` when it is published, else the first published scheme, else the first."""
    published = [s for s in schemes if s.published_at is not None]
    if any(s.code == URBAN_CODE for s in published):
        return URBAN_CODE
    if published:
        return published[0].code
    return schemes[0].code if schemes else URBAN_CODE


def _month_shift(day: dt.date, months: int) -> str:
    index = day.year * 12 + day.month - 1 + months
    return f"{index // 12}-{index % 12 + 1:02d}"


# --- Presenting the rows ----------------------------------------------------------------------


@dataclass
class ShownItem:
    points: str
    value: str
    missing: bool


@dataclass
class ShownDeduction:
    label: str
    count: int
    points: str


@dataclass
class ShownRow:
    row: ScoreRow
    name: str
    code: str
    url: str
    composite: str
    grade: str
    colour: str
    change: str
    arrow: str
    trend: str  # up | down | flat | none
    previous: str
    items: list[ShownItem]
    deductions: list[ShownDeduction]
    deducted: str
    bonus: str


def _unit_url(row: ScoreRow, period_text: str) -> str:
    unit = row.unit
    if unit.area is not None:
        path = f"area:{unit.area.code}"
    elif unit.department is not None:
        path = f"dept:{unit.department.code}"
    else:
        return ""
    return f"{reverse('web:assessment_unit', args=[path])}?{urlencode({'period': period_text})}"


def shown_row(row: ScoreRow, period_text: str) -> ShownRow:
    shown_as = row.unit.area or row.unit.department
    colour = row.colour if row.colour in COLOURS else "grey"
    if row.change is None:
        arrow, trend = "", "none"
    elif row.change > 0:
        arrow, trend = "▲", "up"
    elif row.change < 0:
        arrow, trend = "▼", "down"
    else:
        arrow, trend = "", "flat"
    return ShownRow(
        row=row,
        name=localname(shown_as) if shown_as is not None else row.unit.label,
        code=row.code,
        url=_unit_url(row, period_text),
        composite=points(row.composite),
        grade=grade_label(row.grade),
        colour=colour,
        change="—" if row.change is None else points(abs(row.change)),
        arrow=arrow,
        trend=trend,
        previous=points(row.previous),
        items=[
            ShownItem(
                points(i.points),
                "—" if i.value is None else f"{i.value:.1f}",
                i.points is None,
            )
            for i in row.items
        ],
        deductions=[
            ShownDeduction(metric_label(d.metric), d.count, points(d.points))
            for d in row.deductions
            if d.count
        ],
        deducted=points(row.deducted),
        bonus=points(row.bonus),
    )


def item_heads(card: Scorecard) -> list[dict[str, str]]:
    """The column heads of the items: indicator name and full points, in scheme order."""
    out = []
    for item in card.scheme.items.all():
        indicator = BY_KEY.get(item.indicator)
        name = indicator_name(indicator) if indicator is not None else item.indicator
        out.append({"key": item.indicator, "name": name, "full": points(float(item.points))})
    return out


def named(card: Scorecard, names: list[str], rows: list[ShownRow]) -> list[ShownRow]:
    """The rows of a red or black list (the lists hold the units' Chinese labels)."""
    by_label: dict[str, ShownRow] = {}
    for r in rows:
        by_label.setdefault(r.row.unit.label, r)
    return [by_label[n] for n in names if n in by_label]


def grade_map(rows: list[ShownRow]) -> SvgMap | None:
    """The areas of the scorecard coloured by grade (departments are not drawn)."""
    areas = [r.row.unit.area for r in rows if r.row.unit.area is not None]
    if not areas:
        return None
    parents = {a.parent_id for a in areas}
    parent = None
    if len(parents) == 1 and (pid := parents.pop()) is not None:
        parent = Area.objects.filter(pk=pid).first()
    svg = area_map(areas, parent=parent)
    if svg is None:
        return None
    by_pk = {r.row.unit.area.pk: r for r in rows if r.row.unit.area is not None}
    svg.shapes = [
        replace(s, css_class=f"map-area grade-{by_pk[s.area.pk].colour}") for s in svg.shapes
    ]
    return svg


def grade_legend(scheme: Scheme) -> list[dict[str, str]]:
    lines = (
        ("green", _("Excellent"), f"≥ {points(float(scheme.grade_excellent))}"),
        ("blue", _("Good"), f"≥ {points(float(scheme.grade_good))}"),
        ("yellow", _("Pass"), f"≥ {points(float(scheme.grade_pass))}"),
        ("red", _("Fail"), f"< {points(float(scheme.grade_pass))}"),
        ("grey", _("No data"), ""),
    )
    return [{"css": f"grade-{c}", "label": label, "range": r} for c, label, r in lines]


# --- The view ---------------------------------------------------------------------------------


@require_GET
@login_required
def assessment_scorecards(request: AuthedRequest) -> HttpResponse:
    if not may_view_scorecards(request.user):
        raise PermissionDenied(_("You may not see scorecards."))
    schemes_ensure_defaults()
    schemes = list(Scheme.objects.order_by("code"))
    form = ScorecardForm(request.GET)
    context: dict[str, Any] = {
        "form": form,
        "schemes": schemes,
        "page_url": reverse("web:assessment_scorecards"),
        "dashboard_url": reverse("web:assessment_index"),
    }
    if not form.is_valid():
        context |= {"chosen_scheme": request.GET.get("scheme", ""), "chosen_level": ""}
        return render(request, TEMPLATE, context, status=400)
    code = form.cleaned_data["scheme"].strip() or default_scheme(schemes)
    level = form.cleaned_data["level"]
    text = form.cleaned_data["period"].strip() or timezone.localdate().strftime("%Y-%m")
    context |= {"chosen_scheme": code, "chosen_level": level, "period_text": text}
    try:
        period = period_parse(period=text)
        card = scorecard_for(request.user, code=code, period=period, level=level)
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from None
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return render(request, TEMPLATE, context, status=400)
    context |= _card_context(card, period, text, level)
    return render(request, TEMPLATE, context)


def _card_context(card: Scorecard, period: Period, text: str, level: str) -> dict[str, Any]:
    rows = [shown_row(r, text) for r in card.rows]
    query = {"scheme": card.scheme.code, "period": text}
    if level:
        query["level"] = level
    api = reverse("api:bulletin")
    here = reverse("web:assessment_scorecards")
    around = {"scheme": card.scheme.code, **({"level": level} if level else {})}
    return {
        "card": card,
        "scheme": card.scheme,
        "scheme_name": localname(card.scheme),
        "level_label": UnitLevel(card.level).label if card.level in UnitLevel.values else "",
        "period": period,
        "month_value": period.end.strftime("%Y-%m"),
        "previous_url": f"{here}?{urlencode({**around, 'period': _month_shift(period.end, -1)})}",
        "next_url": f"{here}?{urlencode({**around, 'period': _month_shift(period.end, 1)})}",
        "rows": rows,
        "item_heads": item_heads(card),
        "red_list": named(card, card.red_list, rows),
        "black_list": named(card, card.black_list, rows),
        "map": grade_map(rows),
        "legend": grade_legend(card.scheme),
        "downloads": [
            {"label": label, "format": fmt, "url": f"{api}?{urlencode({**query, 'format': fmt})}"}
            for fmt, label in BULLETIN_FORMATS
        ],
    }
