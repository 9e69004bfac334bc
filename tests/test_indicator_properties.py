"""Properties of the indicators on random case histories (hypothesis), driven through the
real services: `case_create`, `case_transition`, `deadline_sweep` and the joint-handling
tasks, at random moments across days, weekends and National Day.

The histories mix what the demo never produces: repeated verification failures, returns
(rejected or not) and whistles again after a return, extensions, suspensions before and
after a red card, joint handling with on-time and late report-ins (the lead's too),
reporter contacts early and late, dissatisfied ratings and the redo (重办), merges.

For each history:
1. every rate of every unit lies in [0, 100 %] — per day, per month and over the whole range;
2. each counter of the district equals an independent count over the events the history
   wrote (`_independent` below reads `CaseEvent` rows; it does not call `facts.py`);
3. the incremental rollups equal a rebuild.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections import Counter, defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gridlink.assessment.indicators import INDICATORS, indicator_value
from gridlink.assessment.models import METRICS, CaseFacts, IndicatorDay
from gridlink.assessment.rollups import rollups_rebuild, unit_table
from gridlink.assessment.selectors import counter_sums, period_parse, unit_parse
from gridlink.cases.models import Case, CaseEvent, CasePhoto, CaseTask, TaskState
from gridlink.cases.services.intake import Report, case_create
from gridlink.cases.services.joint import task_complete, task_report_in
from gridlink.cases.services.sweep import deadline_sweep
from gridlink.cases.services.transitions import case_transition
from gridlink.cases.workflow import Action, transition_for
from gridlink.core.errors import DomainError
from gridlink.core.worktime import current_calendar, working_time_between
from tests.cases_support import A11, CATEGORY, build_world

SH = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 9, 28, 9, 0, tzinfo=SH)  # a make-up working Sunday before National Day
CONTACT_LIMIT = dt.timedelta(minutes=120)  # the default rule (docs/indicators.md, "Rules")
STREET_OR_ABOVE = {"street", "district_department", "district_centre"}
SATISFIED = {"satisfied", "basically_satisfied"}


@pytest.fixture
def world(tree, personas):
    call_command("calendar", "seed", "--years", "2026", stdout=io.StringIO())
    return build_world(tree, personas)


# --- Driving histories ---------------------------------------------------------------------------


def _photo(n: int) -> str:
    key = f"{n:032x}"
    CasePhoto.objects.create(key=key, file="case-photos/x.png", content_type="image/png",
                             width=1, height=1, size=1, sha256="0" * 64)  # fmt: skip
    return key


# Actions that end or park a case early: taken now and then, so histories get long.
DETOURS = frozenset({Action.INVALIDATE, Action.MERGE, Action.SUPERVISE})
# Actions taken more often than their share, to reach the histories this test is about.
FAVOURED = (Action.VERIFY_FAIL, Action.WHISTLE, Action.RETURN_NOT_OUR_DUTY,
            Action.REQUEST_SUSPENSION, Action.REQUEST_EXTENSION, Action.RECORD_CONTACT)  # fmt: skip

# Actions that move a case towards its end, taken most of the time.
FORWARD = frozenset({Action.ACCEPT, Action.FILE, Action.DISPATCH, Action.WHISTLE,
                     Action.SIGN_FOR, Action.START_HANDLING, Action.SUBMIT_RESULT,
                     Action.SEND_FOR_VERIFICATION, Action.VERIFY_PASS, Action.VERIFY_FAIL,
                     Action.CLOSE, Action.RATE, Action.APPROVE_EXTENSION,
                     Action.APPROVE_SUSPENSION, Action.RESUME, Action.REJECT_RETURN,
                     Action.REQUEST_EXTENSION, Action.REQUEST_SUSPENSION,
                     Action.HANDLE_ON_THE_SPOT})  # fmt: skip

# (which case or a sweep, a pick, minutes to wait first)
steps = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.integers(0, 60 * 12)),
    min_size=20,
    max_size=60,
)


class History:
    def __init__(self, world: Any) -> None:
        self.world = world
        self.cases: list[int] = []
        self.n = 0

    def inputs(self, case: Case, action: str, pick: int) -> dict[str, Any] | None:
        d = self.world.departments
        self.n += 1
        if action == Action.MERGE:
            others = Case.objects.open().exclude(pk=case.pk).filter(parent__isnull=True)
            return {"parent_case_id": others.first().pk} if others.exists() else None
        if action in (Action.SUBMIT_RESULT, Action.HANDLE_ON_THE_SPOT):
            return {"evidence": [_photo(self.n)], "result": "done"}
        lead = [d["UM"].pk, d["HS"].pk][pick % 2]
        satisfaction = ["satisfied", "basically_satisfied", "dissatisfied"][pick % 3]
        return {
            Action.DISPATCH: {"unit_id": f"department:{d[['UM', 'HS', 'EC'][pick % 3]].pk}"},
            Action.WHISTLE: {"department_ids": [d["UM"].pk, d["HS"].pk],
                             "lead_department_id": lead},
            Action.REQUEST_EXTENSION: {"reason": "r", "duration": "1d"},
            Action.SEND_FOR_VERIFICATION: {"verifier_id": self.world.personas.grid_worker.pk},
            Action.RATE: {"satisfaction": satisfaction, "solved": pick % 2 == 0},
            Action.RECORD_CONTACT: {"method": "phone"},
        }.get(action, {"reason": "r"})  # fmt: skip

    def report(self, pick: int, now: dt.datetime) -> None:
        reachable = pick % 2 == 0  # half the reporters leave a phone number
        report = Report(channel="resident_web", category_code=CATEGORY,
                        description=f"垃圾{pick}", anonymous=not reachable,
                        reporter_phone="13800138000" if reachable else "", **A11)  # fmt: skip
        self.cases.append(case_create(actor=None, report=report, now=now).case.pk)

    def step(self, which: int, pick: int, now: dt.datetime) -> None:
        if which == 3:
            deadline_sweep(now=now)
            return
        if which >= len(self.cases) or (pick % 29 == 0 and len(self.cases) < 4):
            self.report(pick, now)
            return
        case = Case.objects.get(pk=self.cases[which])
        if case.whistled and case.is_open and pick % 4 == 0 and self.report_in(case, pick, now):
            return
        actions = [a for a in Action if _defined(case.state, a)]
        onward = [a for a in actions if a not in DETOURS]
        favoured = [a for a in actions if a in FAVOURED]
        forward = [a for a in actions if a in FORWARD]
        if pick % 10 >= 8:  # now and then anything, detours included
            pass
        elif favoured and pick % 4 == 0:
            actions = favoured
        elif forward and pick % 4 != 1:  # mostly move the case on
            actions = forward
        elif onward:
            actions = onward
        if not actions:
            return
        action = actions[(pick // 7) % len(actions)]
        inputs = self.inputs(case, action, pick)
        if inputs is None:
            return
        if action == Action.SUBMIT_RESULT and case.whistled:
            self.finish_co_tasks(case, now)
            case.refresh_from_db()
        # A rule may refuse (top of the ladder, one extension…): then nothing is written.
        with contextlib.suppress(DomainError):
            case_transition(actor=None, case_id=case.pk, action=action, version=case.version,
                            inputs=inputs, system=True, now=now)  # fmt: skip

    def handler(self, task: CaseTask) -> Any:
        code = next(c for c, dept in self.world.departments.items() if dept == task.department)
        return self.world.people[f"h_{code}"]

    def report_in(self, case: Case, pick: int, now: dt.datetime) -> bool:
        """A summoned department (the lead too) reports in, on time or late."""
        waiting = list(CaseTask.objects.filter(case=case, state=TaskState.SUMMONED).order_by("id"))
        if not waiting:
            return False
        task = waiting[pick % len(waiting)]
        task_report_in(actor=self.handler(task), task_id=task.pk, version=case.version, now=now)
        return True

    def finish_co_tasks(self, case: Case, now: dt.datetime) -> None:
        for task in CaseTask.objects.filter(case=case, is_lead=False).exclude(state=TaskState.DONE):
            fresh = Case.objects.get(pk=case.pk)
            task_complete(actor=self.handler(task), task_id=task.pk, version=fresh.version,
                          result="ok", now=now)  # fmt: skip


def _defined(state: str, action: str) -> bool:
    try:
        transition_for(state, action)
    except DomainError:
        return False
    return True


def _run(world: Any, history: list[tuple[int, int, int]]) -> dt.datetime:
    h = History(world)
    now = START
    for which, pick, minutes in history:
        now += dt.timedelta(minutes=minutes)
        with time_machine.travel(now, tick=False):
            h.step(which, pick, now)
    return now


# --- The independent count ------------------------------------------------------------------


def _working(start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    return working_time_between(start_at=start, end_at=end, calendar=current_calendar())


def _responses(case: Case, events: list[CaseEvent]) -> int:
    """Dispatched units that responded: signed for (the holder) or reported in (a summoned
    department), first time and in time; the holder also contacted a reachable reporter
    within the limit after the dispatch."""
    reachable = bool(case.reporter_id or case.reporter_phone or case.reporter_email)
    responded = 0
    current: list[dict[str, Any]] = []
    done: list[dict[str, Any]] = []
    before: dict[str, Any] = {}
    for e in events:
        if e.kind in ("dispatch", "whistle"):
            done.extend(current)
            lead = e.data.get("lead")
            depts = e.data.get("departments") if e.kind == "whistle" else [None]
            current = [{"at": e.created_at, "dept": d, "holder": e.kind == "dispatch" or d == lead,
                        "answer": None, "contact": False} for d in depts]  # fmt: skip
        elif e.kind in ("escalate", "merge", "invalidate"):
            done.extend(current)
            current = []
        elif e.kind == "sign_for":
            deadline = before.get("deadline_at") if before.get("stage") == "sign_for" else None
            in_time = deadline is None or e.created_at <= dt.datetime.fromisoformat(deadline)
            for slot in current:
                if slot["holder"] and slot["answer"] is None:
                    slot["answer"] = in_time
        elif e.kind == "task_reported_in":
            for slot in current:
                if slot["dept"] == e.data["department_id"] and slot["answer"] is None:
                    slot["answer"] = not e.data["late"]
        elif e.kind == "record_contact":
            for slot in current:
                if slot["holder"] and _working(slot["at"], e.created_at) <= CONTACT_LIMIT:
                    slot["contact"] = True
        before = e.snapshot
    for slot in [*done, *current]:
        needs_contact = slot["holder"] and reachable
        if slot["answer"] and (slot["contact"] or not needs_contact):
            responded += 1
    return responded


def _independent(district_id: int) -> Counter[str]:
    """The district's counters, counted from the case log by this test's own rules."""
    got: Counter[str] = Counter()
    by_case: dict[int, list[CaseEvent]] = defaultdict(list)
    for e in CaseEvent.objects.order_by("id"):
        by_case[e.case_id].append(e)
    for case in Case.objects.filter(grid__path__contains=f"/{district_id}/"):
        events = by_case[case.pk]
        kinds = [e.kind for e in events]
        has = set(kinds)
        got["reported"] += "reported" in has
        filed = bool(has & {"file", "file_directly"}) or any(
            e.kind == "handle_on_the_spot" and e.from_state == "reported" for e in events
        )
        got["filed"] += filed
        got["invalid"] += "invalidate" in has
        got["merged"] += "merge" in has and not filed
        got["dispatched"] += kinds.count("dispatch") + sum(
            len(set(e.data["departments"])) for e in events if e.kind == "whistle"
        )
        got["returned"] += kinds.count("return_not_our_duty") - kinds.count("reject_return")
        got["responded"] += _responses(case, events)
        got["street_cases"] += any(e.snapshot.get("level") in STREET_OR_ABOVE for e in events)
        got["whistled"] += "whistle" in has
        got["handled_cases"] += bool(has & {"submit_result", "handle_on_the_spot"})
        got["reworked_cases"] += "verify_fail" in has
        got["rework"] += kinds.count("verify_fail")
        got["extended"] += kinds.count("approve_extension")
        got["suspended"] += kinds.count("approve_suspension")
        closed = "close" in has
        due = closed or "red_card" in has
        got["closed"] += closed
        got["close_due"] += due
        got["closed_of_due"] += closed
        got["close_suspended"] += (
            due and not closed and bool(events) and bool(events[-1].snapshot.get("suspended"))
        )
        ratings = [e for e in events if e.kind == "rate"]
        if ratings:  # the first rating counts
            got["rated"] += 1
            got["satisfied"] += ratings[0].data["satisfaction"] in SATISFIED
            got["solved"] += ratings[0].data["solved"] is True
        got["redone"] += "reopen" in has
    return got


NOTABLE = ("verify_fail", "whistle", "return_not_our_duty", "reject_return", "approve_extension",
           "approve_suspension", "red_card", "task_reported_in", "record_contact", "rate",
           "reopen", "merge", "close")  # fmt: skip


def _note_what_happened() -> None:
    """Statistics (`--hypothesis-show-statistics`): which histories the examples reached."""
    kinds = Counter(CaseEvent.objects.values_list("kind", flat=True))
    for kind in NOTABLE:
        if kinds[kind]:
            event(kind)
    if kinds["verify_fail"] >= 2:
        event("verify_fail twice or more")
    if kinds["approve_extension"] and kinds["approve_suspension"]:
        event("extended and suspended")
    if kinds["whistle"] >= 2:
        event("whistle again")
    late = CaseEvent.objects.filter(kind="task_reported_in", data__late=True).exists()
    if late:
        event("late report-in")
    suspended_red = any(
        "red_card" in ks[: ks.index("approve_suspension")] if "approve_suspension" in ks else False
        for ks in _kinds_by_case().values()
    )
    if suspended_red:
        event("suspended after a red card")


def _kinds_by_case() -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for case_id, kind in CaseEvent.objects.order_by("id").values_list("case_id", "kind"):
        out[case_id].append(kind)
    return out


# --- The properties -----------------------------------------------------------------------------


def _table() -> dict[str, int]:
    rows = {}
    for r in IndicatorDay.objects.all():
        for m in METRICS:
            if getattr(r, m):
                rows[f"{r.unit}|{r.grid_id}|{r.category}|{r.day}|{m}"] = getattr(r, m)
    return rows


def _rates_within_bounds() -> int:
    """Every rate of every unit and category, per day, per month and over everything."""
    sums: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for (unit, category, day, metric), value in unit_table().items():
        for period in (day, day[:7], "all"):
            sums[(unit, category, period)][metric] += value
    checked = 0
    for key, bucket in sums.items():
        for indicator in INDICATORS:
            if indicator.kind != "rate":
                continue
            v = indicator_value(indicator, bucket)
            assert v.numerator >= 0, (key, indicator.key, v)
            if v.value is not None:
                assert v.denominator is not None and v.numerator <= v.denominator, (
                    key,
                    indicator.key,
                    v.numerator,
                    v.denominator,
                )
                assert 0.0 <= v.value <= 100.0
                checked += 1
    return checked


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=steps)
def test_rates_stay_within_their_definitions_on_random_histories(world, history):
    with transaction.atomic():
        end = _run(world, history)
        assert _rates_within_bounds() > 0
        _note_what_happened()

        district = world.tree.district
        period = period_parse(start=START.date().isoformat(), end=end.date().isoformat())
        counted = counter_sums(unit_parse(f"area:{district.code}"), period)
        expected = _independent(district.pk)
        for metric in sorted(expected):
            assert counted.get(metric, 0) == expected[metric], metric

        incremental = _table()
        facts = {f.case_id: f.contributions for f in CaseFacts.objects.all()}
        rollups_rebuild()
        assert _table() == incremental
        assert {f.case_id: f.contributions for f in CaseFacts.objects.all()} == facts
        transaction.set_rollback(True)
