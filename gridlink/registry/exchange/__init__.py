"""CSV/XLSX import and export of the base registry and the area reference data.

- `kinds` — the columns of each kind (areas, departments, buildings, households, residents,
  organisations) and its natural key.
- `readers` — CSV/XLSX bytes → header and numbered rows of text cells.
- `cells` — one cell's text → a typed value, or one sentence saying what is wrong.
- `lookups` — the importing user's scope; every area by code; rows referenced by code.
- `upserts` — per-kind rules: natural keys, parsing each column, cross-column checks.
- `importer` — `registry_import`: validate, upsert in one transaction, report per row.
- `exporter` — `registry_export`: scoped, masked rows to a file, with the access log entry.
- `adminviews` — the admin's import and export pages (used by the ModelAdmins).

The command line (`gridlink import` / `gridlink export`), the admin and the tests all call
`registry_import` and `registry_export`. See docs/import-export.md.
"""

from gridlink.registry.exchange.exporter import ExportResult, registry_export
from gridlink.registry.exchange.importer import ImportReport, RowError, registry_import
from gridlink.registry.exchange.kinds import KINDS, KindSpec, kind_spec

__all__ = [
    "KINDS",
    "ExportResult",
    "ImportReport",
    "KindSpec",
    "RowError",
    "kind_spec",
    "registry_export",
    "registry_import",
]
