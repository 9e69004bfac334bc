"""CSV/XLSX import and export of the base registry and the area reference data.

- `kinds` — the columns of each kind (areas, departments, buildings, households, residents,
  organisations) and its natural key.
- `readers` — CSV/XLSX bytes → header and numbered rows of text cells (no NUL gets past).
- `cells` — one cell's text → a typed value, or one sentence saying what is wrong.
- `lookups` — the acting user's scope (for a capability); areas by code; rows referenced
  by code.
- `upserts` — the per-kind handler protocol and the registry kinds' rules: natural keys,
  parsing each column, cross-column checks, scope; `upserts_areas` — the same for areas and
  departments.
- `rows` — the row pipeline every write shares: scope first, parse, compare, scope again,
  check, save.
- `importer` — `registry_import`: every row of a file through the pipeline, in one
  transaction, with a report per row.
- `records` — `registry_upsert`: one record (building, household, resident, organisation)
  through the same pipeline, for the JSON API; `InvalidFields` lists every problem.
- `exporter` — `registry_export`: scoped, masked rows to a file, with the access log entry;
  `defuse` for any other spreadsheet-bound text.
- `uploads` — admin uploads waiting to be applied; `purge_stale_uploads`.
- `adminviews` — the admin's import and export pages (used by the ModelAdmins).

The command line (`gridlink import` / `gridlink export`), the admin and the tests all call
`registry_import` and `registry_export`; the API's create and update call
`registry_upsert`. See docs/import-export.md.

Public helpers for other modules:

- `defuse(value)` — the value to write into a CSV/XLSX cell so that no spreadsheet runs it
  as a formula: text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
  gets a leading apostrophe (``'=1+1``); other values are returned as they are (``None``
  becomes ``""``). Any export of user-supplied text (the audit-log export too) writes its
  cells through it.
- `purge_stale_uploads(older_than)` — delete waiting admin uploads older than that; returns
  how many. The admin calls it on every import request; a periodic job may call it too.
"""

from gridlink.core.spreadsheet import defuse
from gridlink.registry.exchange.exporter import ExportResult, registry_export
from gridlink.registry.exchange.importer import ImportReport, RowError, registry_import
from gridlink.registry.exchange.kinds import KINDS, KindSpec, kind_spec
from gridlink.registry.exchange.records import (
    RECORD_KINDS,
    InvalidFields,
    OutOfScope,
    RecordNotFound,
    UpsertResult,
    registry_upsert,
)
from gridlink.registry.exchange.uploads import purge_stale_uploads

__all__ = [
    "KINDS",
    "RECORD_KINDS",
    "ExportResult",
    "ImportReport",
    "InvalidFields",
    "KindSpec",
    "OutOfScope",
    "RecordNotFound",
    "RowError",
    "UpsertResult",
    "defuse",
    "kind_spec",
    "purge_stale_uploads",
    "registry_export",
    "registry_import",
    "registry_upsert",
]
