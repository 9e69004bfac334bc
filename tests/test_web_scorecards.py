"""The scorecards page through the Django test client: the ranking of a small world against
`scorecard_for`, grades and their colours, the map, the bulletin links, who may see it and
bad input.

The world is the one of tests/test_schemes.py: the conftest district (streets A and B), cases
driven through the real workflow in October 2026. Street A: two cases, one rated
dissatisfied and one reworked once → 84.8 (良好, blue, rank 2); street B: one satisfied case
→ 100 (优秀, green, rank 1).
"""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from gridlink.assessment.schemes import URBAN_CODE, schemes_ensure_defaults
from gridlink.assessment.scorecards import scorecard_for
from gridlink.assessment.selectors import period_parse
from tests.cases_support import build_world
from tests.test_schemes import IN_STREET_B, closed_case

URL = "/assessment/scorecards/"
OCTOBER = "2026-10"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def world(tree, personas):
    call_command("calendar", "seed", "--years", "2026", stdout=io.StringIO())
    return build_world(tree, personas)


@pytest.fixture
def october(world):
    schemes_ensure_defaults()
    closed_case(world, satisfaction="dissatisfied", solved=False)
    closed_case(world, fails=1)
    closed_case(world, where=IN_STREET_B)


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _page(response) -> str:
    return response.content.decode()


def _rows(page: str) -> list[str]:
    body = page.split('<table class="score-table">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-code="([^"]+)">', body)


def test_supervisor_sees_the_ranking(world, october):
    response = _client(world.personas.supervisor).get(
        URL, {"scheme": URBAN_CODE, "period": OCTOBER}
    )
    assert response.status_code == 200
    page = _page(response)
    a, b = world.tree.streets[0], world.tree.streets[1]
    assert _rows(page) == [b.code, a.code]
    assert "84.8" in page and "100" in page
    assert "红榜" in page and "黑榜" in page
    red = page.split('class="panel red-list"', 1)[1].split("</section>", 1)[0]
    assert f'data-code="{b.code}"' in red and f'data-code="{a.code}"' in red
    black = page.split('class="panel black-list"', 1)[1].split("</section>", 1)[0]
    assert "黑榜暂无单位。" in black
    # Items: the three items of the scheme as column heads; street A's deduction shown.
    assert page.count('<th scope="col" class="num" data-key="') == 3
    assert "−0.2" in page


def test_grades_and_colours_match_the_scorecard(world, october):
    sup = world.personas.supervisor
    card = scorecard_for(sup, code=URBAN_CODE, period=period_parse(period=OCTOBER))
    page = _page(_client(sup).get(URL, {"scheme": URBAN_CODE, "period": OCTOBER}))
    for row in card.rows:
        tr = page.split(f'<tr data-code="{row.code}">', 1)[1].split("</tr>", 1)[0]
        assert f'class="grade grade-{row.colour}"' in tr
        assert f'<td class="num">{row.rank}</td>' in tr
    assert {r.colour for r in card.rows} == {"green", "blue"}


def test_map_has_one_path_per_ranked_area(world, october):
    sup = world.personas.supervisor
    card = scorecard_for(sup, code=URBAN_CODE, period=period_parse(period=OCTOBER))
    page = _page(_client(sup).get(URL, {"scheme": URBAN_CODE, "period": OCTOBER}))
    ranked = [r for r in card.rows if r.rank is not None and r.unit.area is not None]
    paths = re.findall(r'<path class="map-area grade-([a-z]+)"', page)
    assert len(paths) == len(ranked) == 2
    assert sorted(paths) == sorted(r.colour for r in ranked)


def test_download_links_point_to_the_bulletin_api(world, october):
    page = _page(
        _client(world.personas.supervisor).get(
            URL, {"scheme": URBAN_CODE, "period": OCTOBER, "level": "street"}
        )
    )
    links = re.findall(r'<a href="([^"]+)" class="button small" data-format="([a-z]+)"', page)
    assert [fmt for _href, fmt in links] == ["html", "pdf", "xlsx"]
    for href, fmt in links:
        parts = urlsplit(href.replace("&amp;", "&"))
        assert parts.path == "/api/v1/assessment/bulletins"
        assert parse_qs(parts.query) == {
            "scheme": [URBAN_CODE],
            "period": [OCTOBER],
            "level": ["street"],
            "format": [fmt],
        }


def test_default_scheme_and_period_links(world, october):
    response = _client(world.personas.supervisor).get(URL, {"period": OCTOBER})
    page = _page(response)
    assert response.status_code == 200
    assert f'<option value="{URBAN_CODE}" selected>' in page
    assert f"?scheme={URBAN_CODE}&amp;period=2026-09" in page
    assert f"?scheme={URBAN_CODE}&amp;period=2026-11" in page


def test_resident_gets_403(world, october):
    assert _client(world.personas.resident).get(URL).status_code == 403


def test_anonymous_is_sent_to_sign_in():
    response = Client().get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"scheme": URBAN_CODE, "period": "2026-13"}, "period"),
        ({"scheme": URBAN_CODE, "period": "October"}, "period"),
        ({"scheme": "no-such-scheme", "period": OCTOBER}, "scheme"),
        ({"scheme": URBAN_CODE, "period": OCTOBER, "level": "planet"}, "level"),
    ],
)
def test_bad_input_is_400_on_the_field(world, october, query, field):
    response = _client(world.personas.supervisor).get(URL, query)
    assert response.status_code == 400
    page = _page(response)
    assert f'id="{field}-errors"' in page
    assert re.search(rf'id="id_{field}"[^>]*aria-invalid="true"', page)
    assert 'class="score-table"' not in page


def test_no_inline_script_or_style(world, october):
    response = _client(world.personas.supervisor).get(
        URL, {"scheme": URBAN_CODE, "period": OCTOBER}
    )
    page = _page(response)
    assert "style=" not in page
    assert "<style" not in page
    for tag in re.findall(r"<script[^>]*>", page):
        assert 'src="/static/' in tag
    assert re.search(r"\son[a-z]+=", page) is None
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_dashboard_links_to_the_scorecards(world, october):
    page = _page(
        _client(world.personas.supervisor).get(
            f"/assessment/area:{world.tree.district.code}/", {"period": OCTOBER}
        )
    )
    assert 'href="/assessment/scorecards/?period=2026-10"' in page
