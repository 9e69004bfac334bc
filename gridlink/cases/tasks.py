"""Background tasks of the cases app: the deadline sweep and the purge of unclaimed photos."""

from __future__ import annotations

import datetime as dt

from django.tasks import task

from gridlink.cases.services.intake import photos_purge_unattached
from gridlink.cases.services.sweep import deadline_sweep


@task()
def sweep_deadlines() -> dict[str, int]:
    """Yellow and red cards; escalate or supervise overdue cases (docs/workflow.md)."""
    return deadline_sweep().as_dict()


@task()
def purge_unclaimed_photos() -> int:
    """Delete uploaded photos that no report or result claimed within a day."""
    return photos_purge_unattached()


PERIODIC = {
    "sweep_deadlines": (sweep_deadlines, dt.timedelta(minutes=1)),
    "purge_unclaimed_photos": (purge_unclaimed_photos, dt.timedelta(hours=1)),
}
