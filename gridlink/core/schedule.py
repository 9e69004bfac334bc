"""Periodic tasks: a tiny scheduler run by every worker, safe with several workers.

Each app may declare `PERIODIC = {"name": (task, timedelta)}` in its `tasks.py`; the
scheduler collects them from the installed apps, so core needs to know no other app.
Each job has a row in `PeriodicJob`. A worker claims a due job with one conditional
UPDATE (`WHERE next_run_at <= now`), which only one worker can win, then enqueues the task.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from django.apps import apps
from django.utils import timezone

from gridlink.core.models import PeriodicJob

Jobs = dict[str, tuple[Any, dt.timedelta]]


def periodic_jobs() -> Jobs:
    """Every app's `tasks.PERIODIC`, merged (names are global)."""
    jobs: Jobs = {}
    for config in apps.get_app_configs():
        if not config.name.startswith("gridlink.") or find_spec(f"{config.name}.tasks") is None:
            continue
        jobs.update(getattr(import_module(f"{config.name}.tasks"), "PERIODIC", {}))
    return jobs


def schedule_due(
    now: dt.datetime | None = None, jobs: Callable[[], Jobs] = periodic_jobs
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
