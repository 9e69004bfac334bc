"""Background tasks of the outbox, run by the database-backed worker."""

from __future__ import annotations

import datetime as dt

from django.tasks import task

from gridlink.outbox.services import deliveries_attempt, outbox_dispatch, outbox_purge


@task()
def deliver_outbox() -> dict[str, int]:
    """Fan new outbox entries out into deliveries, then try every due delivery once."""
    dispatched = outbox_dispatch()
    return {"dispatched": dispatched, **deliveries_attempt()}


@task()
def purge_outbox() -> int:
    """Delete delivered deliveries and finished entries older than 30 days."""
    return outbox_purge()


PERIODIC = {
    "deliver_outbox": (deliver_outbox, dt.timedelta(seconds=15)),
    "purge_outbox": (purge_outbox, dt.timedelta(days=1)),
}
