"""Multi-phase handling deadlines (分阶段处置时限), e.g. illegal construction: stop work in
4 working hours, a penalty decision in 7 working days, demolition in 20 working days.

A sub-class may list phases (`Category.phases`, the file's `phases`). Every phase counts
from the start of the handling stage, on the working calendar, with the stage's
suspensions; they are ordered and each ends later than the one before; the last phase is
the handling deadline (it equals the sub-class's `handle` deadline, and an approved
extension moves only the last phase). Pure functions over `gridlink.core.worktime`; no
database access except `case_phases` reading the current calendar when none is passed.
See docs/taxonomy.md, "Phases".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridlink.cases.models.taxonomy import (  # the stored rule lives with its field
    PHASE_KEYS as PHASE_KEYS,
)
from gridlink.cases.models.taxonomy import (
    DeadlineUnit,
)
from gridlink.cases.models.taxonomy import (
    phases_problem as phases_problem,
)
from gridlink.core.worktime import WorkCalendar, current_calendar, deadline_for

if TYPE_CHECKING:
    from gridlink.cases.models import Case


@dataclass(frozen=True)
class Phase:
    code: str
    name_zh: str
    name_en: str
    amount: int
    unit: str

    @property
    def short(self) -> str:
        """ "4h" (working hours) or "7d" (working days)."""
        return f"{self.amount}{'h' if self.unit == DeadlineUnit.WORKING_HOURS else 'd'}"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Phase:
        return cls(
            code=raw["code"],
            name_zh=raw["name_zh"],
            name_en=raw["name_en"],
            amount=int(raw["amount"]),
            unit=raw["unit"],
        )


@dataclass(frozen=True)
class PhaseDue:
    phase: Phase
    due_at: dt.datetime
    passed: bool  # the due time is before `now`

    # For templates: the phase's names, so `localname` works on a PhaseDue.
    @property
    def name_zh(self) -> str:
        return self.phase.name_zh

    @property
    def name_en(self) -> str:
        return self.phase.name_en


def phase_due_times(
    *,
    start_at: dt.datetime,
    phases: Sequence[Phase],
    suspensions: Iterable[tuple[dt.datetime, dt.datetime]] = (),
    extra_days: int = 0,
    extra_hours: int = 0,
    now: dt.datetime | None = None,
    calendar: WorkCalendar | None = None,
) -> list[PhaseDue]:
    """Each phase's due time for a handling stage that started at `start_at`.

    Suspensions stop every phase's clock; an extension (`extra_days`, `extra_hours`) moves
    the last phase only, as it does the handling deadline.
    """
    cal = calendar or current_calendar()
    stops = list(suspensions)
    result = []
    for n, phase in enumerate(phases, 1):
        last = n == len(phases)
        hours = phase.unit == DeadlineUnit.WORKING_HOURS
        due = deadline_for(
            start_at=start_at,
            hours=phase.amount if hours else None,
            days=None if hours else phase.amount,
            extra_days=extra_days if last else 0,
            extra_hours=extra_hours if last else 0,
            suspensions=stops,
            calendar=cal,
        )
        result.append(PhaseDue(phase=phase, due_at=due, passed=now is not None and due < now))
    return result


def case_phases(
    case: Case, *, now: dt.datetime, calendar: WorkCalendar | None = None
) -> list[PhaseDue]:
    """The phases of a case in its handling stage, with their due times (else [])."""
    raw = getattr(case.category, "phases", None) or []
    if case.stage != "handle" or case.stage_started_at is None or not raw:
        return []
    stops = [
        (dt.datetime.fromisoformat(a), dt.datetime.fromisoformat(b)) for a, b in case.suspensions
    ]
    if case.suspended_at is not None:
        stops.append((case.suspended_at, max(now, case.suspended_at)))
    days = case.extension_unit == DeadlineUnit.WORKING_DAYS
    hours = case.extension_unit == DeadlineUnit.WORKING_HOURS
    return phase_due_times(
        start_at=case.stage_started_at,
        phases=[Phase.from_dict(p) for p in raw],
        suspensions=stops,
        extra_days=case.extension_amount if days else 0,
        extra_hours=case.extension_amount if hours else 0,
        now=now,
        calendar=calendar,
    )
