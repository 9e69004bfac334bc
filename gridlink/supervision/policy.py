"""Supervision policy as data: what an automatic order says and how long the unit has, and
where an overdue order escalates to.

Automatic orders (`AUTOMATIC`): one row per trigger — the deadline in working days, the
level and the instructions. A district changes its policy here, in one table.

Escalation (`escalation_target`) follows the ladder one rung at a time, starting above the
accountable unit and going on from the previous escalation: grid → community → street →
district; a street station → its parent district department; a district department or a
street office → the district command centre. At the top (the district, the command centre)
the order stays there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from gridlink.cases.workflow_table import Trigger
from gridlink.geo.models import Area, Department, DepartmentKind, Level
from gridlink.supervision.models import OrderLevel


@dataclass(frozen=True)
class AutomaticOrder:
    deadline_days: int
    level: str
    instructions: Any  # a lazy translation


AUTOMATIC: dict[str, AutomaticOrder] = {
    Trigger.MANUAL: AutomaticOrder(
        3, OrderLevel.NORMAL, _("Supervision of the case: report the handling and its result.")
    ),
    Trigger.DISSATISFIED_TWICE: AutomaticOrder(
        3,
        OrderLevel.URGENT,
        _(
            "The reporter was dissatisfied twice. Contact the reporter, solve the problem and "
            "report how it was solved."
        ),
    ),
    Trigger.VERIFICATION_FAILED: AutomaticOrder(
        3,
        OrderLevel.URGENT,
        _(
            "The result failed on-site verification three times. Find the cause, fix it and "
            "report the corrective measures."
        ),
    ),
    Trigger.OVERDUE: AutomaticOrder(
        2,
        OrderLevel.NORMAL,
        _("The case is overdue. Finish handling it and report the reason for the delay."),
    ),
}


def automatic_order(trigger: str) -> AutomaticOrder:
    """The policy row for `trigger` (an unknown trigger is a programming error)."""
    return AUTOMATIC[trigger]


def escalation_target(
    *, department: Department | None, area: Area | None
) -> tuple[Department | None, Area | None]:
    """The unit one rung above (`department` or `area`); the same unit at the top."""
    if area is not None:
        if area.level <= Level.DISTRICT or area.parent is None:
            return None, area
        return None, area.parent
    if department is None:
        return None, None
    if department.parent is not None:
        return department.parent, None
    if department.kind == DepartmentKind.COMMAND_CENTRE:
        return department, None
    centre = (
        Department.objects.filter(kind=DepartmentKind.COMMAND_CENTRE, active=True)
        .order_by("code")
        .first()
    )
    return (centre or department), None
