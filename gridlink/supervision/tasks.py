"""Background tasks of the supervision app: the overdue sweep."""

from __future__ import annotations

import datetime as dt

from django.tasks import task

from gridlink.supervision.services import orders_sweep


@task()
def sweep_supervision_orders() -> dict[str, int]:
    """Mark unanswered orders past their deadline overdue and escalate them."""
    return orders_sweep()


PERIODIC = {
    "sweep_supervision_orders": (sweep_supervision_orders, dt.timedelta(minutes=5)),
}
