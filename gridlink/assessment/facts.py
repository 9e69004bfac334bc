"""What one case contributes to the indicator counters — a pure function of its timeline.

`case_contributions(info, events, calendar)` walks the case's events in order and returns
`{(unit, category, day, metric): value}`. Every counter is counted on the local day
(Asia/Shanghai) of the event that caused it, for the units it concerns:

- `area:<id>` for the case's grid and each area above it (where the case is);
- the responsible unit at that moment, from the event's snapshot: `dept:<id>` or
  `office:<area id>` (a grid, community or street office handling it itself);
- `user:<id>` for the person who took a step, where a person is judged on it.

The definitions are written out, with the indicator formulas they feed, in
docs/indicators.md; keep the two in step.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from gridlink.core.worktime import WorkCalendar, working_time_between

Key = tuple[str, str, str, str]  # unit, category, ISO day, metric
SHANGHAI = ZoneInfo("Asia/Shanghai")

# A report is filed on time when it is filed within this much working time (minutes).
FILING_LIMIT_MINUTES = 120
# Levels at or above the street: such cases are the denominator of the whistle rate.
STREET_OR_ABOVE = frozenset({"street", "district_department", "district_centre"})
CLOSED_AT_LEVEL = {
    "grid": "closed_grid",
    "community": "closed_community",
    "street": "closed_street",
}
SATISFIED = frozenset({"satisfied", "basically_satisfied"})


@dataclass(frozen=True)
class CaseInfo:
    category: str
    areas: tuple[int, ...]  # the grid first, then each area above it
    exempt: bool = False  # an approved exemption takes the case out of every indicator


@dataclass(frozen=True)
class EventInfo:
    kind: str
    at: dt.datetime
    actor_id: int | None
    from_state: str
    to_state: str
    data: dict[str, Any] = field(default_factory=dict)
    snapshot: dict[str, Any] = field(default_factory=dict)


def unit_of(snapshot: dict[str, Any]) -> str | None:
    if snapshot.get("dept"):
        return f"dept:{snapshot['dept']}"
    if snapshot.get("area"):
        return f"office:{snapshot['area']}"
    return None


def _deadline(snapshot: dict[str, Any]) -> dt.datetime | None:
    raw = snapshot.get("deadline_at")
    return dt.datetime.fromisoformat(raw) if raw else None


class _Walk:
    """The state the walk over one case's events carries."""

    def __init__(self, info: CaseInfo, calendar: WorkCalendar) -> None:
        self.info = info
        self.calendar = calendar
        self.out: Counter[Key] = Counter()
        self.where = [f"area:{a}" for a in info.areas]
        self.reported_at: dt.datetime | None = None
        self.accepted = False
        self.filed = False
        self.closed = False
        self.ever_red = False
        # The close cohort: when and for whom the case came due (red card or close).
        self.close_due: tuple[dt.datetime, list[str]] | None = None
        # The handle cohorts: per stage for the responsible unit, per cycle for the areas.
        self.stage_due: tuple[dt.datetime, list[str]] | None = None
        self.cycle_due: tuple[dt.datetime, list[str]] | None = None
        self.handle_started_at: dt.datetime | None = None
        self.paused_at: dt.datetime | None = None
        self.paused_minutes = 0
        self.last_return: tuple[dt.datetime, list[str]] | None = None
        self.overdue_units: list[str] | None = None
        self.street_reached = False

    def add(
        self, units: Iterable[str | None], at: dt.datetime, metric: str, value: int = 1
    ) -> None:
        day = at.astimezone(SHANGHAI).date().isoformat()
        for unit in dict.fromkeys(u for u in units if u):
            self.out[(unit, self.info.category, day, metric)] += value

    def minutes(self, start: dt.datetime, end: dt.datetime) -> int:
        span = working_time_between(start_at=start, end_at=end, calendar=self.calendar)
        return max(0, int(span.total_seconds() // 60))


def case_contributions(
    info: CaseInfo, events: Sequence[EventInfo], calendar: WorkCalendar
) -> dict[Key, int]:
    """The counters this case adds, keyed by (unit, category, ISO day, metric)."""
    if info.exempt:
        return {}
    w = _Walk(info, calendar)
    previous: dict[str, Any] = {}
    for e in events:
        _step(w, e, previous)
        previous = e.snapshot
    return {k: v for k, v in w.out.items() if v}


def _step(w: _Walk, e: EventInfo, before: dict[str, Any]) -> None:
    snap, k, at = e.snapshot, e.kind, e.at
    unit = unit_of(snap)
    here = [*w.where, unit]
    person = f"user:{e.actor_id}" if e.actor_id else None

    if k == "reported":
        w.reported_at = at
        w.add(w.where, at, "reported")
    elif k == "invalidate":
        w.add(w.where, at, "invalid")
    elif k == "merge" and not w.filed:  # a filed case stays a valid report when merged
        w.add(w.where, at, "merged")

    # Acceptance: the first decision on a report.
    first_decisions = ("accept", "invalidate", "file_directly", "handle_on_the_spot", "merge")
    if not w.accepted and k in first_decisions and w.reported_at is not None:
        w.accepted = True
        w.add(w.where, at, "accepted")
        w.add(w.where, at, "accept_minutes", w.minutes(w.reported_at, at))

    # Filing.
    files = k in ("file", "file_directly") or (
        k == "handle_on_the_spot" and e.from_state == "reported"
    )
    if files and not w.filed and w.reported_at is not None:
        w.filed = True
        w.add(w.where, at, "filed")
        if w.minutes(w.reported_at, at) <= FILING_LIMIT_MINUTES:
            w.add(w.where, at, "filed_on_time")

    # Dispatch, return, response.
    if k == "dispatch":
        w.add(here, at, "dispatched")
    elif k == "whistle":
        departments = [int(d) for d in e.data.get("departments", [])]
        w.add(w.where, at, "dispatched", len(departments))
        for d in departments:
            w.add([f"dept:{d}"], at, "dispatched")
        w.add(here, at, "whistled")
    elif k == "return_not_our_duty":
        w.last_return = (at, [*w.where, unit_of(before) or ""])
        w.add(w.last_return[1], at, "returned")
    elif k == "reject_return" and w.last_return is not None:
        # The dispatch was right after all: the return no longer counts against it.
        w.add(w.last_return[1], w.last_return[0], "returned", -1)
        w.last_return = None
    elif k == "sign_for":
        deadline = _deadline(before) if before.get("stage") == "sign_for" else None
        if deadline is None or at <= deadline:
            w.add(here, at, "responded")
    elif k == "task_reported_in" and e.data.get("department_id") and not e.data.get("late"):
        w.add([*w.where, f"dept:{e.data['department_id']}"], at, "responded")

    # Handling. A handle stage comes due once, for the unit responsible then: when it is
    # handled or when it first goes red, whichever is first; `handled_of_due` is counted on
    # that same day and unit once the stage is handled, so a rate never passes 100 %. For
    # the areas (where the case is) a cycle of stages counts once until it is handled.
    new_stage = snap.get("stage") == "handle" and (
        before.get("stage") != "handle" or k in ("escalate", "verify_fail", "reopen", "sign_for")
    )
    if new_stage:
        w.handle_started_at = at
        w.stage_due = None
        w.paused_at = None
        w.paused_minutes = 0
    if k == "approve_suspension" and w.handle_started_at is not None:
        w.paused_at = at
    elif k == "resume" and w.paused_at is not None:
        w.paused_minutes += w.minutes(w.paused_at, at)
        w.paused_at = None
    if k in ("submit_result", "handle_on_the_spot"):
        deadline = _deadline(before) if before.get("stage") == "handle" else None
        on_time = deadline is None or at <= deadline
        w.add([*here, person], at, "handled")
        if w.stage_due is None:
            w.stage_due = (at, [u for u in [unit] if u])
            w.add(w.stage_due[1], at, "handle_due")
        if w.cycle_due is None:
            w.cycle_due = (at, w.where)
            w.add(w.where, at, "handle_due")
        for due_at, units in (w.stage_due, w.cycle_due):
            w.add(units, due_at, "handled_of_due")
            if on_time:
                w.add(units, due_at, "handled_on_time")
        w.add([person], at, "handle_due")  # a person is judged on the stages they handled
        w.add([person], at, "handled_of_due")
        if on_time:
            w.add([person], at, "handled_on_time")
        if w.handle_started_at is not None:
            spent = w.minutes(w.handle_started_at, at) - w.paused_minutes
            w.add(here, at, "handle_timed")
            w.add(here, at, "handle_minutes", max(0, spent))
        w.handle_started_at = None
        w.stage_due = None
        w.cycle_due = None
        w.paused_minutes = 0
    _due(w, k, snap, here, at)

    if k == "verify_fail":
        w.add(here, at, "rework")
        if e.data.get("failures") == 3:
            w.add(here, at, "failed_verification_3")
    elif k == "approve_extension":
        w.add(here, at, "extended")
    elif k == "approve_suspension":
        w.add(here, at, "suspended")
    elif k == "close" and not w.closed:
        w.closed = True
        w.add(here, at, "closed")
        level_metric = CLOSED_AT_LEVEL.get(str(snap.get("level")))
        if level_metric:
            w.add(here, at, level_metric)
        if w.close_due is None:
            w.close_due = (at, [u for u in here if u])
            w.add(w.close_due[1], at, "close_due")
        w.add(w.close_due[1], w.close_due[0], "closed_of_due")
        if not w.ever_red:
            w.add(w.close_due[1], w.close_due[0], "closed_on_time")
    elif k == "rate":
        w.add(here, at, "rated")
        if e.data.get("solved") is True:
            w.add(here, at, "solved")
        if e.data.get("satisfaction") in SATISFIED:
            w.add(here, at, "satisfied")

    if not w.street_reached and snap.get("level") in STREET_OR_ABOVE:
        w.street_reached = True
        w.add(w.where, at, "street_cases")


def _due(w: _Walk, k: str, snap: dict[str, Any], here: list[str | None], at: dt.datetime) -> None:
    """Red cards: the stage and the case come due; an overdue spell opens, and it ends when
    the card is gone."""
    units = [u for u in here if u]
    if k == "red_card":
        w.ever_red = True
        if snap.get("stage") == "handle":
            if w.stage_due is None:
                w.stage_due = (at, [u for u in units if not u.startswith("area:")])
                w.add(w.stage_due[1], at, "handle_due")
            if w.cycle_due is None:
                w.cycle_due = (at, w.where)
                w.add(w.where, at, "handle_due")
        if w.overdue_units is None:
            w.overdue_units = units
            w.add(units, at, "overdue_start")
        if w.close_due is None:
            w.close_due = (at, units)
            w.add(units, at, "close_due")
    elif w.overdue_units is not None and snap.get("card") != "red":
        w.add(w.overdue_units, at, "overdue_end")
        w.overdue_units = None
