"""The 12345 hotline: a work order entered by the hotline operator (工单录入).

`hotline_order_enter` is what the operator's entry page does (and the demo seed, so the demo
has orders entered the same way): the order becomes a case through `case_create` on the
hotline channel — the 12345 order number entered once becomes the case's `external_number`
and fills the sub-class's `hotline_order_no` attribute (`CHANNEL_RULES`), and a number
already entered is refused. Then, where the district lets the operator dispatch
(`GRIDLINK_HOTLINE_DISPATCH=operator`, `permissions.operator_dispatches`), the operator
accepts and files the order at once, so it waits for their dispatch on the case page;
otherwise it waits in the dispatcher's intake queue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone

from gridlink.cases.models import Case, Channel
from gridlink.cases.permissions import operator_dispatches
from gridlink.cases.services.intake import Report, case_create
from gridlink.cases.services.transitions import case_transition
from gridlink.cases.workflow import Action
from gridlink.core.errors import DomainError

if TYPE_CHECKING:
    from gridlink.accounts.models import User
    from gridlink.core.worktime import WorkCalendar


@dataclass
class HotlineOrder:
    """What the operator takes down from the call. Exactly one of (lat, lon) or address."""

    order_number: str  # the 12345 work-order number (工单号)
    category_code: str
    description: str
    caller_name: str = ""
    caller_phone: str = ""
    lat: float | None = None
    lon: float | None = None
    address: str = ""
    attributes: dict[str, object] | None = None
    photo_keys: list[str] | None = None

    def report(self) -> Report:
        return Report(
            channel=Channel.HOTLINE,
            category_code=self.category_code,
            description=self.description,
            lat=self.lat,
            lon=self.lon,
            address=self.address,
            attributes=dict(self.attributes or {}),
            photo_keys=list(self.photo_keys or []),
            external_number=self.order_number.strip(),
            reporter_name=self.caller_name.strip(),
            reporter_phone=self.caller_phone.strip(),
        )


@dataclass
class Entered:
    case: Case
    # Why the operator's accept/file step did not happen (the order then waits for the
    # dispatcher); empty when it did or was not due.
    note: str = ""


def hotline_order_enter(
    *,
    actor: User,
    order: HotlineOrder,
    ip: str | None = None,
    now: dt.datetime | None = None,
    calendar: WorkCalendar | None = None,
) -> Entered:
    """Enter a 12345 order as `actor` (a hotline operator over the place); see the module
    docstring. Refusals of the order itself are `case_create`'s (nothing written)."""
    now = now or timezone.now()
    case = case_create(actor=actor, report=order.report(), ip=ip, now=now).case
    if not operator_dispatches(case):
        return Entered(case)
    try:
        for action in (Action.ACCEPT, Action.FILE):
            case = case_transition(actor=actor, case_id=case.pk, action=action,
                                   version=case.version, now=now, calendar=calendar)  # fmt: skip
    except DomainError as exc:  # the order stands; the dispatcher takes it from here
        case.refresh_from_db()
        return Entered(case, note=exc.message)
    return Entered(case)
