"""The reference data every test database holds: the shipped taxonomy and the calendar.

`ensure_reference_data()` loads what is missing and does nothing when it is all there. The
session-level `django_db_setup` in `tests/conftest.py` calls it once per test database;
`build_world` and the transactional-test fixture call it again after a flush emptied the
tables. Loading goes through the same functions an operator uses (`taxonomy_load`,
`gridlink calendar seed`).

The logs are left as they were before loading (empty, with their heads as `migrate` made
them): tests of the audit chain count and number entries from the first one they write.
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.core.management import call_command
from django.db import connection, transaction

from gridlink.cases.models import TaxonomyVersion
from gridlink.cases.services import SHIPPED_TAXONOMY, taxonomy_load
from gridlink.cases.services.taxonomy import read_taxonomy_file
from gridlink.core.models import CalendarDay

CALENDAR_YEARS = "2026"


@functools.cache
def shipped_taxonomy_digest() -> str:
    """The content digest of the shipped taxonomy file (read once per process)."""
    return read_taxonomy_file(SHIPPED_TAXONOMY).sha256()


def ensure_taxonomy() -> None:
    published = TaxonomyVersion.objects.filter(
        content_sha256=shipped_taxonomy_digest(), published_at__isnull=False
    )
    if not published.exists():
        taxonomy_load(actor=None, path=SHIPPED_TAXONOMY, publish=True)


def ensure_calendar() -> None:
    if not CalendarDay.objects.filter(date__year=int(CALENDAR_YEARS)).exists():
        call_command("calendar", "seed", "--years", CALENDAR_YEARS, stdout=io.StringIO())


def ensure_reference_data() -> None:
    with logs_untouched():
        ensure_taxonomy()
        ensure_calendar()


# The append-only logs and their heads; PruneRecord only where the ledger has it.
LOG_MODELS = ("AuditEvent", "AccessRecord", "ChainHead", "PruneRecord")


def _guards_lifted() -> contextlib.AbstractContextManager[None]:
    """The log tables' append-only database guard lifted, where the ledger has one."""
    try:
        from gridlink.core.guards import log_guards_lifted  # type: ignore[import-not-found]  # only once the guard exists
    except ImportError:
        return contextlib.nullcontext()
    return log_guards_lifted(connection)  # type: ignore[no-any-return]  # typed in its module


@contextlib.contextmanager
def logs_untouched() -> Iterator[None]:
    """Put the log tables back as they were: remove the entries written inside and restore
    the chain heads' values (loading reference data is setup, not what a test audits)."""
    models = [m for m in apps.get_app_config("core").get_models() if m.__name__ in LOG_MODELS]
    before = {m: list(m._base_manager.all()) for m in models}
    yield
    if all(m._base_manager.count() == len(rows) for m, rows in before.items()):
        return  # nothing was written (the data was already there)
    heads = apps.get_model("core", "ChainHead")
    with transaction.atomic(), _guards_lifted():
        for model, rows in before.items():
            model._base_manager.exclude(pk__in=[r.pk for r in rows]).delete()
        for row in before[heads]:
            values = {
                f.attname: getattr(row, f.attname)
                for f in heads._meta.concrete_fields
                if not f.primary_key
            }
            heads._base_manager.filter(pk=row.pk).update(**values)


def is_transactional(request: Any) -> bool:
    """Whether the test runs as a TransactionTestCase (its tables are flushed afterwards);
    `request` is a fixture request or the test item itself."""
    marker = getattr(request, "node", request).get_closest_marker("django_db")
    if marker is not None and (
        marker.kwargs.get("transaction") or (marker.args and marker.args[0])
    ):
        return True
    return "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
