"""Assessment dashboards: a unit's indicator cards with 12-month trends, the ranking and the
coloured map of its child areas, its overdue and supervised cases and open supervision
orders, and the drill-down from an indicator to the cases behind it.

Who may see a unit is `gridlink.assessment.selectors.may_view` (through `unit_for`): oversight
roles every unit in their scope, a unit head their own unit and what lies inside it. Cases
and orders are listed only through `case_list_visible_to` / `orders_visible_to`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from gridlink.accounts.permissions import area_roles, department_roles
from gridlink.accounts.roles import DEPARTMENT_ROLES, Role
from gridlink.assessment.indicators import BY_KEY, INDICATORS, Indicator, Value, indicator_value
from gridlink.assessment.selectors import (
    AREA_READERS,
    Period,
    Unit,
    counter_sums,
    indicator_cases,
    indicator_values,
    period_parse,
    unit_for,
)
from gridlink.cases.models import Card
from gridlink.cases.selectors import case_list_visible_to
from gridlink.cases.workflow_table import State
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.geo.models import Area, Department
from gridlink.supervision.models import OrderState
from gridlink.supervision.selectors import orders_visible_to
from gridlink.web.maps import SvgMap, area_map
from gridlink.web.names import localname

if TYPE_CHECKING:
    from gridlink.accounts.models import User
    from gridlink.web.views.common import AuthedRequest

DEFAULT_RANK_BY = "on_time_closing_rate"
TREND_MONTHS = 12
LIST_ROWS = 20
QUANTILES = 5  # map colour classes q-0 (worst) … q-4 (best)
# Roles whose default dashboard is their area scope, in order of preference.
AREA_DEFAULT_ROLES = (
    Role.ADMIN,
    Role.SUPERVISOR,
    Role.EVALUATOR,
    Role.DISPATCHER,
    Role.COMMUNITY_STAFF,
    Role.GRID_WORKER,
)


# --- Which unit -------------------------------------------------------------------------------


def default_unit(user: User) -> str | None:
    """The unit the user's dashboard opens on: an oversight role's area (the district), a
    dispatcher's or community worker's area, else a department; None if none."""
    if not user.is_authenticated or not user.is_active:
        return None
    held = area_roles(user)
    for wanted in AREA_DEFAULT_ROLES:
        paths = sorted((p for r, p in held if r == wanted), key=len)
        if paths and (ident := paths[0].strip("/").split("/")[-1]).isdigit():
            area = Area.objects.filter(pk=int(ident)).only("code").first()
            if area is not None:
                return f"area:{area.code}"
    departments = sorted(d for r, d in department_roles(user) if r in DEPARTMENT_ROLES)
    if departments:
        dept = Department.objects.filter(pk=departments[0]).only("code").first()
        if dept is not None:
            return f"dept:{dept.code}"
    if user.is_superuser:
        top = Area.objects.filter(parent__isnull=True).order_by("code").only("code").first()
        if top is not None:
            return f"area:{top.code}"
    return None


def sees_assessment(user: Any) -> bool:
    """Whether the user may see some unit's figures (the nav link)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return any(r in AREA_READERS for r, _p in area_roles(user)) or any(
        r in DEPARTMENT_ROLES for r, _d in department_roles(user)
    )


def _unit_or_error(user: User, raw: str) -> Unit:
    """The unit, or 404 (unknown or malformed) / 403 (not the user's)."""
    try:
        return unit_for(user, raw)
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from None
    except DomainError:
        raise Http404(_("No such unit.")) from None


# --- The period -------------------------------------------------------------------------------


class PeriodForm(forms.Form):
    """`period`: a month (2026-10), quarter (2026-Q4), year (2026), ISO week or day;
    `rank_by`: the indicator the child units are ranked and the map coloured by."""

    period = forms.CharField(label=gettext_lazy("Period"), required=False, max_length=20)
    rank_by = forms.ChoiceField(label=gettext_lazy("Rank by"), required=False, choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rank_by = cast(forms.ChoiceField, self.fields["rank_by"])
        rank_by.choices = [(i.key, indicator_name(i)) for i in INDICATORS]


@dataclass(frozen=True)
class Choice:
    form: PeriodForm
    period: Period | None  # None when invalid: the error is on the form
    text: str  # the period as written in URLs (2026-10)
    rank_by: str


def _parse(request: AuthedRequest) -> Choice:
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return Choice(form, None, "", DEFAULT_RANK_BY)
    text = form.cleaned_data["period"].strip() or timezone.localdate().strftime("%Y-%m")
    try:
        period = period_parse(period=text)
    except DomainError as exc:
        form.add_error("period", exc.message)
        return Choice(form, None, text, DEFAULT_RANK_BY)
    return Choice(form, period, text, form.cleaned_data["rank_by"] or DEFAULT_RANK_BY)


def _month(year: int, month: int) -> Period:
    first = dt.date(year, month, 1)
    last = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
    return Period(first, last, f"{year}-{month:02d}")


def _months_back(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) - n
    return index // 12, index % 12 + 1


def _shortcuts(period: Period) -> list[dict[str, str]]:
    """Links to the months around the period's last month, its quarter and its year."""
    y, m = period.end.year, period.end.month
    py, pm = _months_back(y, m, 1)
    ny, nm = _months_back(y, m, -1)
    return [
        {"period": f"{py}-{pm:02d}", "label": _("Previous month")},
        {"period": f"{y}-{m:02d}", "label": _("Month %(m)s") % {"m": f"{y}-{m:02d}"}},
        {"period": f"{y}-Q{(m - 1) // 3 + 1}",
         "label": _("Quarter %(q)s") % {"q": f"{y}-Q{(m - 1) // 3 + 1}"}},
        {"period": str(y), "label": _("Year %(y)s") % {"y": y}},
        {"period": f"{ny}-{nm:02d}", "label": _("Next month")},
    ]  # fmt: skip


def _previous(period: Period) -> Period:
    """The period of the same length just before (a month: the month before)."""
    if period.start.day == 1 and period.end == _month(period.end.year, period.end.month).end:
        months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month
        y, m = _months_back(period.start.year, period.start.month, months + 1)
        ly, lm = _months_back(period.start.year, period.start.month, 1)
        return Period(dt.date(y, m, 1), _month(ly, lm).end, "")
    days = (period.end - period.start).days + 1
    return Period(period.start - dt.timedelta(days=days), period.start - dt.timedelta(days=1), "")


# --- Presenting values ------------------------------------------------------------------------


def indicator_name(i: Indicator) -> str:
    return i.en if (get_language() or "").startswith("en") else i.zh


def unit_label(i: Indicator) -> str:
    english = (get_language() or "").startswith("en")
    return "cases" if english and i.unit_label == "件" else i.unit_label


def shown(value: float | None, i: Indicator) -> str:
    if value is None:
        return "—"
    if i.kind in ("count", "stock"):
        return str(int(value))
    return f"{value:.1f}"


def _goodness(delta: float | None, i: Indicator) -> str:
    """`good`, `bad` or `flat`: whether the change from the previous period is for the better."""
    if delta is None or abs(delta) < 1e-9:
        return "flat"
    return "good" if (delta > 0) == i.higher_is_better else "bad"


SPARK_W, SPARK_H, SPARK_PAD = 120.0, 32.0, 3.0


def sparkline(values: list[float | None]) -> list[str]:
    """Polyline `points` for a small trend; a missing month breaks the line."""
    known = [v for v in values if v is not None]
    if not known:
        return []
    low, high = min(known), max(known)
    span = high - low
    step = (SPARK_W - 2 * SPARK_PAD) / max(len(values) - 1, 1)
    lines: list[str] = []
    current: list[str] = []
    for n, v in enumerate(values):
        if v is None:
            if current:
                lines.append(" ".join(current))
            current = []
            continue
        frac = 0.5 if span == 0 else (v - low) / span
        x = SPARK_PAD + n * step
        y = SPARK_H - SPARK_PAD - frac * (SPARK_H - 2 * SPARK_PAD)
        current.append(f"{x:.1f},{y:.1f}")
    if current:
        lines.append(" ".join(current))
    # A lone point still needs two to draw: widen it into a short dash.
    return [p if " " in p else _dash(p) for p in lines]


def _dash(point: str) -> str:
    x, y = (float(c) for c in point.split(","))
    return f"{x - 1.5:.1f},{y:.1f} {x + 1.5:.1f},{y:.1f}"


@dataclass
class IndicatorCard:
    indicator: Indicator
    name: str
    value: Value
    shown: str
    unit: str
    previous: str
    tone: str  # good | bad | flat
    arrow: str
    spark: list[str]
    months: list[str]
    url: str


def indicator_cards(unit: Unit, period: Period, query: str) -> list[IndicatorCard]:
    """Every indicator of `unit` over `period`, with the previous period and 12 monthly
    values ending with the period's last month (one `counter_sums` per month)."""
    current = indicator_values(unit, period)
    before = {v.indicator.key: v for v in indicator_values(unit, _previous(period))}
    months = [_month(*_months_back(period.end.year, period.end.month, n))
              for n in range(TREND_MONTHS - 1, -1, -1)]  # fmt: skip
    monthly = [counter_sums(unit, m) for m in months]
    cards = []
    for v in current:
        i = v.indicator
        prev = before[i.key].value
        delta = None if v.value is None or prev is None else v.value - prev
        tone = _goodness(delta, i)
        series = [indicator_value(i, sums).value for sums in monthly]
        url = reverse("web:assessment_indicator", args=[_unit_path(unit), i.key])
        cards.append(
            IndicatorCard(
                indicator=i,
                name=indicator_name(i),
                value=v,
                shown=shown(v.value, i),
                unit=unit_label(i),
                previous=shown(prev, i),
                tone=tone,
                arrow="" if delta is None or tone == "flat" else ("▲" if delta > 0 else "▼"),
                spark=sparkline(series),
                months=[f"{m.label}: {shown(s, i)}" for m, s in zip(months, series, strict=True)],
                url=f"{url}?{query}",
            )
        )
    return cards


# --- Ranking and map --------------------------------------------------------------------------


@dataclass
class RankRow:
    area: Area
    value: Value
    shown: str
    rank: int | None
    quantile: int | None  # 0 worst … QUANTILES-1 best
    bar: float  # bar length in chart units
    y: float = 0.0  # top of the bar's row in the chart

    @property
    def text_x(self) -> float:
        return BAR_LEFT + self.bar + 4

    @property
    def text_y(self) -> float:
        return self.y + 15


BAR_LEFT, BAR_WIDTH, BAR_ROW = 150.0, 380.0, 24.0  # the chart is 600 units wide


def _child_areas(unit: Unit) -> list[Area]:
    if unit.kind != "area" or unit.area is None:
        return []
    return list(unit.area.children.current().order_by("code"))


def ranking(children: list[Area], period: Period, key: str) -> list[RankRow]:
    """The child areas ranked by indicator `key` over `period`, best first; no value last."""
    i = BY_KEY[key]
    units = [(a, Unit(f"area:{a.pk}", "area", a.name_zh, area=a)) for a in children]
    values = [(a, indicator_values(u, period, keys=[key])[0]) for a, u in units]
    known = sorted((v.value for _a, v in values if v.value is not None),
                   reverse=i.higher_is_better)  # fmt: skip
    worst_first = list(reversed(known))
    top = max((abs(x) for x in known), default=0.0) or 1.0
    if i.kind == "rate":
        top = max(top, 100.0)
    rows = []
    for a, v in values:
        rank = quantile = None
        if v.value is not None:
            rank = known.index(v.value) + 1  # ties share the better rank
            quantile = _quantile(worst_first.index(v.value), len(known))
        bar = 0.0 if v.value is None else max(abs(v.value) / top * BAR_WIDTH, 1.0)
        rows.append(RankRow(a, v, shown(v.value, i), rank, quantile, bar))
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.area.code))
    for n, row in enumerate(rows):
        row.y = 4 + n * BAR_ROW
    return rows


def _quantile(index: int, n: int) -> int:
    """The colour class of the `index`-th worst of `n` values: quantiles, spread over the
    whole scale when there are fewer values than classes."""
    if n == 1:
        return QUANTILES // 2
    if n < QUANTILES:
        return round(index * (QUANTILES - 1) / (n - 1))
    return min(QUANTILES - 1, index * QUANTILES // n)


def coloured_map(unit: Unit, rows: list[RankRow]) -> SvgMap | None:
    """The child areas drawn in quantile colours of the ranking's indicator."""
    if unit.area is None or not rows:
        return None
    svg = area_map([r.area for r in rows], parent=unit.area)
    if svg is None:
        return None
    by_pk = {r.area.pk: r for r in rows}
    shapes = []
    for shape in svg.shapes:
        row = by_pk[shape.area.pk]
        css = "map-area q-none" if row.quantile is None else f"map-area q-{row.quantile}"
        shapes.append(replace(shape, css_class=css))
    svg.shapes = shapes
    return svg


def legend(rows: list[RankRow], i: Indicator) -> list[dict[str, Any]]:
    """One entry per colour in use: its class and the range of values it stands for."""
    out = []
    for q in range(QUANTILES - 1, -1, -1):
        vals = [r.value.value for r in rows if r.quantile == q and r.value.value is not None]
        if vals:
            low, high = shown(min(vals), i), shown(max(vals), i)
            out.append({"css": f"q-{q}", "label": low if low == high else f"{low}–{high}"})
    if any(r.quantile is None for r in rows):
        out.append({"css": "q-none", "label": _("No data")})
    return out


# --- Case lists -------------------------------------------------------------------------------


def _unit_cases_q(unit: Unit) -> Q:
    if unit.kind == "area" and unit.area is not None:
        return Q(grid__path__startswith=unit.area.path)
    if unit.kind == "office" and unit.area is not None:
        return Q(unit_area=unit.area)
    if unit.department is not None:
        return Q(unit_department=unit.department)
    if unit.kind == "user":
        return Q(handled_by_id=int(unit.key.split(":")[1]))
    return Q(pk__in=[])


def _unit_orders_q(unit: Unit) -> Q:
    if unit.kind == "area" and unit.area is not None:
        path = unit.area.path
        return Q(case__grid__path__startswith=path) | Q(accountable_area__path__startswith=path)
    if unit.kind == "office" and unit.area is not None:
        return Q(accountable_area=unit.area)
    if unit.department is not None:
        return Q(accountable_department=unit.department)
    return Q(pk__in=[])


def case_lists(user: User, unit: Unit) -> dict[str, Any]:
    cases = case_list_visible_to(user).open().filter(_unit_cases_q(unit))
    cases = cases.select_related("grid", "category", "unit_department", "unit_area")
    overdue = cases.filter(card=Card.RED).order_by("deadline_at", "id")
    supervised = cases.filter(supervised=True).order_by("deadline_at", "id")
    orders = (
        orders_visible_to(user)
        .exclude(state=OrderState.CLOSED)
        .filter(_unit_orders_q(unit))
        .select_related("case", "area", "department")
        .order_by("deadline_at", "id")
    )
    return {
        "overdue": list(overdue[:LIST_ROWS]),
        "overdue_count": overdue.count(),
        "supervised": list(supervised[:LIST_ROWS]),
        "supervised_count": supervised.count(),
        "orders": list(orders[:LIST_ROWS]),
        "orders_count": orders.count(),
    }


# --- Views ------------------------------------------------------------------------------------


def _unit_path(unit: Unit) -> str:
    """The unit as written in URLs (codes, not database ids)."""
    if unit.area is not None:
        return f"{unit.kind}:{unit.area.code}"
    if unit.department is not None:
        return f"dept:{unit.department.code}"
    return unit.key


def _unit_context(user: User, unit: Unit, choice: Choice) -> dict[str, Any]:
    shown_as = unit.area or unit.department
    return {
        "unit": unit,
        "unit_path": _unit_path(unit),
        "unit_name": localname(shown_as) if shown_as is not None else unit.label,
        "unit_url": reverse("web:assessment_unit", args=[_unit_path(unit)]),
        "form": choice.form,
    }


def _breadcrumb(user: User, unit: Unit) -> list[Area]:
    """The areas above `unit` whose figures the user may see."""
    if unit.area is None:
        return []
    above = {a.pk: a for a in Area.objects.filter(pk__in=unit.area.ancestor_ids)}
    chain = [above[pk] for pk in unit.area.ancestor_ids if pk in above]
    readable = [p for r, p in area_roles(user) if r in AREA_READERS]
    return [a for a in chain if user.is_superuser or any(a.path.startswith(p) for p in readable)]


@require_GET
@login_required
def assessment_index(request: AuthedRequest) -> HttpResponse:
    raw = default_unit(request.user)
    if raw is None:
        raise PermissionDenied(_("Your roles do not include this page."))
    return redirect("web:assessment_unit", unit=raw)


@require_GET
@login_required
def assessment_unit(request: AuthedRequest, unit: str) -> HttpResponse:
    chosen = _unit_or_error(request.user, unit)
    choice = _parse(request)
    context = _unit_context(request.user, chosen, choice)
    context["breadcrumb"] = _breadcrumb(request.user, chosen)
    if choice.period is None:
        return render(request, "web/assessment/unit.html", context, status=400)
    period = choice.period
    query = urlencode({"period": choice.text})
    indicator = BY_KEY[choice.rank_by]
    rows = ranking(_child_areas(chosen), period, choice.rank_by)
    context |= {
        "period": period,
        "period_text": choice.text,
        "month_value": period.end.strftime("%Y-%m"),
        "query": query,
        "rank_by": choice.rank_by,
        "rank_name": indicator_name(indicator),
        "rank_unit": unit_label(indicator),
        "rows": rows,
        "chart_height": BAR_ROW * len(rows) + 8,
        "bar_left": BAR_LEFT,
        "map": coloured_map(chosen, rows),
        "legend": legend(rows, indicator),
        "shortcuts": _shortcuts(period),
    }
    if request.htmx:
        return render(request, "web/assessment/unit.html#ranking", context)
    context |= {"cards": indicator_cards(chosen, period, query), **case_lists(request.user, chosen)}
    return render(request, "web/assessment/unit.html", context)


@require_GET
@login_required
def assessment_indicator(request: AuthedRequest, unit: str, key: str) -> HttpResponse:
    chosen = _unit_or_error(request.user, unit)
    if key not in BY_KEY:
        raise Http404(_("No such indicator."))
    indicator = BY_KEY[key]
    choice = _parse(request)
    context = _unit_context(request.user, chosen, choice)
    context |= {"indicator": indicator, "name": indicator_name(indicator)}
    if choice.period is None:
        return render(request, "web/assessment/indicator.html", context, status=400)
    period = choice.period
    value = indicator_values(chosen, period, keys=[key])[0]
    found = indicator_cases(chosen, period, key)
    ids = {row["id"] for side in found.values() for row in side}
    visible = set(
        case_list_visible_to(request.user).filter(pk__in=ids).values_list("pk", flat=True)
    )
    labels = dict(State.choices)
    sides = []
    for side, title in (("numerator", _("Numerator")), ("denominator", _("Denominator"))):
        rows = [
            {**row, "visible": row["id"] in visible, "state_label": labels.get(row["state"], "")}
            for row in found[side]
        ]
        total = value.numerator if side == "numerator" else value.denominator
        sides.append({"key": side, "title": title, "rows": rows, "total": total})
    back = reverse("web:assessment_unit", args=[_unit_path(chosen)])
    context |= {
        "period": period,
        "period_text": choice.text,
        "value": value,
        "shown": shown(value.value, indicator),
        "unit_label": unit_label(indicator),
        "sides": sides,
        "back": f"{back}?{urlencode({'period': choice.text})}",
    }
    return render(request, "web/assessment/indicator.html", context)
