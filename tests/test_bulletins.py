"""Bulletins (通报): one plain `Bulletin` written as HTML, PDF and XLSX, offline."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from gridlink.bulletins import cells
from gridlink.bulletins.data import Bulletin, MapArea, RankRow, TrendSeries, light_colour
from gridlink.bulletins.pdf import FontMissingError, find_font
from gridlink.bulletins.render import bulletin_html, bulletin_pdf, bulletin_write, bulletin_xlsx
from gridlink.bulletins.xlsx import FIRST_ROW, HEADER_ROW

NAMES = ["东华街道", "西城街道", "南湖街道", "北苑街道", "中山街道",
         "滨江街道", "城关街道", "新华街道", "和平街道", "长安街道"]  # fmt: skip
GRADES = [("优秀", "green"), ("良好", "blue"), ("合格", "yellow"), ("不合格", "red")]
LONG_NAME = "某某市某某区某某街道办事处下属某某社区居民委员会第一网格综合治理工作站" * 3


def square(index: int) -> dict:
    """A small square near Hangzhou, laid out five to a row."""
    lon, lat = 120.10 + 0.01 * (index % 5), 30.20 + 0.01 * (index // 5)
    ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def make_bulletin(**changes) -> Bulletin:
    rows = []
    for i, name in enumerate(NAMES):
        grade, colour = GRADES[min(i // 3, 3)]
        rows.append(
            RankRow(
                rank=i + 1,
                unit_code=f"3301060{i:02d}",
                unit_name=name,
                score=round(96.5 - 6.3 * i, 2),
                grade=grade,
                colour=colour,
                change=None if i == 0 else round(1.5 - 0.4 * i, 2),
                indicators={
                    "closing_rate": 99.1 - i,
                    "on_time_rate": None if i == 4 else 90.0 - i * 2,
                    "satisfaction": 95.25,
                },
            )
        )
    months = [f"2025年{m}月" for m in range(11, 13)] + [f"2026年{m}月" for m in range(1, 11)]
    bulletin = Bulletin(
        title="网格化管理考核月度通报",
        period_label="2026年10月",
        scheme_name="街道综合考核方案",
        generated_at=datetime(2026, 11, 2, 1, 30, tzinfo=UTC),
        units_label="街道",
        rows=rows,
        indicator_labels={
            "closing_rate": "结案率",
            "on_time_rate": "按期处置率",
            "satisfaction": "满意率",
        },
        trend=[
            TrendSeries("全区综合得分", [(m, 80 + i * 0.9) for i, m in enumerate(months)]),
            TrendSeries(
                "结案率", [(m, None if i == 3 else 90 + i * 0.5) for i, m in enumerate(months)]
            ),
        ],
        map_areas=[
            MapArea(r.unit_code, r.unit_name, square(i), r.colour) for i, r in enumerate(rows)
        ],
        red_list=["东华街道", "西城街道"],
        black_list=["长安街道"],
        notes=["本月数据截至2026年10月31日24时。", "结案率 = 结案数 /（应结案数 − 挂账数）。"],
    )
    return dataclasses.replace(bulletin, **changes)


class _Parsed(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> _Parsed:
    parser = _Parsed()
    parser.feed(page)
    parser.close()
    return parser


def pdf_text(path: Path) -> str:
    """All text of the PDF, without whitespace and NULs.

    fpdf2 writes CJK text as two-byte codes through an embedded CMap; pypdf decodes them
    correctly through the font's /ToUnicode map but leaves a NUL for each high byte.
    """
    reader = PdfReader(path)
    return re.sub(r"[\s\x00]+", "", "".join(page.extract_text() for page in reader.pages))


def has_cjk_font() -> bool:
    try:
        find_font()
    except FontMissingError:
        return False
    return True


def test_the_cjk_font_is_installed():
    """PDF bulletins need fonts-noto-cjk (the Makefile installs it); no test skips without it."""
    assert has_cjk_font(), "install fonts-noto-cjk (make browser-deps)"


# --- HTML ---------------------------------------------------------------------------------


def test_html_is_a_standalone_chinese_page_with_three_charts():
    page = bulletin_html(make_bulletin())
    parsed = parse(page)
    assert '<html lang="zh-Hans">' in page
    assert parsed.tags.count("svg") == 3
    assert "http://" not in page and "https://" not in page
    assert not {"script", "link", "img", "iframe"} & set(parsed.tags)
    text = "".join(parsed.text)
    for name in NAMES:
        assert name in text
    assert "网格化管理考核月度通报" in text and "2026年10月" in text
    assert "按期处置率" in text and "—" in text  # the None indicator
    assert "+1.10" in text  # change against last period, signed


def test_html_bars_are_coloured_by_grade_and_the_map_has_every_unit():
    page = bulletin_html(make_bulletin())
    assert page.count('fill-rule="evenodd"') == len(NAMES)  # one map shape per unit
    for colour in ("#2e7d32", "#1565c0", "#f9a825", "#c62828"):
        assert f'fill="{colour}"' in page


def test_html_escapes_names():
    row = dataclasses.replace(make_bulletin().rows[0], unit_name="<b>东华</b>&街道")
    page = bulletin_html(make_bulletin(rows=[row]))
    assert "<b>东华" not in page
    assert "&lt;b&gt;东华" in page


def test_html_without_rows_says_no_data():
    page = bulletin_html(make_bulletin(rows=[], trend=[], map_areas=[]))
    parse(page)
    assert "无数据" in page
    assert page.count("<svg") == 3  # each chart says so in place


def test_long_names_are_cut_in_charts_and_kept_whole_in_the_table():
    base = make_bulletin()
    rows = [dataclasses.replace(base.rows[0], unit_name=LONG_NAME)]
    areas = [dataclasses.replace(base.map_areas[0], name=LONG_NAME)]
    page = bulletin_html(make_bulletin(rows=rows, map_areas=areas))
    assert LONG_NAME in page  # the table
    assert "…" in page  # the chart labels


def test_value_texts():
    assert cells.value_text(None) == "—"
    assert cells.value_text(85.5) == "85.5"
    assert cells.value_text(12.0) == "12"
    assert cells.change_text(-0.004) == "0.00"
    assert cells.change_text(-1.234) == "-1.23"


# --- XLSX ---------------------------------------------------------------------------------


def test_xlsx_ranking_colours_and_charts(tmp_path):
    b = make_bulletin()
    path = bulletin_xlsx(b, tmp_path / "b.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["排名", "趋势", "红黑榜", "说明"]
    ws = wb["排名"]
    assert [c.value for c in ws[HEADER_ROW]][:9] == [
        "排名", "代码", "名称", "得分", "等级", "环比", "结案率", "按期处置率", "满意率",
    ]  # fmt: skip
    for offset, row in enumerate(b.rows):
        r = FIRST_ROW + offset
        assert ws.cell(r, 1).value == row.rank
        assert ws.cell(r, 3).value == row.unit_name
        assert ws.cell(r, 4).value == pytest.approx(row.score)
        assert ws.cell(r, 4).number_format == "0.00"
        assert ws.cell(r, 5).value == row.grade
        expected = light_colour(row.colour).lstrip("#").upper()
        assert ws.cell(r, 5).fill.fgColor.rgb.endswith(expected)
    assert ws.cell(FIRST_ROW, 6).value == "—"  # no change for the first unit
    assert ws.cell(FIRST_ROW + 4, 8).value == "—"  # its on-time rate is None
    kinds = sorted(type(chart).__name__ for chart in ws._charts)
    assert kinds == ["BarChart", "LineChart"]
    assert wb["趋势"].max_row == 13  # heading + 12 months
    assert wb["趋势"].cell(5, 3).value is None  # the missing month stays empty
    assert [c.value for c in wb["红黑榜"]["A"]] == ["红榜", "东华街道", "西城街道"]
    notes = [c.value for c in wb["说明"]["B"]]
    assert "结案率 = 结案数 /（应结案数 − 挂账数）。" in notes


def test_xlsx_without_rows_or_trend(tmp_path):
    wb = load_workbook(bulletin_xlsx(make_bulletin(rows=[], trend=[]), tmp_path / "e.xlsx"))
    ws = wb["排名"]
    assert ws.cell(FIRST_ROW, 1).value == "无数据"
    assert ws._charts == []


# --- PDF ----------------------------------------------------------------------------------


def test_pdf_shows_title_names_and_embeds_the_font(tmp_path):
    path = bulletin_pdf(make_bulletin(), tmp_path / "b.pdf")
    assert path.read_bytes().startswith(b"%PDF")
    reader = PdfReader(path)
    assert len(reader.pages) >= 1
    text = pdf_text(path)
    assert "网格化管理考核月度通报" in text
    for name in NAMES:
        assert name in text
    for heading in ("综合得分排名", "趋势", "等级分布图", "红黑榜"):
        assert heading in text
    descriptors = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            for descendant in font.get_object().get("/DescendantFonts", []):
                descriptors.append(descendant.get_object()["/FontDescriptor"].get_object())
    assert descriptors
    assert all(any(k.startswith("/FontFile") for k in d) for d in descriptors)


def test_pdf_edge_cases(tmp_path):
    base = make_bulletin()
    empty = pdf_text(
        bulletin_pdf(make_bulletin(rows=[], trend=[], map_areas=[]), tmp_path / "e.pdf")
    )
    assert "无数据" in empty
    rows = [dataclasses.replace(row, unit_name=LONG_NAME) for row in base.rows]
    long_names = pdf_text(bulletin_pdf(make_bulletin(rows=rows), tmp_path / "l.pdf"))
    assert LONG_NAME[:20] in long_names
    assert "—" in long_names  # the None indicator


def test_pdf_with_many_units_spans_pages(tmp_path):
    base = make_bulletin()
    rows = [
        dataclasses.replace(base.rows[i % 10], rank=i + 1, unit_name=f"第{i + 1}网格")
        for i in range(80)
    ]
    path = bulletin_pdf(make_bulletin(rows=rows), tmp_path / "many.pdf")
    assert len(PdfReader(path).pages) > 2
    assert "第80网格" in pdf_text(path)


def test_write_produces_all_three_files(tmp_path):
    paths = bulletin_write(make_bulletin(), out_dir=tmp_path / "out", basename="2026-10")
    assert set(paths) == {"html", "pdf", "xlsx"}
    for fmt, path in paths.items():
        assert path == tmp_path / "out" / f"2026-10.{fmt}"
        assert path.stat().st_size > 1000
