"""What one case contributes to the indicator counters — a pure function of its timeline.

`case_contributions(info, events, calendar, rules)` walks the case's events in order and
returns `{(unit, category, day, metric): value}`. A flow counter is counted on the local day
(Asia/Shanghai) of the event that caused it; a cohort counter (the numerator of a rate whose
denominator came first) is counted on the day and for the units of its denominator, so no
rate can pass 100 % for any unit or period. The units:

- `area:<id>` for the case's grid and each area above it (where the case is);
- the responsible unit at that moment, from the event's snapshot: `dept:<id>` or
  `office:<area id>` (a grid, community or street office handling it itself);
- `user:<id>` for the person who took a step, where a person is judged on it.

The rule numbers (the on-time filing limit, the reporter-contact limit) are data: `Rules`,
looked up by day in a `RuleBook` (`gridlink.assessment.rules` loads it from the database).

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

# Levels at or above the street: such cases are the denominator of the whistle rate.
STREET_OR_ABOVE = frozenset({"street", "district_department", "district_centre"})
CLOSED_AT_LEVEL = {
    "grid": "closed_grid",
    "community": "closed_community",
    "street": "closed_street",
}
SATISFIED = frozenset({"satisfied", "basically_satisfied"})
# The event kinds that carry a rating (see `rating_of`).
RATING_KINDS = frozenset({"rate"})


@dataclass(frozen=True)
class Rules:
    """The rule numbers the counters depend on (docs/indicators.md, "Rules")."""

    filing_limit_minutes: int = 120  # filed on time: within this much working time of the report
    contact_limit_minutes: int = 120  # reporter contacted within this much working time of dispatch


DEFAULT_RULES = Rules()


@dataclass(frozen=True)
class RuleBook:
    """Rules by the day they take effect: `at(moment)` gives the rules in force then."""

    entries: tuple[tuple[dt.date, Rules], ...] = ()  # sorted by day

    def at(self, moment: dt.datetime) -> Rules:
        day = moment.astimezone(SHANGHAI).date()
        found = DEFAULT_RULES
        for since, rules in self.entries:
            if since > day:
                break
            found = rules
        return found


@dataclass(frozen=True)
class CaseInfo:
    category: str
    areas: tuple[int, ...]  # the grid first, then each area above it
    exempt: bool = False  # an approved exemption takes the case out of every indicator
    contactable: bool = False  # the reporter left a way to reach them (account, phone, e-mail)


@dataclass(frozen=True)
class EventInfo:
    kind: str
    at: dt.datetime
    actor_id: int | None
    from_state: str
    to_state: str
    data: dict[str, Any] = field(default_factory=dict)
    snapshot: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rating:
    satisfaction: str
    solved: bool | None


def rating_of(e: EventInfo) -> Rating | None:
    """The rating an event records, or None. The one place facts read a rating."""
    if e.kind not in RATING_KINDS:
        return None
    solved = e.data.get("solved")
    satisfaction = str(e.data.get("satisfaction") or "")
    return Rating(satisfaction, solved if isinstance(solved, bool) else None)


def unit_of(snapshot: dict[str, Any]) -> str | None:
    if snapshot.get("dept"):
        return f"dept:{snapshot['dept']}"
    if snapshot.get("area"):
        return f"office:{snapshot['area']}"
    return None


def _deadline(snapshot: dict[str, Any]) -> dt.datetime | None:
    raw = snapshot.get("deadline_at")
    return dt.datetime.fromisoformat(raw) if raw else None


@dataclass
class _Slot:
    """One dispatched unit waiting for its response (a dispatch, or one summoned department)."""

    at: dt.datetime
    units: list[str]
    department: int | None  # the summoned department (joint handling), None for a dispatch
    holds_case: bool  # the unit the case is with (signs for it; must contact the reporter)
    answered: bool = False
    answered_on_time: bool = False
    contacted_on_time: bool = False
    returned: bool = False


class _Walk:
    """The state the walk over one case's events carries."""

    def __init__(self, info: CaseInfo, calendar: WorkCalendar, rules: RuleBook) -> None:
        self.info = info
        self.calendar = calendar
        self.rules = rules
        self.out: Counter[Key] = Counter()
        self.where = [f"area:{a}" for a in info.areas]
        self.reported_at: dt.datetime | None = None
        self.accepted = False
        self.filed = False
        self.closed = False
        self.ever_red = False
        self.suspended = False
        # The close cohort: when and for whom the case came due (red card or close).
        self.close_due: tuple[dt.datetime, list[str]] | None = None
        # The handle cohorts: per stage for the responsible unit, per cycle for the areas.
        self.stage_due: tuple[dt.datetime, list[str]] | None = None
        self.cycle_due: tuple[dt.datetime, list[str]] | None = None
        self.handle_started_at: dt.datetime | None = None
        self.paused_at: dt.datetime | None = None
        self.paused_minutes = 0
        self.overdue_units: list[str] | None = None
        # The rework cohort: the first day each unit (or person) handled the case.
        self.first_handled: dict[str, dt.datetime] = {}
        self.last_result_units: list[str] = []
        self.reworked: set[str] = set()
        # The whistle cohort: when the case reached the street.
        self.street_at: dt.datetime | None = None
        self.whistled = False
        # The response slots, newest last; `open_slots` are those of the current dispatch.
        self.slots: list[_Slot] = []
        self.open_slots: list[_Slot] = []
        self.rated = False
        self.redone = False

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
    info: CaseInfo,
    events: Sequence[EventInfo],
    calendar: WorkCalendar,
    rules: RuleBook | None = None,
) -> dict[Key, int]:
    """The counters this case adds, keyed by (unit, category, ISO day, metric)."""
    if info.exempt:
        return {}
    w = _Walk(info, calendar, rules or RuleBook())
    previous: dict[str, Any] = {}
    for e in events:
        _step(w, e, previous)
        previous = e.snapshot
    _finish(w)
    return {k: v for k, v in w.out.items() if v}


def _step(w: _Walk, e: EventInfo, before: dict[str, Any]) -> None:
    snap, k, at = e.snapshot, e.kind, e.at
    unit = unit_of(snap)
    here = [*w.where, unit]
    person = f"user:{e.actor_id}" if e.actor_id else None

    # The report cohort: filing, invalid and merged are counted on the day of the report, so
    # the filing rate (and the extension rate of the areas) cannot pass 100 % for any period.
    if k == "reported":
        w.reported_at = at
        w.add(w.where, at, "reported")
    elif k == "invalidate" and w.reported_at is not None:
        w.add(w.where, w.reported_at, "invalid")
    elif k == "merge" and not w.filed and w.reported_at is not None:
        w.add(w.where, w.reported_at, "merged")  # a filed case stays a valid report when merged

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
        w.add(w.where, w.reported_at, "filed")
        if w.minutes(w.reported_at, at) <= w.rules.at(at).filing_limit_minutes:
            w.add(w.where, w.reported_at, "filed_on_time")

    # The street (the whistle rate's denominator), before the whistle that may bring it there.
    if w.street_at is None and snap.get("level") in STREET_OR_ABOVE:
        w.street_at = at
        w.add(w.where, at, "street_cases")

    _dispatch_and_response(w, e, before, unit)
    _handling(w, e, before, unit, here, person)
    _due(w, k, snap, here, at)

    if k == "verify_fail":
        w.add(here, at, "rework")
        if e.data.get("failures") == 3:
            w.add(here, at, "failed_verification_3")
        # The case was sent back: once per unit (and person) that handled it, on the day
        # that unit first handled it.
        for u in w.last_result_units:
            if u not in w.reworked and u in w.first_handled:
                w.reworked.add(u)
                w.add([u], w.first_handled[u], "reworked_cases")
    elif k == "approve_extension":
        # For the areas in the report cohort (the extension rate's denominator is `filed`);
        # for the responsible unit on its day (a count for deductions).
        w.add(w.where, w.reported_at or at, "extended")
        w.add([unit], at, "extended")
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
    elif k == "reopen" and not w.redone:
        w.redone = True
        w.add(here, at, "redone")

    rating = rating_of(e)
    if rating is not None and not w.rated:  # the first rating counts, once per case
        w.rated = True
        w.add(here, at, "rated")
        if rating.solved is True:
            w.add(here, at, "solved")
        if rating.satisfaction in SATISFIED:
            w.add(here, at, "satisfied")

    w.suspended = bool(snap.get("suspended"))


def _dispatch_and_response(
    w: _Walk, e: EventInfo, before: dict[str, Any], unit: str | None
) -> None:
    """Dispatches open response slots; sign-for, report-in and the reporter contact answer
    them; returns count against the dispatch (on its day)."""
    k, at = e.kind, e.at
    if k == "dispatch":
        w.open_slots = [_Slot(at, [*w.where, unit or ""], None, holds_case=True)]
        w.slots.extend(w.open_slots)
        w.add(w.open_slots[0].units, at, "dispatched")
    elif k == "whistle":
        lead = e.data.get("lead")
        w.open_slots = [
            _Slot(at, [*w.where, f"dept:{d}"], int(d), holds_case=d == lead)
            for d in dict.fromkeys(e.data.get("departments", []))
        ]
        w.slots.extend(w.open_slots)
        for slot in w.open_slots:
            w.add(slot.units, at, "dispatched")
    elif k == "return_not_our_duty":
        for slot in w.open_slots:
            if slot.holds_case and not slot.returned:
                slot.returned = True
                w.add(slot.units, slot.at, "returned")
    elif k == "reject_return":
        # The dispatch was right after all: the return no longer counts against it.
        for slot in w.open_slots:
            if slot.holds_case and slot.returned:
                slot.returned = False
                w.add(slot.units, slot.at, "returned", -1)
    elif k == "sign_for":
        deadline = _deadline(before) if before.get("stage") == "sign_for" else None
        _answer(w, holder=True, department=None, on_time=deadline is None or at <= deadline)
    elif k == "task_reported_in" and e.data.get("department_id"):
        _answer(w, holder=False, department=int(e.data["department_id"]),
                on_time=not e.data.get("late"))  # fmt: skip
    elif k == "record_contact":
        for slot in w.open_slots:
            limit = w.rules.at(slot.at).contact_limit_minutes
            if slot.holds_case and w.minutes(slot.at, at) <= limit:
                slot.contacted_on_time = True
    elif k in ("escalate", "merge", "invalidate"):
        w.open_slots = []


def _answer(w: _Walk, *, holder: bool, department: int | None, on_time: bool) -> None:
    """The first sign-for or report-in of a slot is its answer; later ones change nothing."""
    for slot in w.open_slots:
        mine = (holder and slot.holds_case) or (
            department is not None and slot.department == department
        )
        if mine and not slot.answered:
            slot.answered = True
            slot.answered_on_time = on_time


def _handling(
    w: _Walk,
    e: EventInfo,
    before: dict[str, Any],
    unit: str | None,
    here: list[str | None],
    person: str | None,
) -> None:
    """A handle stage comes due once, for the unit responsible then: when it is handled or
    when it first goes red, whichever is first; `handled_of_due` is counted on that same day
    and unit once the stage is handled, so a rate never passes 100 %. For the areas (where
    the case is) a cycle of stages counts once until it is handled."""
    snap, k, at = e.snapshot, e.kind, e.at
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
    if k not in ("submit_result", "handle_on_the_spot"):
        return
    deadline = _deadline(before) if before.get("stage") == "handle" else None
    on_time = deadline is None or at <= deadline
    w.add([*here, person], at, "handled")
    w.last_result_units = [u for u in [*here, person] if u]
    for u in w.last_result_units:
        if u not in w.first_handled:
            w.first_handled[u] = at
            w.add([u], at, "handled_cases")
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


def _finish(w: _Walk) -> None:
    """What the whole timeline decides: responses, whistled cases, suspended cases."""
    for slot in w.slots:
        contacted = slot.contacted_on_time or not (slot.holds_case and w.info.contactable)
        if slot.answered and slot.answered_on_time and contacted:
            w.add(slot.units, slot.at, "responded")
    if w.street_at is not None and any(s.department is not None for s in w.slots):
        w.whistled = True
        w.add(w.where, w.street_at, "whistled")
    # A case suspended now (缓办/挂账) leaves the closing rates' denominator: counted against
    # its `close_due`, so it is taken out wherever it came due (also after a red card).
    if w.suspended and w.close_due is not None and not w.closed:
        w.add(w.close_due[1], w.close_due[0], "close_suspended")
