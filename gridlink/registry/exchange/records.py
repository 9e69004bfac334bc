"""Save one registry record — a building, household, resident or organisation — as one row
of an import: the JSON API's create and update.

`registry_upsert` turns the values it is given into the text cells of one row and sends it
through the import's row pipeline (`rows.RowPipeline`): the same parsing of each value,
the same checks, the same natural key, the same scope rule. Two things differ from a file:

- the scope is where the actor holds `registry.edit` (not `registry.import`), over the
  record's grid before and after the change;
- every problem is raised at once, as `InvalidFields` (400), or as `OutOfScope` (403) —
  and then nothing at all is written;
- a create checks its values **first**, on their own (`_values_checked`), and only then
  looks at what is stored: an invalid record is a 400 whether or not its natural key belongs
  to a record outside the caller's scope, so a probe learns nothing from bad values. A valid
  create refused as outside the scope (which may mean the key is stored elsewhere) is
  recorded in the audit log (`registry.create_refused`) and counted per caller: beyond
  `GRIDLINK_REGISTRY_REFUSALS_PER_HOUR` such refusals the caller gets 429 instead.

Values are what a JSON body holds: text (as in a file's cell), a number, a list of codes
for a list column (`tags`), or null for a blank cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Model
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from gridlink.accounts.roles import Cap
from gridlink.core.audit import audit_record
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.core.ratelimit import RateLimited, client_key, rate_hit, rate_peek
from gridlink.registry.exchange.cells import LIST_SEPARATORS, RowErrors, RowParser
from gridlink.registry.exchange.kinds import KindSpec, kind_spec
from gridlink.registry.exchange.lookups import AreaIndex, Scope
from gridlink.registry.exchange.readers import NUL, cell_text, nul_message
from gridlink.registry.exchange.rows import (
    CREATED,
    HANDLERS,
    UNCHANGED,
    RowOutcome,
    RowPipeline,
    full_clean,
    may_write,
)
from gridlink.registry.exchange.upserts import Handler

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser

# The kinds saved one record at a time; areas and departments are reference data, imported.
RECORD_KINDS = ("buildings", "households", "residents", "organisations")
MAX_VALUE_CHARS = 1_000  # no column of these kinds takes more than 200 characters
MAX_LIST_ITEMS = 100


@dataclass(frozen=True, slots=True)
class UpsertResult:
    outcome: str  # "created", "updated" or "unchanged"
    instance: Model
    changed: tuple[str, ...]  # the columns written (none when unchanged)

    @property
    def created(self) -> bool:
        return self.outcome == CREATED


class InvalidFields(DomainError):
    """Every problem with a record's values, each under its column.

    `errors` lists them as `{"code", "field", "message"}` (field None for the record as a
    whole); `as_dict()` is the first, for a caller that shows one.
    """

    status = 400

    def __init__(self, errors: list[dict[str, str | None]]) -> None:
        fields = list(dict.fromkeys(e["field"] or "*" for e in errors))
        super().__init__(
            ngettext(
                "%(n)d field is invalid: %(fields)s.",
                "%(n)d fields are invalid: %(fields)s.",
                len(fields),
            )
            % {"n": len(fields), "fields": ", ".join(fields)},
            code="invalid_fields",
        )
        self.errors = errors

    def as_dict(self) -> dict[str, str | None]:
        return dict(self.errors[0])


class OutOfScope(NotPermitted):
    """The record lies outside the actor's `registry.edit` scope — stored there, or to be
    put there. The same words either way, so a refusal tells nothing about stored records."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, code="out_of_scope", field=field)


class RecordNotFound(DomainError):
    status = 404


def registry_upsert(
    *,
    actor: AnyUser | None,
    kind: str,
    values: Mapping[str, object],
    key: str | None = None,
    ip: str | None = None,
) -> UpsertResult:
    """Create or update one `kind` record from `values` (column → value), in one transaction.

    Without `key`: create the record, or update the one with the natural key the values
    give; the kind's required columns must all be given, as a file's header must have them.
    With `key` (the natural key of a stored record): update that record; columns left out
    keep their values, and the natural key may not change.

    `actor` must hold `registry.edit` over the record's grid, before and after the change
    (None: a trusted caller, such as a command or the demo seed). A write records one audit
    entry `registry.record_saved` with the outcome and the names of the changed columns —
    never their values. "Unchanged" writes nothing, the audit entry neither.

    Raises `NotPermitted` when the actor may edit nowhere, `OutOfScope` outside its scope,
    `RecordNotFound` for an unknown `key`, `InvalidFields` with every problem of the values.
    """
    spec = kind_spec(kind)
    if kind not in RECORD_KINDS:
        raise DomainError(
            _("Only %(kinds)s are saved one at a time; import %(kind)s from a file.")
            % {"kinds": ", ".join(RECORD_KINDS), "kind": kind},
            code="unknown_kind",
            field="kind",
        )
    if actor is not None and not may_write(actor, Cap.REGISTRY_EDIT):
        raise NotPermitted(
            _("You may not edit registry data (needs the registry.edit capability)."),
            code="edit_denied",
        )
    errors = RowErrors(1)
    cells = _cells(spec, values, errors)
    if key is None:
        for column in spec.missing(values):
            errors.add(column, _("A value is required."), code="required")
    if actor is not None and key is None:
        wait = rate_peek("registry.refusal", client=client_key(actor=actor))
        if wait is not None:
            raise RateLimited(wait)
    try:
        outcome = _upsert(actor, kind, spec, cells, errors, key, ip)
    except OutOfScope as refusal:
        if key is None and actor is not None:
            _create_refused(actor, kind, refusal, ip)
        raise
    return UpsertResult(outcome.outcome, outcome.instance, outcome.changed)


def _upsert(
    actor: AnyUser | None,
    kind: str,
    spec: KindSpec,
    cells: dict[str, str],
    errors: RowErrors,
    key: str | None,
    ip: str | None,
) -> RowOutcome:
    with transaction.atomic():
        handler = HANDLERS[kind](
            scope=Scope(actor, Cap.REGISTRY_EDIT), areas=AreaIndex(complete=False)
        )
        handler.lock = True
        if key is not None:
            key = handler.key({spec.key: key})
            if spec.key in cells and handler.key(cells) != key:
                errors.add(
                    spec.key,
                    _("%(column)s identifies the record and cannot change.") % {"column": spec.key},
                    code="key_changed",
                )
            cells[spec.key] = key
        lookup_key = handler.key(cells)
        handler.prefetch({lookup_key} if lookup_key and NUL not in lookup_key else set(), [cells])
        if key is None:
            # The values first, on their own: the same answer whether or not the key is stored.
            _values_checked(handler, cells, errors)
            if errors:
                raise InvalidFields(_as_dicts(errors))
        if key is not None and handler.existing(key) is None:
            raise RecordNotFound(
                _("No record has this %(column)s.") % {"column": spec.key},
                code="not_found",
                field=spec.key,
            )
        outcome = RowPipeline(handler).upsert(cells, errors)
        if errors.refused:
            [(column, [message])] = errors.by_column.items()
            raise OutOfScope(message, field=column)
        if errors or outcome is None:
            raise InvalidFields(_as_dicts(errors))
        if outcome.outcome != UNCHANGED:
            audit_record(
                actor=actor,
                action="registry.record_saved",
                target_type=kind,
                target_id=outcome.instance.pk,
                data={"outcome": outcome.outcome, "fields": list(outcome.changed)},
                ip=ip,
            )
    return outcome


def _values_checked(handler: Handler[Any], cells: dict[str, str], errors: RowErrors) -> None:
    """Parse and check a new record's values on a fresh instance, without looking at any
    stored record of that key; every problem goes to `errors`."""
    parser = RowParser(cells, errors)
    parsed = handler.parse(parser, None)
    instance = handler.model()
    for name, value in parser.fields.items():
        setattr(instance, name, value)
    handler.check(instance, parser)
    full_clean(handler, instance, parsed, errors)


def _create_refused(actor: AnyUser, kind: str, refusal: OutOfScope, ip: str | None) -> None:
    """Log a create refused as outside the scope and count it (429 beyond the limit)."""
    audit_record(
        actor=actor,
        action="registry.create_refused",
        target_type=kind,
        data={"field": refusal.field},
        ip=ip,
        outcome="refused",
    )
    rate_hit("registry.refusal", client=client_key(actor=actor))


def _cells(spec: KindSpec, values: Mapping[str, object], errors: RowErrors) -> dict[str, str]:
    """The text cells of the row `values` make; what cannot be one is reported instead."""
    for column in spec.unknown(values):
        errors.add(
            column,
            _("%(kind)s have no column %(column)r; they have %(columns)s.")
            % {"kind": spec.name, "column": column, "columns": ", ".join(spec.columns)},
            code="unknown_column",
        )
    cells: dict[str, str] = {}
    for column in spec.columns:
        if column not in values:
            continue
        text = _cell(spec, column, values[column], errors)
        if text is not None:
            cells[column] = text
    return cells


def _cell(spec: KindSpec, column: str, value: object, errors: RowErrors) -> str | None:
    if value is None:
        return ""  # a blank cell: empties the field, keeps its default, or is required
    if isinstance(value, list) and column in spec.lists:
        return _list_cell(column, value, errors)
    if isinstance(value, str):
        return _checked(column, value.strip(), errors)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _checked(column, cell_text(value), errors)
    expected = _("a list of codes, or text") if column in spec.lists else _("text or a number")
    errors.add(column, _("Give %(what)s here.") % {"what": expected}, code="wrong_type")
    return None


def _list_cell(column: str, items: list[object], errors: RowErrors) -> str | None:
    """['a', 'b'] → 'a; b', the text of a list cell; None (and a message) if it can't be."""
    if len(items) > MAX_LIST_ITEMS:
        errors.add(
            column,
            _("At most %(n)d items are accepted here.") % {"n": MAX_LIST_ITEMS},
            code="too_long",
        )
        return None
    codes = [item.strip() for item in items if isinstance(item, str)]
    if len(codes) != len(items) or any(LIST_SEPARATORS.search(code) for code in codes):
        errors.add(column, _("Give each code as text, without semicolons."), code="wrong_type")
        return None
    return _checked(column, "; ".join(codes), errors)


def _checked(column: str, text: str, errors: RowErrors) -> str | None:
    """`text`, unless it holds a NUL or is too long to be any column's value."""
    if NUL in text:
        errors.add(column, nul_message(), code="nul")
        return None
    if len(text) > MAX_VALUE_CHARS:
        errors.add(
            column,
            _("At most %(n)d characters are accepted here.") % {"n": MAX_VALUE_CHARS},
            code="too_long",
        )
        return None
    return text


def _as_dicts(errors: RowErrors) -> list[dict[str, str | None]]:
    return [
        {
            "code": errors.code(column, message),
            "field": None if column == "*" else column,
            "message": message,
        }
        for column, messages in errors.by_column.items()
        for message in messages
    ]
