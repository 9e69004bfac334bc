"""The assessment dashboards through the Django test client: who sees which unit, the figures
shown against the indicator engine, the drill-down, the ranking and map, and bad input.

The small world (frozen on a working day in October 2026): in street A, case A1 is filed and
dispatched (and marked red-carded), case A2 only reported; in street B, case B1 is filed (and
supervised). So over the district 3 cases are reported and 2 filed.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import translation

from gridlink.assessment import selectors
from gridlink.assessment.selectors import indicator_values, period_parse, unit_parse
from gridlink.cases.models import Case
from gridlink.cases.services.intake import Report, case_create
from gridlink.cases.services.transitions import case_transition
from gridlink.web.views import assessment as views
from tests.cases_support import A11, CATEGORY, build_world

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 10, 14, 10, 0, tzinfo=SH)
PERIOD = "2026-10"
B11 = {"lat": 35.85, "lon": 120.25}  # grid B1-1 in street B
DISTRICT, STREET_A, STREET_B = "area:370211", "area:370211001", "area:370211002"
COMMUNITY_A1 = "area:370211001001"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _report(where: dict[str, float], text: str) -> Case:
    report = Report(channel="resident_web", category_code=CATEGORY, description=text,
                    reporter_phone="13800138000", **where)  # fmt: skip
    return case_create(actor=None, report=report).case


def _step(actor, case: Case, action: str, **inputs) -> Case:
    return case_transition(actor=actor, case_id=case.pk, action=action, version=case.version,
                           inputs=inputs)  # fmt: skip


@pytest.fixture
def world(tree, personas, frozen):
    w = build_world(tree, personas)
    disp = w.people["district_disp"]
    a1 = _report(A11, "小区门口垃圾堆放三天无人清理")
    a2 = _report(A11, "楼道里堆满杂物影响通行安全")
    b1 = _report(B11, "路边垃圾桶满溢无人清运")
    for case in (a1, b1):
        case = _step(disp, case, "accept")
        case = _step(disp, case, "file")
    a1 = Case.objects.get(pk=a1.pk)
    _step(disp, a1, "dispatch", unit_id=f"department:{w.departments['UM'].pk}")
    Case.objects.filter(pk=a1.pk).update(card="red")
    Case.objects.filter(pk=b1.pk).update(supervised=True)
    w.cases = {"a1": a1, "a2": a2, "b1": b1}  # type: ignore[attr-defined]
    return w


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _get(user, url: str, **params):
    return _client(user).get(url, params or {"period": PERIOD})


# --- Who sees what ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "unit", "status"),
    [
        ("supervisor", DISTRICT, 200),
        ("supervisor", STREET_A, 200),
        ("supervisor", STREET_B, 200),
        ("supervisor", "dept:UM", 200),
        ("dispatcher", STREET_A, 200),
        ("dispatcher", COMMUNITY_A1, 200),
        ("dispatcher", STREET_B, 403),
        ("dispatcher", DISTRICT, 403),
        ("community_staff", COMMUNITY_A1, 200),
        ("community_staff", STREET_A, 403),
        ("head_UM", "dept:UM", 200),
        ("head_UM", "dept:HS", 403),
        ("head_UM", DISTRICT, 403),
        ("resident", "area:370211001001001", 403),
        ("supervisor", "area:999999", 404),
        ("supervisor", "nonsense", 404),
        ("supervisor", "dept:NOPE", 404),
    ],
)
def test_access_matrix(world, who, unit, status):
    user = world.people.get(who) or getattr(world.personas, who)
    assert _get(user, f"/assessment/{unit}/").status_code == status
    drill = _get(user, f"/assessment/{unit}/indicator/reports/")
    assert drill.status_code == status


@pytest.mark.parametrize(
    ("who", "target"),
    [
        ("supervisor", f"/assessment/{DISTRICT}/"),
        ("admin", f"/assessment/{DISTRICT}/"),
        ("dispatcher", f"/assessment/{STREET_A}/"),
        ("community_staff", f"/assessment/{COMMUNITY_A1}/"),
        ("head_UM", "/assessment/dept:UM/"),
    ],
)
def test_index_redirects_to_the_default_unit(world, who, target):
    user = world.people.get(who) or getattr(world.personas, who)
    response = _client(user).get("/assessment/")
    assert response.status_code == 302
    assert response["Location"] == target


def test_resident_and_anonymous_have_no_dashboard(world):
    assert _client(world.personas.resident).get("/assessment/").status_code == 403
    anonymous = Client().get(f"/assessment/{DISTRICT}/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


def test_nav_link_only_for_those_who_see_figures(world):
    assert 'href="/assessment/"' in _get(world.personas.supervisor, "/").content.decode()
    assert 'href="/assessment/"' in _get(world.people["head_UM"], "/").content.decode()
    assert 'href="/assessment/"' not in _get(world.personas.resident, "/").content.decode()


# --- The figures -----------------------------------------------------------------------------


def _card(page: str, key: str) -> str:
    match = re.search(rf'<li class="indicator-card[^"]*" data-key="{key}">(.*?)</li>', page, re.S)
    assert match, key
    return match.group(1)


@pytest.mark.parametrize("unit", [DISTRICT, STREET_A, "dept:UM"])
def test_cards_show_what_the_engine_computes(world, unit):
    page = _get(world.personas.supervisor, f"/assessment/{unit}/").content.decode()
    values = indicator_values(unit_parse(unit), period_parse(period=PERIOD))
    for v in values:
        card = _card(page, v.indicator.key)
        shown = views.shown(v.value, v.indicator)
        assert f'<span class="value">{shown}</span>' in card, (v.indicator.key, card)
        if v.denominator is not None:
            assert f"{v.numerator} / {v.denominator}" in card
        assert f"/assessment/{unit}/indicator/{v.indicator.key}/?period={PERIOD}" in card
    by_key = {v.indicator.key: v for v in values}
    if unit == DISTRICT:
        assert by_key["reports"].numerator == 3
        assert (by_key["filing_rate"].numerator, by_key["filing_rate"].denominator) == (2, 3)


def test_trend_does_one_sum_per_month(world, monkeypatch):
    calls: list[object] = []
    real = selectors.counter_sums

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(selectors, "counter_sums", counting)
    monkeypatch.setattr(views, "counter_sums", counting)
    assert _get(world.personas.supervisor, f"/assessment/{DISTRICT}/").status_code == 200
    # The period, the previous period, 12 months of trend, and one per ranked street.
    assert len(calls) == 1 + 1 + 12 + 2


def test_drill_down_lists_the_cases_behind_each_side(world):
    a1, a2, b1 = (world.cases[k] for k in ("a1", "a2", "b1"))
    page = _get(world.personas.supervisor, f"/assessment/{DISTRICT}/indicator/filing_rate/")
    text = page.content.decode()
    numerator = text.split('id="value-numerator"', 1)[1].split("</dd>", 1)[0]
    sides = text.split('id="drill-denominator-h"', 1)
    assert len(sides) == 2
    num_side = text.split('id="drill-numerator-h"', 1)[1].split('id="drill-denominator-h"', 1)[0]
    den_side = sides[1]
    assert f'data-case="{a1.pk}"' in num_side and f'data-case="{b1.pk}"' in num_side
    assert f'data-case="{a2.pk}"' not in num_side
    for case in (a1, a2, b1):
        assert f'data-case="{case.pk}"' in den_side
        assert f'href="/cases/{case.pk}/"' in den_side
    assert numerator == ">2"
    assert text.count('id="drill-numerator"') == 1


def test_drill_down_links_only_cases_the_user_may_open(world):
    a1, b1 = world.cases["a1"], world.cases["b1"]
    page = _get(world.people["head_UM"], "/assessment/dept:UM/indicator/dispatch_accuracy/")
    text = page.content.decode()
    assert f'data-case="{a1.pk}"' in text
    assert f'data-case="{b1.pk}"' not in text
    assert (
        _get(world.personas.supervisor, "/assessment/area:370211/indicator/nope/").status_code
        == 404
    )


def test_ranking_and_map_of_the_streets(world):
    response = _get(world.personas.supervisor, f"/assessment/{DISTRICT}/", period=PERIOD,
                    rank_by="filing_rate")  # fmt: skip
    page = response.content.decode()
    table = page.split('class="rank-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr data-code="(\d+)">\s*<td class="num">(\S+)</td>', table)
    assert rows == [("370211002", "1"), ("370211001", "2")]  # B: 1/1 = 100 %, A: 1/2 = 50 %
    svg = page.split('class="map score-map"', 1)[1].split("</svg>", 1)[0]
    assert len(re.findall(r'<path class="map-area q-\d"', svg)) == 2
    assert 'class="map-area q-4"' in svg and 'class="map-area q-0"' in svg
    assert 'class="swatch q-4"' in page


def test_ranking_partial_for_htmx(world):
    client = _client(world.personas.supervisor)
    response = client.get(f"/assessment/{DISTRICT}/", {"period": PERIOD, "rank_by": "reports"},
                          HTTP_HX_REQUEST="true")  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="ranking"')
    assert "indicator-card" not in page


def test_a_leaf_has_no_ranking(world):
    page = _get(world.personas.supervisor, "/assessment/area:370211001001001/").content.decode()
    assert "没有可排名的下级单位" in page


def test_overdue_supervised_and_orders_lists_are_scoped(world):
    a1, b1 = world.cases["a1"], world.cases["b1"]
    sup = _get(world.personas.supervisor, f"/assessment/{DISTRICT}/").content.decode()
    overdue = sup.split('id="overdue-h"', 1)[1].split('id="supervised-h"', 1)[0]
    supervised = sup.split('id="supervised-h"', 1)[1].split('id="orders-h"', 1)[0]
    assert f"/cases/{a1.pk}/" in overdue and f"/cases/{b1.pk}/" not in overdue
    assert f"/cases/{b1.pk}/" in supervised and f"/cases/{a1.pk}/" not in supervised
    disp = _get(world.personas.dispatcher, f"/assessment/{STREET_A}/").content.decode()
    assert f"/cases/{a1.pk}/" in disp and f"/cases/{b1.pk}/" not in disp
    assert "没有办理中的督办单。" in disp


# --- Bad input and the page itself --------------------------------------------------------------


@pytest.mark.parametrize("period", ["2026-13", "soon", "2026-Q5", "1999-02-30"])
def test_bad_period_is_a_form_error(world, period):
    for url in (f"/assessment/{DISTRICT}/", f"/assessment/{DISTRICT}/indicator/reports/"):
        response = _get(world.personas.supervisor, url, period=period)
        assert response.status_code == 400
        page = response.content.decode()
        assert 'id="period-errors"' in page
        assert 'name="period" id="id_period"' in page and 'aria-invalid="true"' in page
        assert "indicator-card" not in page


def test_unknown_ranking_indicator_is_a_form_error(world):
    response = _get(world.personas.supervisor, f"/assessment/{DISTRICT}/", rank_by="bogus")
    assert response.status_code == 400
    assert 'id="rank_by-errors"' in response.content.decode()


def test_other_units_render(world):
    for unit in ("office:370211001", "user:sup1"):
        assert _get(world.personas.supervisor, f"/assessment/{unit}/").status_code == 200


def test_other_periods(world):
    for period in ("2026-Q4", "2026", "2026-W42", "2026-10-14"):
        response = _get(world.personas.supervisor, f"/assessment/{DISTRICT}/", period=period)
        assert response.status_code == 200, period
        assert f'id="period-shown">{period}<' in response.content.decode()


def test_default_period_is_the_current_month(world):
    response = _client(world.personas.supervisor).get(f"/assessment/{DISTRICT}/")
    assert 'id="period-shown">2026-10<' in response.content.decode()


@pytest.mark.parametrize(
    "url", [f"/assessment/{DISTRICT}/", f"/assessment/{DISTRICT}/indicator/filing_rate/"]
)
def test_no_inline_script_or_style(world, url):
    response = _get(world.personas.supervisor, url)
    page = response.content.decode()
    assert response.status_code == 200
    assert "style=" not in page
    assert "<style" not in page
    for tag in re.findall(r"<script[^>]*>", page):
        assert 'src="/static/' in tag
    assert re.search(r"\son[a-z]+=", page) is None
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_sparkline_breaks_at_missing_months():
    assert views.sparkline([None, None]) == []
    lines = views.sparkline([1.0, 2.0, None, 3.0])
    assert len(lines) == 2 and " " in lines[1]  # a lone point is drawn as a short dash


def test_quantiles_spread_few_values():
    assert [views._quantile(i, 2) for i in range(2)] == [0, 4]
    assert views._quantile(0, 1) == 2
    assert [views._quantile(i, 10) for i in range(10)] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
