"""One row through the rules that every write of registry data shares.

A file import (`importer.registry_import`) sends each row of its file through
`RowPipeline.upsert`; a record saved through the API (`records.registry_upsert`) sends its
one row. So both apply the same rules, in the same order:

1. **Scope first.** A key that belongs to a stored record outside the user's scope is
   refused before anything is parsed, compared or checked (`Handler.existing_in_scope`).
2. **Parse** each cell (`Handler.parse` with `cells.RowParser`) and **compare** with the
   stored record: a row equal to it is "unchanged" and nothing is written.
3. **Scope again**, with the row's values in place (`Handler.target_in_scope`). A refusal
   replaces every other message of the row, so it tells nothing about what is stored.
4. **Check**: the kind's cross-column rules (`Handler.check`), then the model's own
   validators and `clean()`, each message under its column.
5. **Save** the changed fields only (and the many-to-many links), in a savepoint: a
   database error becomes a message on the row, not a broken transaction.

The scope is where the user holds the capability the write needs (`lookups.Scope`):
`registry.import` for a file, `registry.edit` for a record saved through the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from gridlink.accounts.permissions import has_capability
from gridlink.registry.exchange.cells import RowErrors, RowParser
from gridlink.registry.exchange.upserts import REGISTRY_HANDLERS, Handler, Parsed
from gridlink.registry.exchange.upserts_areas import AREA_HANDLERS

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

HANDLERS: dict[str, type[Handler[Any]]] = {
    handler.kind: handler for handler in (*AREA_HANDLERS, *REGISTRY_HANDLERS)
}


def may_write(actor: AnyUser, capability: str) -> bool:
    """Whether `actor` holds `capability` anywhere; where exactly is `Scope`'s business."""
    return actor.is_active and (actor.is_superuser or has_capability(actor, capability))


@dataclass(frozen=True, slots=True)
class RowOutcome:
    outcome: str  # CREATED, UPDATED or UNCHANGED
    instance: Model
    changed: tuple[str, ...] = ()  # the columns whose values were written


class RowPipeline:
    """Upsert rows of one kind through `handler`, remembering the keys already seen."""

    def __init__(self, handler: Handler[Any]) -> None:
        self.handler = handler
        self.first_seen: dict[str, int] = {}  # key → the row it first appeared in

    def upsert(self, values: Mapping[str, str], errors: RowErrors) -> RowOutcome | None:
        """Validate one row and write it if it is new or changed.

        Returns the outcome, or None when the row has errors (in `errors`, which may hold
        messages from before: then nothing is written either).
        """
        handler = self.handler
        key = handler.key(values)
        if key:
            if key in self.first_seen:
                errors.add(
                    handler.spec.key,
                    _("%(key)s is also in row %(row)d; each may appear only once.")
                    % {"key": key, "row": self.first_seen[key]},
                    code="duplicate",
                )
                return None
            self.first_seen[key] = errors.number
        existing = handler.existing(key) if key else None
        if existing is not None and not handler.existing_in_scope(existing):
            # Before any comparison: "unchanged", or any message about the other cells, would
            # tell what the record outside the user's scope holds.
            errors.refuse(handler.scope_column, handler.scope_message())
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
                return RowOutcome(UNCHANGED, existing)
        originals = _attnames(instance, changed)
        for name in changed:
            setattr(instance, name, parser.fields[name])
        if not handler.target_in_scope(instance, changed, parser):
            # Only the refusal: other messages would differ from a refused stored record's.
            _restore(instance, originals)
            errors.refuse(handler.scope_column, handler.scope_message())
            return None
        handler.check(instance, parser)
        full_clean(handler, instance, parsed, errors)
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
        columns = dict.fromkeys([*map(handler.column_of, changed), *map(handler.column_of, m2m)])
        return RowOutcome(CREATED if existing is None else UPDATED, instance, tuple(columns))


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


def full_clean(handler: Handler[Any], instance: Model, parsed: Parsed, errors: RowErrors) -> None:
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
        for name, problems in exc.error_dict.items():
            column = "*" if name == NON_FIELD_ERRORS else handler.column_of(name)
            if column in reported:
                continue  # the cell's own parse error already says what is wrong
            for problem in problems:
                for message in problem.messages:
                    errors.add(column, message, code=problem.code or "invalid")
