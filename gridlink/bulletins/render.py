"""Write a `Bulletin` as an HTML page, an A4 PDF and an XLSX workbook.

All three are self-contained and made without network access: the page carries its CSS
and its charts as inline SVG, the PDF embeds a subset of a CJK font from the system (see
`pdf.py`), and the workbook uses Excel's own charts. The charts are laid out once in
`charts.py`; `cells.py` says how each value reads in a table.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from . import cells
from .charts import Dot, Drawing, Label, Line, Rect, Shape, bulletin_charts
from .data import Bulletin
from .pdf import bulletin_pdf
from .xlsx import bulletin_xlsx

__all__ = ["bulletin_html", "bulletin_pdf", "bulletin_write", "bulletin_xlsx", "svg_of"]


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _points(points: tuple[tuple[float, float], ...]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in points)


def svg_of(drawing: Drawing) -> SafeString:
    """The drawing as an inline `<svg>` element (no xmlns needed inside HTML)."""
    title = escape(drawing.title)
    parts = [
        f'<svg viewBox="0 0 {_n(drawing.width)} {_n(drawing.height)}" role="img" '
        f'aria-label="{title}" font-size="12"><title>{title}</title>'
    ]
    for item in drawing.items:
        match item:
            case Rect(x, y, w, h, fill):
                parts.append(
                    f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" '
                    f'fill="{fill}"/>'
                )
            case Line(points, stroke, width):
                parts.append(
                    f'<polyline points="{_points(points)}" fill="none" stroke="{stroke}" '
                    f'stroke-width="{_n(width)}"/>'
                )
            case Dot(x, y, r, fill):
                parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}" fill="{fill}"/>')
            case Shape(rings, fill, stroke, name):
                d = "".join(f"M{_points(ring).replace(' ', 'L')}Z" for ring in rings)
                parts.append(
                    f'<path d="{d}" fill="{fill}" fill-rule="evenodd" stroke="{stroke}" '
                    f'stroke-width="1"><title>{escape(name)}</title></path>'
                )
            case Label(x, y, text, size, anchor, fill):
                parts.append(
                    f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" '
                    f'text-anchor="{anchor}" fill="{fill}">{escape(text)}</text>'
                )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text and attribute is escaped above  # nosec B308, B703


def bulletin_html(b: Bulletin) -> str:
    """The bulletin as one standalone HTML page: inline CSS and SVG, no external URLs."""
    rows = [
        {
            "rank": row.rank,
            "code": row.unit_code,
            "name": row.unit_name,
            "score": cells.score_text(row.score),
            "grade": row.grade,
            "colour": row.colour if row.colour.isalpha() else "",
            "change": cells.change_text(row.change),
            "indicators": [cells.value_text(v) for v in cells.indicator_values(b, row)],
        }
        for row in b.rows
    ]
    charts = [{"title": d.title, "svg": svg_of(d)} for d in bulletin_charts(b)]
    return render_to_string(
        "bulletins/bulletin.html",
        {
            "b": b,
            "generated_at": cells.generated_text(b),
            "headings": cells.headings(b),
            "rows": rows,
            "charts": charts,
            "no_data": cells.NO_DATA,
        },
    )


def bulletin_write(b: Bulletin, *, out_dir: Path, basename: str) -> dict[str, Path]:
    """Write `<basename>.html`, `.pdf` and `.xlsx` into `out_dir`; return them by format."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {fmt: out_dir / f"{basename}.{fmt}" for fmt in ("html", "pdf", "xlsx")}
    paths["html"].write_text(bulletin_html(b), encoding="utf-8")
    bulletin_pdf(b, paths["pdf"])
    bulletin_xlsx(b, paths["xlsx"])
    return paths
