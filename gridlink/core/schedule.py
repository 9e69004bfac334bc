"""Periodic tasks: a tiny scheduler run by every worker, safe with several workers.

Each job has a row in `PeriodicJob`. A worker claims a due job with one conditional
UPDATE (`WHERE next_run_at <= now`), which only one worker can win, then enqueues the task.
Later issues add their sweeps (deadlines, rollups) to `PERIODIC`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from gridlink.core.models import PeriodicJob


def _periodic() -> dict[str, tuple[Any, dt.timedelta]]:
    from gridlink.core.tasks import prune_logs, verify_logs

    return {
        "verify_logs": (verify_logs, dt.timedelta(hours=6)),
        "prune_logs": (prune_logs, dt.timedelta(days=1)),
    }


def schedule_due(
    now: dt.datetime | None = None,
    jobs: Callable[[], dict[str, tuple[Any, dt.timedelta]]] = _periodic,
) -> list[str]:
    """Enqueue every job that is due; return the names this call enqueued."""
    now = now or timezone.now()
    enqueued = []
    for name, (task, every) in jobs().items():
        PeriodicJob.objects.get_or_create(name=name, defaults={"next_run_at": now})
        claimed = PeriodicJob.objects.filter(name=name, next_run_at__lte=now).update(
            next_run_at=now + every, last_enqueued_at=now
        )
        if claimed:
            task.enqueue()
            enqueued.append(name)
    return enqueued
