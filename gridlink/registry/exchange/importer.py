"""Import a CSV/XLSX file of one kind of registry data: validate every row, upsert on the
natural key, and report per row.

The whole import runs in one transaction. Rows are written as they pass, so a later row can
refer to an earlier one (a child area after its parent); at the end the transaction is rolled
back when it was a dry run, or when some row failed and the caller did not ask to apply the
valid rows. A row whose values equal the stored ones is "unchanged" and not written.

Each row goes through the shared row pipeline (`rows.RowPipeline`), the same one a record
saved through the API goes through; the scope is the importing user's `registry.import`
scope. Scope comes first: a row whose key belongs to a stored record outside it is refused
before anything is compared or checked, with the same words as any other out-of-scope row,
so an import cannot tell what is stored outside the user's area.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from gridlink.accounts.roles import Cap
from gridlink.core.audit import audit_record
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.geo.services import geo_revision_bump
from gridlink.registry.exchange.cells import RowErrors
from gridlink.registry.exchange.kinds import KindSpec, kind_spec
from gridlink.registry.exchange.lookups import AreaIndex, Scope
from gridlink.registry.exchange.readers import NUL, SourceRow, read_table
from gridlink.registry.exchange.rows import CREATED, HANDLERS, UPDATED, RowPipeline, may_write

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser

CHUNK_ROWS = 500
MAX_LISTED_ERRORS = 10_000


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # spreadsheet row number; the header is row 1
    column: str  # a column name, or "*" for the row as a whole
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


@dataclass
class ImportReport:
    kind: str
    file_name: str
    dry_run: bool
    apply_valid: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_not_listed: int = 0  # beyond MAX_LISTED_ERRORS
    applied: bool = False  # whether the rows written were kept (committed)

    @property
    def ok(self) -> bool:
        return self.error_rows == 0

    @property
    def valid_rows(self) -> int:
        return self.created + self.updated + self.unchanged

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.error_rows,
        }

    def add_errors(self, errors: RowErrors) -> None:
        self.error_rows += 1
        for column, messages in errors.by_column.items():
            for message in messages:
                if len(self.errors) < MAX_LISTED_ERRORS:
                    self.errors.append(RowError(errors.number, column, message))
                else:
                    self.errors_not_listed += 1

    def summary(self) -> str:
        counts = _(
            "%(file)s: %(rows)d rows — %(created)d created, %(updated)d updated, "
            "%(unchanged)d unchanged, %(errors)d with errors."
        ) % {"file": Path(self.file_name).name, **self.counts()}
        return f"{counts} {self.outcome()}"

    def outcome(self) -> str:
        if self.dry_run:
            return _("Dry run: nothing was written.")
        if self.applied and self.ok:
            return _("The import is complete.")
        if self.applied:
            return ngettext(
                "The valid rows were written; %(n)d row with errors was not.",
                "The valid rows were written; %(n)d rows with errors were not.",
                self.error_rows,
            ) % {"n": self.error_rows}
        return _("Nothing was written because some rows have errors.")


def registry_import(
    *,
    kind: str,
    data: bytes,
    file_name: str,
    actor: AnyUser | None = None,
    dry_run: bool = False,
    apply_valid: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
) -> ImportReport:
    """Import `data` (the bytes of a .csv or .xlsx file named `file_name`) as `kind` rows.

    File-level problems (format, size, header, permission) raise `DomainError`; row-level
    problems are collected in the returned report. `actor`, when given, must hold the
    registry.import capability and may write only inside its scope; it is recorded in the
    audit log.
    """
    spec = kind_spec(kind)
    _check_permission(actor)
    table = read_table(data=data, file_name=file_name)
    _check_header(spec, table.header)
    report = ImportReport(kind=kind, file_name=file_name, dry_run=dry_run, apply_valid=apply_valid)
    with transaction.atomic():
        handler = HANDLERS[kind](scope=Scope(actor, Cap.REGISTRY_IMPORT), areas=AreaIndex())
        pipeline = RowPipeline(handler)
        for chunk in _chunks(table.rows, CHUNK_ROWS):
            values = {
                row.number: dict(zip(table.header, row.cells, strict=True))
                for row in chunk
                if row.problem is None
            }
            # Rows with a NUL character never get here (the reader reports them), and a key
            # with one would make PostgreSQL refuse the whole lookup: keep it out regardless.
            keys = {k for k in (handler.key(v) for v in values.values()) if k and NUL not in k}
            handler.prefetch(keys, list(values.values()))
            for row in chunk:
                errors = RowErrors(row.number)
                if row.problem is not None:
                    errors.add(*row.problem)
                    outcome = None
                else:
                    outcome = pipeline.upsert(values[row.number], errors)
                report.rows += 1
                if errors or outcome is None:
                    report.add_errors(errors)
                elif outcome.outcome == CREATED:
                    report.created += 1
                elif outcome.outcome == UPDATED:
                    report.updated += 1
                else:
                    report.unchanged += 1
                if progress is not None:
                    progress(report.rows, table.total_hint)
        if dry_run or not (report.ok or apply_valid):
            transaction.set_rollback(True)
            return report
        if kind == "areas" and handler.written:
            geo_revision_bump()
        audit_record(
            actor=actor,
            action="registry.imported",
            target_type=kind,
            data={
                "kind": kind,
                "file": Path(file_name).name,
                "counts": report.counts(),
                "apply_valid": apply_valid,
            },
        )
        report.applied = True
    return report


def _check_permission(actor: AnyUser | None) -> None:
    # actor None: the command line without --user, whoever runs it owns the server.
    if actor is None or may_write(actor, Cap.REGISTRY_IMPORT):
        return
    raise NotPermitted(
        _("%(user)s may not import registry data (needs the registry.import capability).")
        % {"user": actor.get_username() or _("This user")},
        code="import_denied",
    )


def _check_header(spec: KindSpec, header: list[str]) -> None:
    missing = spec.missing(header)
    unknown = spec.unknown(header)
    if not missing and not unknown:
        return
    problems = []
    if missing:
        problems.append(_("required columns missing: %(cols)s") % {"cols": ", ".join(missing)})
    if unknown:
        problems.append(_("unknown columns: %(cols)s") % {"cols": ", ".join(unknown)})
    raise DomainError(
        _(
            "The header does not fit %(kind)s (%(problems)s). The columns are %(columns)s; "
            "%(required)s are required."
        )
        % {
            "kind": spec.name,
            "problems": "; ".join(problems),
            "columns": ", ".join(spec.columns),
            "required": ", ".join(c for c in spec.columns if c in spec.required),
        },
        code="bad_header",
        field="file",
    )


def _chunks(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk
