"""Deadlines on a case: stage clocks, their recomputation and the card a case should carry.

A case has at most one running stage clock (sign for, handle, verify; see the `starts_deadline`
column of the transition table). Its deadline is always recomputed from what is stored on the
case — the stage start, the sub-class's allowance, the approved extension and the
suspensions — with `gridlink.core.worktime.deadline_for`, so a corrected calendar corrects
every open deadline. The rules are written out in docs/workflow.md ("Deadlines"). The sweep
that hands out the cards is `services/sweep.py`; this module imports no other service.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.translation import gettext as _

from gridlink.cases.models import Card, Case, CaseTask, DeadlineUnit
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
    case.yellow_at = warn_at(case.stage_started_at, case.deadline_at, cal)


def warn_at(start: dt.datetime, deadline: dt.datetime, cal: WorkCalendar) -> dt.datetime:
    """When the yellow card is due for a clock from `start` to `deadline`: the warning window
    before the deadline; an allowance shorter than the window warns halfway instead."""
    warn = yellow_at(deadline_at=deadline, warn_days=settings.GRIDLINK_YELLOW_CARD_DAYS,
                     calendar=cal)  # fmt: skip
    return warn if warn > start else start + (deadline - start) / 2


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


# --- Joint-handling tasks (吹哨报到): each task's own clock ----------------------------------


def parse_allowance(raw: Any, *, field: str) -> tuple[int, str]:
    """'3d' → (3, working_days); '8h' → (8, working_hours) — a co-handler's own allowance."""
    match = _DURATION.match(str(raw)) if isinstance(raw, str | int) else None
    if match is None:
        raise DomainError(
            _("Give the time as working days or hours, e.g. '3d' or '8h'."),
            code="invalid_duration",
            field=field,
        )
    unit = DeadlineUnit.WORKING_DAYS if match.group(2) == "d" else DeadlineUnit.WORKING_HOURS
    return int(match.group(1)), unit


def task_deadline_set(
    task: CaseTask, case: Case, *, now: dt.datetime, calendar: WorkCalendar | None = None
) -> None:
    """Set `task.deadline_at` and `yellow_at` (no write): its own allowance from
    `deadline_start`, with the case's suspensions since then added, or else the lead's handle
    deadline (the case's). A moved deadline takes the card back off."""
    cal = calendar or current_calendar()
    start = task.deadline_start or now
    if task.deadline_amount is not None:
        stops = [
            (dt.datetime.fromisoformat(a), dt.datetime.fromisoformat(b))
            for a, b in case.suspensions
            if dt.datetime.fromisoformat(b) > start
        ]
        if case.suspended_at is not None:
            stops.append((case.suspended_at, max(now, case.suspended_at)))
        hours_unit = task.deadline_unit == DeadlineUnit.WORKING_HOURS
        deadline = deadline_for(
            start_at=start,
            hours=task.deadline_amount if hours_unit else None,
            days=None if hours_unit else task.deadline_amount,
            suspensions=stops,
            calendar=cal,
        )
    else:
        deadline = case.deadline_at or task.deadline_at
    if task.deadline_at != deadline:
        task.card = Card.NONE
    task.deadline_at = deadline
    task.yellow_at = warn_at(start, deadline, cal) if deadline > start else deadline


def task_card_due(task: CaseTask, now: dt.datetime) -> str:
    """The card an open task should carry at `now` (never downgrades)."""
    if now >= task.deadline_at:
        return Card.RED
    if task.yellow_at is not None and now >= task.yellow_at and task.card != Card.RED:
        return Card.YELLOW
    return task.card
