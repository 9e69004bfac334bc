"""The bulletin as a printable A4 PDF, drawn with fpdf2 and a CJK font from the system.

Chinese text needs a font that has the glyphs, and the PDF must carry it so that it prints
the same everywhere. We use Noto Sans CJK SC from Debian's `fonts-noto-cjk` (the Makefile's
`browser-deps` installs it): fpdf2 embeds only the glyphs used (a few tens of kB), as an
OpenType/CFF font program (`/FontFile3`). Charts are the vector drawings of `charts.py`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF, FontFace
from fpdf.enums import PathPaintRule

from . import cells
from .charts import Dot, Drawing, Label, Line, Rect, Shape, bulletin_charts
from .data import Bulletin, light_colour

# Where Linux distributions put Noto Sans CJK (regular, bold); the first that exists wins.
FONT_CANDIDATES: tuple[tuple[str, str], ...] = (
    (  # Debian / Ubuntu: fonts-noto-cjk
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    ),
    (  # Fedora: google-noto-sans-cjk-fonts; Arch: noto-fonts-cjk
        "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Bold.ttc",
    ),
    (
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
    ),
)
FAMILY = "NotoSansCJKSC"  # in a .ttc collection, the Simplified Chinese face
FONT = "cjk"
PT = 25.4 / 72  # millimetres per point
MARGIN = 15.0


# fontTools logs every subsetting step at INFO; a bulletin command should not print them.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)


class FontMissingError(RuntimeError):
    pass


def find_font() -> tuple[Path, Path | None]:
    """(regular, bold or None) font files; raises FontMissingError naming the package."""
    for regular, bold in FONT_CANDIDATES:
        if Path(regular).is_file():
            return Path(regular), Path(bold) if Path(bold).is_file() else None
    raise FontMissingError(
        "no Noto Sans CJK font found: install Debian's fonts-noto-cjk (`make browser-deps`)"
    )


@functools.cache
def collection_index(path: Path, family: str = FAMILY) -> int:
    """Which font of a .ttc collection is `family` (by PostScript name); 0 for a single font."""
    if path.suffix.lower() not in (".ttc", ".otc"):
        return 0
    from fontTools.ttLib import TTCollection  # type: ignore[import-untyped]  # no type information

    with TTCollection(path, lazy=True) as collection:
        for index, font in enumerate(collection.fonts):
            if (font["name"].getDebugName(6) or "").startswith(family):
                return index
    return 0


class _BulletinPdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color("#777777")
        self.cell(0, 6, f"第 {self.page_no()} 页，共 {{nb}} 页", align="C")


def _new_pdf(b: Bulletin, font_path: Path | None) -> _BulletinPdf:
    regular, bold = (font_path, None) if font_path is not None else find_font()
    pdf = _BulletinPdf(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(f"{b.title}（{b.period_label}）")
    pdf.set_creator("gridlink")
    pdf.set_creation_date(b.generated_at)
    pdf.add_font(FONT, "", str(regular), collection_font_number=collection_index(regular))
    bold = bold or regular  # without a bold face, headings fall back to the regular one
    pdf.add_font(FONT, "B", str(bold), collection_font_number=collection_index(bold))
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(auto=True, margin=MARGIN + 2)
    pdf.alias_nb_pages()
    return pdf


def _heading(pdf: FPDF, text: str, *, room_after: float = 30.0) -> None:
    """A section heading; starts a new page rather than stranding itself at the bottom."""
    if pdf.get_y() + 14 + room_after > pdf.h - pdf.b_margin:  # 14 mm: the heading itself
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font(FONT, "B", 13)
    pdf.set_text_color("#222222")
    pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color("#c62828")
    pdf.set_line_width(0.5)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(2)


def _ranking_table(pdf: FPDF, b: Bulletin) -> None:
    headings = cells.headings(b)
    extra = max(len(headings) - 9, 0)  # shrink the text as indicator columns are added
    size = max(9.0 - 0.5 * extra, 6.0)
    widths = [1.0, 2.0, 3.6, 1.4, 1.4, 1.3] + [1.5] * len(b.indicator_labels)
    pdf.set_font(FONT, "", size)
    pdf.set_text_color("#333333")
    pdf.set_draw_color("#bbbbbb")
    pdf.set_line_width(0.2)
    heading_style = FontFace(emphasis="BOLD", fill_color="#f0f0f0")
    with pdf.table(
        col_widths=widths,
        text_align="CENTER",
        headings_style=heading_style,
        line_height=size * PT * 1.5,
        first_row_as_headings=True,
        repeat_headings=1,
    ) as table:
        table.row(headings)
        if not b.rows:
            table.row().cell(cells.NO_DATA, colspan=len(headings))
        for row in b.rows:
            fill = FontFace(fill_color=light_colour(row.colour))
            out = table.row()
            for column, text in enumerate(cells.row_texts(b, row)):
                align = "LEFT" if column in (1, 2) else "RIGHT" if column != 4 else "CENTER"
                out.cell(text, align=align, style=fill if column in (3, 4) else None)


def _scale(pdf: FPDF, drawing: Drawing, width: float) -> float:
    """Millimetres per drawing unit: `width` mm wide, narrower if a page is too short."""
    room = pdf.h - pdf.b_margin - pdf.t_margin - 16
    return min(width / drawing.width, room / drawing.height)


def _draw(pdf: FPDF, drawing: Drawing, width: float) -> None:
    """Draw at the current position, on a new page if it does not fit on this one."""
    scale = _scale(pdf, drawing, width)
    if pdf.get_y() + drawing.height * scale > pdf.h - pdf.b_margin:
        pdf.add_page()
    x0 = pdf.l_margin + (width - drawing.width * scale) / 2
    y0 = pdf.get_y()

    def at(x: float, y: float) -> tuple[float, float]:
        return x0 + x * scale, y0 + y * scale

    for item in drawing.items:
        match item:
            case Rect(x, y, w, h, fill):
                pdf.set_fill_color(fill)
                pdf.rect(*at(x, y), w * scale, h * scale, style="F")
            case Line(points, stroke, line_width):
                pdf.set_draw_color(stroke)
                pdf.set_line_width(line_width * scale)
                pdf.polyline([at(px, py) for px, py in points], style="D")
            case Dot(x, y, r, fill):
                pdf.set_fill_color(fill)
                pdf.circle(*at(x, y), r * scale, style="F")  # centred since fpdf2 2.8.1
            case Shape(rings, fill, stroke, _):
                _shape(pdf, [[at(px, py) for px, py in ring] for ring in rings], fill, stroke)
            case Label(x, y, text, size, anchor, fill):
                pdf.set_font(FONT, "", size * scale / PT)
                pdf.set_text_color(fill)
                left, baseline = at(x, y)
                advance = pdf.get_string_width(text)
                left -= {"start": 0.0, "middle": advance / 2, "end": advance}[anchor]
                pdf.text(left, baseline, text)
    pdf.set_y(y0 + drawing.height * scale + 2)


def _shape(
    pdf: FPDF, rings: Sequence[Sequence[tuple[float, float]]], fill: str, stroke: str
) -> None:
    with pdf.new_path(paint_rule=PathPaintRule.STROKE_FILL_EVENODD) as path:
        path.style.fill_color = fill
        path.style.stroke_color = stroke
        path.style.stroke_width = 0.3
        for ring in rings:
            path.move_to(*ring[0])
            for point in ring[1:]:
                path.line_to(*point)
            path.close()


def _names(pdf: FPDF, label: str, names: Sequence[str], colour: str) -> None:
    pdf.set_font(FONT, "B", 10)
    pdf.set_text_color(colour)
    pdf.cell(14, 6, label)
    pdf.set_font(FONT, "", 10)
    pdf.set_text_color("#333333")
    pdf.multi_cell(0, 6, "、".join(names) or "无", new_x="LMARGIN", new_y="NEXT")


def bulletin_pdf(b: Bulletin, path: Path, *, font_path: Path | None = None) -> Path:
    """Write the bulletin as an A4 PDF at `path`. `font_path` overrides the CJK font file."""
    pdf = _new_pdf(b, font_path)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font(FONT, "B", 18)
    pdf.set_text_color("#c62828")
    pdf.multi_cell(0, 10, b.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    pdf.set_text_color("#666666")
    meta = f"{b.scheme_name} · {b.period_label} · 生成于 {cells.generated_text(b)}"
    pdf.multi_cell(0, 6, meta, align="C", new_x="LMARGIN", new_y="NEXT")

    ranking, trend, district = bulletin_charts(b)
    _heading(pdf, f"一、{b.units_label}排名")
    _ranking_table(pdf, b)
    for number, drawing in zip(("二", "三", "四"), (ranking, trend, district), strict=True):
        height = drawing.height * _scale(pdf, drawing, width)
        _heading(pdf, f"{number}、{drawing.title}", room_after=height)
        _draw(pdf, drawing, width)
    _heading(pdf, "五、红黑榜", room_after=14)
    _names(pdf, "红榜", b.red_list, "#c62828")
    _names(pdf, "黑榜", b.black_list, "#222222")
    if b.notes:
        _heading(pdf, "六、说明", room_after=8)
        pdf.set_font(FONT, "", 10)
        pdf.set_text_color("#333333")
        for index, note in enumerate(b.notes, start=1):
            pdf.multi_cell(0, 6, f"{index}. {note}", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path
