"""The bulletin as an XLSX workbook: the ranking with Excel's own charts, lists and notes.

Sheets: 排名 (the ranking table, a bar chart of scores and a line chart of the trend),
趋势 (the trend's figures, which the line chart reads), 红黑榜, 说明. Numbers stay numbers
(with number formats) so that readers can sort and sum; a missing value is the text "—".
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.marker import DataPoint
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from . import cells
from .data import Bulletin, light_colour, strong_colour

HEADER_ROW = 4  # rows 1–2 hold the title and the scheme, period and generation time
FIRST_ROW = HEADER_ROW + 1
SCORE_FORMAT = "0.00"
CHANGE_FORMAT = "+0.00;-0.00;0.00"
VALUE_FORMAT = "0.##"
BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="F0F0F0")
ROW_CM = 0.53  # the default row height (15 pt) in centimetres, to stack charts


def fill_of(hex_colour: str) -> PatternFill:
    return PatternFill("solid", fgColor=hex_colour.lstrip("#").upper())


def _title(ws: Worksheet, b: Bulletin) -> None:
    ws["A1"] = b.title
    ws["A1"].font = Font(bold=True, size=16)
    ws["A2"] = f"{b.scheme_name} · {b.period_label} · 生成于 {cells.generated_text(b)}"


def _ranking_sheet(ws: Worksheet, b: Bulletin) -> None:
    ws.title = "排名"
    _title(ws, b)
    headings = cells.headings(b)
    for column, heading in enumerate(headings, start=1):
        cell = ws.cell(HEADER_ROW, column, heading)
        cell.font, cell.fill = BOLD, HEADER_FILL
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    if not b.rows:
        ws.cell(FIRST_ROW, 1, cells.NO_DATA)
        ws.merge_cells(
            start_row=FIRST_ROW, start_column=1, end_row=FIRST_ROW, end_column=len(headings)
        )
    for offset, row in enumerate(b.rows):
        r = FIRST_ROW + offset
        grade_fill = fill_of(light_colour(row.colour))
        ws.cell(r, 1, row.rank)
        ws.cell(r, 2, row.unit_code)
        ws.cell(r, 3, row.unit_name)
        score = ws.cell(r, 4, row.score)
        score.number_format, score.fill = SCORE_FORMAT, grade_fill
        grade = ws.cell(r, 5, row.grade)
        grade.fill, grade.alignment = grade_fill, Alignment(horizontal="center")
        change = ws.cell(r, 6, cells.MISSING if row.change is None else row.change)
        change.number_format = CHANGE_FORMAT
        for column, value in enumerate(cells.indicator_values(b, row), start=7):
            cell = ws.cell(r, column, cells.MISSING if value is None else value)
            cell.number_format = VALUE_FORMAT
            cell.alignment = Alignment(horizontal="right")
    widths = [6, 14, 24, 9, 8, 9] + [12] * len(b.indicator_labels)
    for column, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.freeze_panes = f"A{FIRST_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)


def _score_chart(ws: Worksheet, b: Bulletin) -> BarChart:
    last = FIRST_ROW + len(b.rows) - 1
    chart = BarChart()
    chart.type = "bar"  # horizontal bars
    chart.title = f"{b.units_label}综合得分排名"
    chart.legend = None
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 100
    chart.y_axis.title = "得分"
    chart.x_axis.scaling.orientation = "maxMin"  # rank 1 at the top
    chart.add_data(
        Reference(ws, min_col=4, min_row=HEADER_ROW, max_row=last), titles_from_data=True
    )
    chart.set_categories(Reference(ws, min_col=3, min_row=FIRST_ROW, max_row=last))
    series = chart.series[0]
    for index, row in enumerate(b.rows):
        point = DataPoint(idx=index)
        point.graphicalProperties.solidFill = strong_colour(row.colour).lstrip("#").upper()
        series.dPt.append(point)
    chart.width, chart.height = 16, max(7.5, 0.55 * len(b.rows) + 2)
    return chart


def _trend_sheet(ws: Worksheet, b: Bulletin) -> LineChart | None:
    """Write the trend's figures; return a line chart of them, or None without figures."""
    ws.title = "趋势"
    labels: list[str] = []
    for series in b.trend:
        labels += [label for label, _ in series.points if label not in labels]
    ws.cell(1, 1, "期间").font = BOLD
    for r, label in enumerate(labels, start=2):
        ws.cell(r, 1, label)
    for column, series in enumerate(b.trend, start=2):
        ws.cell(1, column, series.name).font = BOLD
        values = dict(series.points)
        for r, label in enumerate(labels, start=2):
            value = values.get(label)
            if value is not None:  # an empty cell is a gap in Excel's line, not a zero
                ws.cell(r, column, value).number_format = VALUE_FORMAT
        ws.column_dimensions[get_column_letter(column)].width = 14
    if not labels or not b.trend:
        return None
    chart = LineChart()
    chart.title = "趋势"
    chart.add_data(
        Reference(ws, min_col=2, max_col=1 + len(b.trend), min_row=1, max_row=1 + len(labels)),
        titles_from_data=True,
    )
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=1 + len(labels)))
    chart.width, chart.height = 16, 7.5
    return chart


def _lists_sheet(ws: Worksheet, b: Bulletin) -> None:
    ws.title = "红黑榜"
    for column, (heading, names, colour) in enumerate(
        (("红榜", b.red_list, "#c62828"), ("黑榜", b.black_list, "#222222")), start=1
    ):
        cell = ws.cell(1, column, heading)
        cell.font, cell.fill = Font(bold=True, color="FFFFFF"), fill_of(colour)
        for r, name in enumerate(names, start=2):
            ws.cell(r, column, name)
        ws.column_dimensions[get_column_letter(column)].width = 28


def _notes_sheet(ws: Worksheet, b: Bulletin) -> None:
    ws.title = "说明"
    facts = [
        ("标题", b.title),
        ("考核方案", b.scheme_name),
        ("期间", b.period_label),
        ("排名对象", b.units_label),
        ("生成时间", cells.generated_text(b)),
    ]
    for r, (key, value) in enumerate(facts, start=1):
        ws.cell(r, 1, key).font = BOLD
        ws.cell(r, 2, value)
    ws.cell(len(facts) + 2, 1, "说明").font = BOLD
    for r, note in enumerate(b.notes, start=len(facts) + 3):
        ws.cell(r, 1, f"{r - len(facts) - 2}.")
        ws.cell(r, 2, note).alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 10
    ws.column_dimensions["B"].width = 90


def bulletin_xlsx(b: Bulletin, path: Path) -> Path:
    """Write the bulletin as an XLSX workbook at `path`."""
    wb = Workbook()
    ranking = wb.worksheets[0]  # a new workbook has one sheet
    _ranking_sheet(ranking, b)
    line = _trend_sheet(wb.create_sheet(), b)
    _lists_sheet(wb.create_sheet(), b)
    _notes_sheet(wb.create_sheet(), b)
    anchor_column = get_column_letter(len(cells.headings(b)) + 2)
    next_row = HEADER_ROW
    if b.rows:
        bar = _score_chart(ranking, b)
        ranking.add_chart(bar, f"{anchor_column}{next_row}")
        next_row += int(bar.height / ROW_CM) + 2
    if line is not None:
        ranking.add_chart(line, f"{anchor_column}{next_row}")
    wb.save(path)
    return path
