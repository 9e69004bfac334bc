"""How a case gets its supervision order (督办单) without the cases app importing supervision.

Putting a case under supervision is one transition (`supervise`), whose effect is the only
writer of `Case.supervised`. Unless the transition is itself the consequence of an order
(the supervision service passes `order_code`), the effect asks the opener registered here
to open the order — the same service a supervisor's manual order goes through. The
supervision app registers its opener in `AppConfig.ready()` (dependencies point one way:
supervision imports cases, never the reverse).

Triggers (`Trigger`): a supervisor's manual `supervise` action, and the automatic ones —
dissatisfied twice, three failed verifications, an overdue case under the overdue policy.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Protocol

from gridlink.cases.workflow_table import Trigger

if TYPE_CHECKING:
    from gridlink.accounts.models import User
    from gridlink.cases.models import Case
    from gridlink.core.worktime import WorkCalendar


class OrderOpener(Protocol):
    def __call__(
        self,
        *,
        case: Case,
        actor: User | None,
        trigger: str,
        reason: str,
        now: dt.datetime,
        calendar: WorkCalendar | None,
    ) -> str:
        """Open the order on the (locked) `case`; return its code."""
        ...


ORDER_OPENERS: list[OrderOpener] = []

__all__ = ["ORDER_OPENERS", "OrderOpener", "Trigger"]
