"""Read a CSV or XLSX file into a header and numbered rows of text cells.

Row numbers are spreadsheet row numbers: the header is row 1. Problems with the whole file
(wrong format, too big, no header) raise `DomainError`; a row that cannot be read as cells
comes back with a `problem` so the import can report it and go on.

CSV is read as UTF-8 (a BOM is fine) or, if it does not decode as UTF-8, as GB18030, the
encoding Chinese Excel saves "CSV" in. Bytes that decode in neither are reported on the row
and column where they are. XLSX is read with openpyxl in read-only mode, first sheet only.

No field may hold a NUL character (U+0000; PostgreSQL cannot store one in text). A CSV with
NUL bytes near its start is not text at all (often Excel's "Unicode text") and is refused as
a file; anywhere else — in any row of either format, however deep in the file — a NUL makes
its row an error naming the column, and one in the header is a file-level error naming the
column. So no NUL reaches the database, not even as a lookup key.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from gridlink.core.errors import DomainError

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 1_000_000
# An XLSX is a zip archive: cap what it may unpack to, so a small file cannot explode.
MAX_XLSX_UNPACKED_BYTES = 500 * 1024 * 1024
# Area polygons can be long; the csv module's default cap per field is 128 KiB.
MAX_CSV_FIELD_CHARS = 16 * 1024 * 1024

FORMATS = {".csv": "csv", ".xlsx": "xlsx"}
UTF8_DAMAGE_SHARE = 0.2  # see _decode

# A leading = + - @ (or tab / CR) makes a spreadsheet treat a cell as a formula. Exports put
# an apostrophe in front of such text; imports take it off again so a round trip is exact.
_ESCAPED = re.compile(r"^'[=+\-@\t\r]")
_UNDECODED = re.compile("[\udc80-\udcff]")
NUL = "\x00"
BINARY_SNIFF_BYTES = 8192  # NUL bytes this early mean the file is not text at all


@dataclass(frozen=True, slots=True)
class SourceRow:
    number: int
    cells: list[str]
    # (column, message) when the row could not be read as cells.
    problem: tuple[str, str] | None = None


@dataclass
class Table:
    header: list[str]
    rows: Iterator[SourceRow]
    total_hint: int | None  # about how many data rows there are, when cheap to know


def file_format(file_name: str) -> str:
    """'csv' or 'xlsx' from the file name's extension, or a DomainError saying what to use."""
    suffix = Path(file_name).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    hint = _(" Save .xls workbooks as .xlsx first.") if suffix == ".xls" else ""
    raise DomainError(
        _("Use a .csv or .xlsx file; %(name)s has the extension %(ext)r.")
        % {"name": Path(file_name).name, "ext": suffix or "(none)"}
        + hint,
        code="bad_format",
        field="file",
    )


def too_big_error(size: int) -> DomainError:
    return DomainError(
        _("The file has %(size).1f MB; the limit is %(max)d MB. Split it into smaller files.")
        % {"size": size / 1024 / 1024, "max": MAX_FILE_BYTES // 1024 // 1024},
        code="file_too_big",
        field="file",
    )


def read_path(path: Path) -> bytes:
    """The bytes of the file at `path`, refusing missing files and files over the size cap."""
    if not path.is_file():
        raise DomainError(_("No such file: %(path)s") % {"path": path}, code="no_file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise too_big_error(size)
    return path.read_bytes()


def read_table(*, data: bytes, file_name: str) -> Table:
    if len(data) > MAX_FILE_BYTES:
        raise too_big_error(len(data))
    if file_format(file_name) == "csv":
        return _read_csv(data)
    return _read_xlsx(data)


def clean_cell(value: str) -> str:
    value = value.strip()
    if _ESCAPED.match(value):
        return value[1:]
    return value


def nul_message() -> str:
    """What is wrong with a cell holding a NUL character (U+0000)."""
    return _("This cell holds a NUL character (U+0000), which cannot be stored.")


def clean_row(number: int, header: list[str], cells: list[str]) -> SourceRow:
    """A row of cleaned cells, or a row error naming the first column that holds a NUL."""
    for name, cell in zip(header, cells, strict=True):
        if NUL in cell:
            return SourceRow(number, [], (name, nul_message()))
    return SourceRow(number, [clean_cell(cell) for cell in cells])


def _normalise_header(cells: list[str]) -> list[str]:
    header = [c.strip().lstrip("\ufeff").strip().lower() for c in cells]
    while header and not header[-1]:
        header.pop()
    if not header:
        raise DomainError(
            _("The first row must be the header, with the column names."), code="no_header"
        )
    for index, name in enumerate(header, start=1):
        if NUL in name:
            raise DomainError(
                _("Column %(col)s of the header holds a NUL character (U+0000).")
                % {"col": get_column_letter(index)},
                code="bad_header",
                field="file",
            )
        if not name:
            raise DomainError(
                _("Column %(col)s of the header has no name.") % {"col": get_column_letter(index)},
                code="bad_header",
            )
        if _UNDECODED.search(name):
            raise DomainError(
                _("The header is not readable text; is this really a CSV file?"),
                code="bad_header",
            )
    duplicates = sorted({n for n in header if header.count(n) > 1})
    if duplicates:
        raise DomainError(
            _("The header names these columns more than once: %(cols)s.")
            % {"cols": ", ".join(duplicates)},
            code="bad_header",
        )
    return header


def _too_many_rows() -> DomainError:
    return DomainError(
        _("The file has more than %(max)s rows. Split it into smaller files.")
        % {"max": f"{MAX_ROWS:,}"},
        code="too_many_rows",
    )


# --- CSV -------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, bool]:
    """The text of `data` and whether some bytes could not be decoded (kept as surrogates).

    UTF-8 first. GB18030 accepts so many byte pairs that it would often "decode" a UTF-8
    file with a few damaged bytes and garble every Chinese cell without a word, so such a
    file stays UTF-8 and the damaged bytes are reported on their rows. Chinese text saved
    as GB18030 leaves well over a third of its non-ASCII bytes undecodable as UTF-8; under
    UTF8_DAMAGE_SHARE the file is taken for damaged UTF-8.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        pass
    as_utf8 = data.decode("utf-8", errors="surrogateescape")
    utf8_damage = len(_UNDECODED.findall(as_utf8))
    non_ascii = len(data.translate(None, bytes(range(128))))
    if utf8_damage < UTF8_DAMAGE_SHARE * non_ascii:
        return as_utf8, True
    try:
        return data.decode("gb18030"), False
    except UnicodeDecodeError:
        pass
    as_gb = data.decode("gb18030", errors="surrogateescape")
    if len(_UNDECODED.findall(as_gb)) < utf8_damage:
        return as_gb, True
    return as_utf8, True


def _read_csv(data: bytes) -> Table:
    # Only the start decides "not text"; a NUL further on is reported on its row and column
    # (`clean_row`), so the whole file is checked either way.
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise DomainError(
            _(
                "This is not a CSV text file (it contains NUL bytes). If Excel saved it as "
                "“Unicode text”, save it as “CSV UTF-8” instead."
            ),
            code="binary_file",
            field="file",
        )
    text, undecoded = _decode(data)
    if text.count("\n") > MAX_ROWS + 1:
        raise _too_many_rows()
    # Process-wide setting of the csv module; raising it only ever accepts more.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_FIELD_CHARS))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        first = next(reader)
    except StopIteration:
        raise DomainError(_("The file is empty."), code="empty_file") from None
    except csv.Error as exc:
        raise DomainError(
            _("The header row is not valid CSV: %(error)s") % {"error": exc}, code="bad_header"
        ) from None
    header = _normalise_header(first)
    return Table(
        header=header,
        rows=_csv_rows(reader, header, undecoded),
        total_hint=max(text.count("\n") - 1, 0),
    )


def _csv_rows(
    reader: Iterator[list[str]], header: list[str], undecoded: bool
) -> Iterator[SourceRow]:
    number = 1
    while True:
        number += 1
        if number > MAX_ROWS + 1:
            raise _too_many_rows()
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield SourceRow(number, [], ("*", _("This row is not valid CSV: %(e)s") % {"e": exc}))
            continue
        if not any(cell.strip() for cell in raw):
            continue
        if len(raw) != len(header):
            message = _("This row has %(n)d cells; the header has %(m)d.") % {
                "n": len(raw),
                "m": len(header),
            }
            yield SourceRow(number, [], ("*", message))
            continue
        if undecoded:
            bad = [name for name, cell in zip(header, raw, strict=True) if _UNDECODED.search(cell)]
            if bad:
                message = _("This cell holds bytes that are neither UTF-8 nor GB18030 text.")
                yield SourceRow(number, [], (bad[0], message))
                continue
        yield clean_row(number, header, raw)


# --- XLSX ------------------------------------------------------------------------------


def _not_a_workbook(detail: str = "") -> DomainError:
    message = _("This is not a readable XLSX workbook.")
    if detail:
        message += " " + detail
    return DomainError(message, code="bad_workbook", field="file")


def _read_xlsx(data: bytes) -> Table:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        raise _not_a_workbook() from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise DomainError(
            _("The workbook unpacks to more than %(max)d MB. Split it into smaller files.")
            % {"max": MAX_XLSX_UNPACKED_BYTES // 1024 // 1024},
            code="file_too_big",
            field="file",
        )
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    # openpyxl raises many unrelated exception types (KeyError, ValueError, ParseError,
    # InvalidFileException…) on a damaged archive; each one means the same to the user.
    except Exception as exc:  # noqa: BLE001
        raise _not_a_workbook(type(exc).__name__) from None
    if not book.worksheets:
        book.close()
        raise _not_a_workbook(_("It has no worksheet."))
    sheet = book.worksheets[0]
    total_hint = sheet.max_row - 1 if sheet.max_row else None
    if total_hint is not None and total_hint > MAX_ROWS:
        book.close()
        raise _too_many_rows()
    # The stored dimensions are sometimes wrong; let openpyxl read the rows as they are.
    sheet.reset_dimensions()
    values = sheet.iter_rows(values_only=True)
    try:
        first = next(values, ())
        header = _normalise_header([cell_text(v) for v in first])
    except DomainError:
        book.close()
        raise
    except Exception as exc:  # noqa: BLE001  (as above: any parse failure is a damaged sheet)
        book.close()
        raise _not_a_workbook(type(exc).__name__) from None
    return Table(header=header, rows=_xlsx_rows(book, values, header), total_hint=total_hint)


def _xlsx_rows(
    book: Any, values: Iterator[tuple[Any, ...]], header: list[str]
) -> Iterator[SourceRow]:
    width = len(header)
    number = 1
    try:
        while True:
            number += 1
            if number > MAX_ROWS + 1:
                raise _too_many_rows()
            try:
                raw = next(values)
            except StopIteration:
                return
            # As in _read_xlsx: a damaged sheet can fail in many ways half-way through.
            except Exception as exc:  # noqa: BLE001
                raise _not_a_workbook(
                    _("Row %(n)d could not be read (%(error)s).")
                    % {"n": number, "error": type(exc).__name__}
                ) from None
            cells = [cell_text(v) for v in raw]
            if not any(cells):
                continue
            extra = [i for i, cell in enumerate(cells[width:], start=width + 1) if cell]
            if extra:
                message = _(
                    "This row has a value in column %(col)s, beyond the %(n)d named columns."
                ) % {"col": get_column_letter(extra[0]), "n": width}
                yield SourceRow(number, [], ("*", message))
                continue
            cells = (cells + [""] * width)[:width]
            yield clean_row(number, header, cells)
    finally:
        book.close()


def cell_text(value: Any) -> str:
    """A spreadsheet cell's value as the text an import parses."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Whole numbers typed into Excel (codes, phone numbers) come back as floats.
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
