"""Import a CSV/XLSX file of one kind of registry data: validate every row, upsert on the
natural key, and report per row.

The whole import runs in one transaction. Rows are written as they pass, so a later row can
refer to an earlier one (a child area after its parent); at the end the transaction is rolled
back when it was a dry run, or when some row failed and the caller did not ask to apply the
valid rows. A row whose values equal the stored ones is "unchanged" and not written.

Scope comes first: a row whose key belongs to a stored record outside the importing user's
scope is refused before anything is compared or checked, with the same words as any other
out-of-scope row, so an import cannot tell what is stored outside the user's area.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Model
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from gridlink.accounts.permissions import has_capability
from gridlink.accounts.roles import Cap
from gridlink.core.audit import audit_record
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.geo.services import geo_revision_bump
from gridlink.registry.exchange.cells import RowErrors, RowParser
from gridlink.registry.exchange.kinds import KindSpec, kind_spec
from gridlink.registry.exchange.lookups import AreaIndex, Scope
from gridlink.registry.exchange.readers import NUL, SourceRow, read_table
from gridlink.registry.exchange.upserts import REGISTRY_HANDLERS, Handler, Parsed
from gridlink.registry.exchange.upserts_areas import AREA_HANDLERS

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser

CHUNK_ROWS = 500
MAX_LISTED_ERRORS = 10_000

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

HANDLERS: dict[str, type[Handler[Any]]] = {
    handler.kind: handler for handler in (*AREA_HANDLERS, *REGISTRY_HANDLERS)
}


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
        handler = HANDLERS[kind](scope=Scope(actor), areas=AreaIndex())
        first_seen: dict[str, int] = {}
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
                    outcome = _upsert_row(handler, values[row.number], errors, first_seen)
                report.rows += 1
                if errors:
                    report.add_errors(errors)
                elif outcome == CREATED:
                    report.created += 1
                elif outcome == UPDATED:
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
    if actor is None:
        return  # the command line without --user: whoever runs it owns the server
    if actor.is_active and (actor.is_superuser or has_capability(actor, Cap.REGISTRY_IMPORT)):
        return
    raise NotPermitted(
        _("%(user)s may not import registry data (needs the registry.import capability).")
        % {"user": actor.get_username() or _("This user")},
        code="import_denied",
    )


def _check_header(spec: KindSpec, header: list[str]) -> None:
    missing = [c for c in spec.columns if c in spec.required and c not in header]
    unknown = [c for c in header if c not in spec.columns]
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


def _upsert_row(
    handler: Handler[Any], values: dict[str, str], errors: RowErrors, first_seen: dict[str, int]
) -> str | None:
    """Validate one row and write it if it is new or changed; return the outcome or None."""
    key = handler.key(values)
    if key:
        if key in first_seen:
            errors.add(
                handler.spec.key,
                _("%(key)s is also in row %(row)d; each may appear only once.")
                % {"key": key, "row": first_seen[key]},
            )
            return None
        first_seen[key] = errors.number
    existing = handler.existing(key) if key else None
    if existing is not None and not handler.existing_in_scope(existing):
        # Before any comparison: "unchanged", or any message about the other cells, would
        # tell what the record outside the user's scope holds.
        errors.only(handler.scope_column, handler.scope_message())
        return None
    parser = RowParser(values, errors)
    parsed = handler.parse(parser, existing)

    instance = existing if existing is not None else handler.model()
    if existing is None:
        changed = list(parser.fields)
        m2m = {name: ids for name, ids in parsed.m2m.items() if ids}
    else:
        changed = [n for n, v in parser.fields.items() if not _same(existing, n, v)]
        m2m = {
            name: ids
            for name, ids in parsed.m2m.items()
            if handler.m2m_current(existing, name) != ids
        }
        if not changed and not m2m and not errors:
            return UNCHANGED
    originals = _attnames(instance, changed)
    for name in changed:
        setattr(instance, name, parser.fields[name])
    if not handler.target_in_scope(instance, changed, parser):
        # Only the refusal: other messages would differ from a refused stored record's.
        _restore(instance, originals)
        errors.only(handler.scope_column, handler.scope_message())
        return None
    handler.check(instance, parser)
    _full_clean(handler, instance, parsed, errors)
    if errors:
        _restore(instance, originals)
        return None
    try:
        with transaction.atomic():
            if existing is None:
                instance.save()
            elif changed:
                instance.save(update_fields=[*changed, *handler.always_update])
            handler.saved(instance, m2m)
    except DatabaseError as exc:
        errors.add("*", _("The row could not be saved: %(error)s") % {"error": exc})
        _restore(instance, originals)
        return None
    return CREATED if existing is None else UPDATED


def _same(instance: Model, name: str, value: Any) -> bool:
    model_field = instance._meta.get_field(name)
    if model_field.many_to_one:
        new_id = value.pk if value is not None else None
        return bool(getattr(instance, model_field.attname) == new_id)  # type: ignore[union-attr]
    return bool(getattr(instance, name) == value)


def _attnames(instance: Model, names: list[str]) -> dict[str, Any]:
    """The stored values of `names` (by attname, so no related row is fetched)."""
    if instance.pk is None:
        return {}
    attnames = [instance._meta.get_field(n).attname for n in names]  # type: ignore[union-attr]
    return {a: getattr(instance, a) for a in attnames}


def _restore(instance: Model, originals: dict[str, Any]) -> None:
    """Put back the values a failed row set, so cached instances stay true to the database."""
    for attname, value in originals.items():
        setattr(instance, attname, value)


def _full_clean(handler: Handler[Any], instance: Model, parsed: Parsed, errors: RowErrors) -> None:
    """Run the model's validators and clean(), reporting each message under its column."""
    reported = set(errors.by_column)
    exclude = set(handler.resolved) | parsed.exclude
    exclude |= {
        f.name for f in instance._meta.concrete_fields if handler.column_of(f.name) in reported
    }
    try:
        if handler.can_run_model_clean(instance):
            instance.full_clean(exclude=exclude, validate_unique=False)
        else:
            instance.clean_fields(exclude=exclude)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            column = "*" if name == NON_FIELD_ERRORS else handler.column_of(name)
            if column in reported:
                continue  # the cell's own parse error already says what is wrong
            for message in messages:
                errors.add(column, message)
