"""Deadlines on a case, and the sweep that hands out yellow and red cards.

A case has at most one running stage clock (sign for, handle, verify; see the `starts_deadline`
column of the transition table). Its deadline is always recomputed from what is stored on the
case — the stage start, the sub-class's allowance, the approved extension and the
suspensions — with `gridlink.core.worktime.deadline_for`, so a corrected calendar corrects
every open deadline. The rules are written out in docs/workflow.md ("Deadlines").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gridlink.cases.models import Card, Case, DeadlineUnit
from gridlink.core.errors import DomainError
from gridlink.core.worktime import WorkCalendar, current_calendar, deadline_for, yellow_at

if TYPE_CHECKING:
    from gridlink.cases.workflow import Stage

_DURATION = re.compile(r"^\s*([1-9][0-9]{0,2})\s*([hd])\s*$")
# The longest extension one request may ask for.
EXTENSION_MAX = {DeadlineUnit.WORKING_HOURS: 80, DeadlineUnit.WORKING_DAYS: 15}


def parse_duration(raw: Any, *, field: str = "duration") -> tuple[int, str]:
    """'7d' → (7, working_days); '4h' → (4, working_hours); otherwise a field error."""
    match = _DURATION.match(str(raw)) if isinstance(raw, str | int) else None
    if match is None:
        raise DomainError(
            _("Give the duration as working days or hours, e.g. '7d' or '4h'."),
            code="invalid_duration",
            field=field,
        )
    amount = int(match.group(1))
    unit = DeadlineUnit.WORKING_DAYS if match.group(2) == "d" else DeadlineUnit.WORKING_HOURS
    if amount > EXTENSION_MAX[unit]:
        raise DomainError(
            _("An extension may add at most %(max)s %(unit)s.")
            % {"max": EXTENSION_MAX[unit], "unit": unit.label},
            code="too_long",
            field=field,
        )
    return amount, unit


def _stamp(at: dt.datetime) -> str:
    return at.isoformat()


def stage_start(case: Case, stage: Stage, now: dt.datetime, cal: WorkCalendar | None) -> None:
    """Start the clock of `stage` at `now` with the sub-class's allowance (no write)."""
    category = case.category
    amount = getattr(category, f"{stage}_amount", None)
    unit = getattr(category, f"{stage}_unit", "") or ""
    case.stage = stage
    case.stage_started_at = now
    case.stage_amount = amount
    case.stage_unit = unit
    case.extension_amount = 0
    case.extension_unit = ""
    case.suspended_at = None
    case.suspensions = []
    case.card = Card.NONE
    deadline_recompute(case, now=now, calendar=cal)


def stage_clear(case: Case) -> None:
    case.stage = ""
    case.stage_started_at = None
    case.stage_amount = None
    case.stage_unit = ""
    case.extension_amount = 0
    case.extension_unit = ""
    case.suspended_at = None
    case.suspensions = []
    case.deadline_at = None
    case.yellow_at = None
    case.card = Card.NONE


def deadline_recompute(
    case: Case, *, now: dt.datetime, calendar: WorkCalendar | None = None
) -> None:
    """Set `deadline_at` and `yellow_at` from the stage fields (no write)."""
    if not case.stage or case.stage_started_at is None or not case.stage_amount:
        case.deadline_at = None
        case.yellow_at = None
        return
    cal = calendar or current_calendar()
    stops = [
        (dt.datetime.fromisoformat(a), dt.datetime.fromisoformat(b)) for a, b in case.suspensions
    ]
    if case.suspended_at is not None:  # still suspended: count the pause so far
        stops.append((case.suspended_at, max(now, case.suspended_at)))
    hours_unit = case.stage_unit == DeadlineUnit.WORKING_HOURS
    extra_days = case.extension_amount if case.extension_unit == DeadlineUnit.WORKING_DAYS else 0
    extra_hours = case.extension_amount if case.extension_unit == DeadlineUnit.WORKING_HOURS else 0
    case.deadline_at = deadline_for(
        start_at=case.stage_started_at,
        hours=case.stage_amount if hours_unit else None,
        days=None if hours_unit else case.stage_amount,
        extra_days=extra_days,
        extra_hours=extra_hours,
        suspensions=stops,
        calendar=cal,
    )
    warn = yellow_at(
        deadline_at=case.deadline_at, warn_days=settings.GRIDLINK_YELLOW_CARD_DAYS, calendar=cal
    )
    # An allowance shorter than the warning window warns halfway instead of at once.
    start = case.stage_started_at
    case.yellow_at = warn if warn > start else start + (case.deadline_at - start) / 2


def suspension_end(case: Case, now: dt.datetime) -> None:
    """Close the running suspension (resume): its span joins `suspensions`."""
    if case.suspended_at is not None:
        case.suspensions = [*case.suspensions, [_stamp(case.suspended_at), _stamp(now)]]
        case.suspended_at = None


def card_due(case: Case, now: dt.datetime) -> str:
    """The card the case should carry at `now` (never downgrades within a stage)."""
    if case.deadline_at is None or case.suspended_at is not None:
        return case.card
    if now >= case.deadline_at:
        return Card.RED
    if case.yellow_at is not None and now >= case.yellow_at and case.card != Card.RED:
        return Card.YELLOW
    return case.card


# --- The sweep --------------------------------------------------------------------------------


@dataclass
class SweepResult:
    yellow: int = 0
    red: int = 0
    escalated: int = 0
    supervised: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"yellow": self.yellow, "red": self.red, "escalated": self.escalated,
                "supervised": self.supervised}  # fmt: skip


def deadline_sweep(*, now: dt.datetime | None = None, limit: int = 1000) -> SweepResult:
    """Hand out yellow and red cards and apply the overdue policy, one case per transaction.

    Idempotent: a card is only ever raised (none → yellow → red) within a stage, and the
    escalation that follows a red card starts a new stage with a later deadline; so a second
    run at the same moment finds nothing to do. The policy (`GRIDLINK_OVERDUE_POLICY`):
    `escalate` moves an overdue case one rung up the ladder when its state allows escalation
    and it is not at the top — otherwise, and under `supervise`, it is put under supervision
    (a supervision order with reason `overdue`, see `effects.supervise_automatically`).
    """
    now = now or timezone.now()
    cal = current_calendar()
    result = SweepResult()
    due = (
        Case.objects.open()
        .filter(deadline_at__isnull=False, suspended_at__isnull=True)
        .filter(
            Q(deadline_at__lte=now, card__in=[Card.NONE, Card.YELLOW])
            | Q(yellow_at__lte=now, card=Card.NONE)
        )
        .order_by("deadline_at")
        .values_list("pk", flat=True)[:limit]
    )
    for case_id in list(due):
        outcome = _sweep_one(case_id, now, cal)
        for name in outcome:
            setattr(result, name, getattr(result, name) + 1)
    return result


def _sweep_one(case_id: int, now: dt.datetime, cal: WorkCalendar) -> list[str]:
    from gridlink.cases.services.events import event_record
    from gridlink.cases.services.transitions import case_transition
    from gridlink.cases.workflow import Action

    done: list[str] = []
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("grid", "category", "unit_department", "unit_area")
            .filter(pk=case_id)
            .first()
        )
        if case is None or not case.is_open:
            return done
        card = card_due(case, now)
        if card == case.card:
            return done
        case.card = card
        case.version += 1
        case.save(update_fields=["card", "version", "updated_at"])
        data = {"stage": case.stage, "deadline_at": case.deadline_at.isoformat()
                if case.deadline_at else None}  # fmt: skip
        event_record(case=case, kind=f"{card}_card", actor=None, actor_role="system", at=now,
                     data=data, public=False)  # fmt: skip
        done.append(str(card))
        if card != Card.RED:
            return done
        policy = settings.GRIDLINK_OVERDUE_POLICY
        reason = _("Overdue: the %(stage)s deadline has passed.") % {"stage": case.stage}
        if policy == "escalate" and _may_escalate(case):
            case_transition(actor=None, case_id=case.pk, action=Action.ESCALATE, version=None,
                            inputs={"reason": reason}, system=True, now=now,
                            calendar=cal)  # fmt: skip
            done.append("escalated")
        elif not case.supervised:
            from gridlink.cases.services.effects import supervise_automatically
            from gridlink.cases.services.supervision_hook import Trigger

            supervise_automatically(case, trigger=Trigger.OVERDUE, reason=reason, now=now,
                                    calendar=cal)  # fmt: skip
            done.append("supervised")
    return done


def _may_escalate(case: Case) -> bool:
    from gridlink.cases.services.effects import ladder_up
    from gridlink.cases.workflow import Action, transition_for

    try:
        transition_for(case.state, Action.ESCALATE)
        ladder_up(case)
    except DomainError:
        return False
    return True
