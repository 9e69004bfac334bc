"""The 12345 hotline: a work order entered by the hotline operator (工单录入).

`hotline_order_enter` is what the operator's entry page does (and the demo seed, so the demo
has orders entered the same way): the order becomes a case through `case_create` on the
hotline channel — the 12345 order number entered once becomes the case's `external_number`
and fills the sub-class's `hotline_order_no` attribute (`CHANNEL_RULES`), and a number
already entered is refused. The order is then `reported`: it waits in the dispatcher's
intake queue, and where the district lets the operator dispatch
(`GRIDLINK_HOTLINE_DISPATCH=operator`, `permissions.operator_dispatches`) the operator may
accept, file and dispatch it on the case page with the ordinary actions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gridlink.cases.models import Case, Channel
from gridlink.cases.services.intake import Report, case_create

if TYPE_CHECKING:
    from gridlink.accounts.models import User


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


def hotline_order_enter(
    *,
    actor: User,
    order: HotlineOrder,
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Enter a 12345 order as `actor` (a hotline operator over the place): a case in state
    `reported`. Every refusal is `case_create`'s, before anything is written."""
    return case_create(actor=actor, report=order.report(), ip=ip, now=now).case
