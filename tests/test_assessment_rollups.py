"""Incremental rollups equal a full rebuild, on random case histories (hypothesis).

Each example drives a few cases through random transitions of the real workflow (the
service applies them; the rollups follow in the same transactions), with random time jumps
across days, weekends and holidays and deadline sweeps in between, then rebuilds the rollups
from the timelines and compares every counter.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridlink.assessment.models import AREA, METRICS, CaseFacts, IndicatorDay
from gridlink.assessment.rollups import rollups_rebuild, unit_table, with_totals
from gridlink.cases.models import Case, CasePhoto, CaseTask, TaskState
from gridlink.cases.services.intake import Report, case_create
from gridlink.cases.services.joint import task_complete
from gridlink.cases.services.sweep import deadline_sweep
from gridlink.cases.services.transitions import case_transition
from gridlink.cases.workflow import Action, transition_for
from gridlink.core.errors import DomainError
from gridlink.geo.models import Area, Level
from tests.cases_support import A11, CATEGORY, build_world

SH = ZoneInfo("Asia/Shanghai")
A21 = {"lat": 35.95, "lon": 120.05}  # grid A2-1: the same street as A1-1, another community
START = dt.datetime(2026, 9, 28, 9, 0, tzinfo=SH)  # a make-up working Sunday before National Day


@pytest.fixture
def world(tree, personas):
    call_command("calendar", "seed", "--years", "2026", stdout=io.StringIO())
    return build_world(tree, personas)


def _table() -> dict[str, int]:
    rows = {}
    for r in IndicatorDay.objects.all():
        for m in METRICS:
            if getattr(r, m):
                rows[f"{r.unit}|{r.grid_id}|{r.category}|{r.day}|{m}"] = getattr(r, m)
    return rows


def _facts() -> dict[int, list]:
    return {f.case_id: f.contributions for f in CaseFacts.objects.all()}


def _units_from_facts() -> dict[tuple[str, str, str, str], int]:
    """What a table of one row per unit (every area its own row) would hold: the sum of every
    case's contributions, with the category-ALL totals."""
    out: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for f in CaseFacts.objects.all():
        own = {(u, c, d, m): v for u, c, d, m, v in f.contributions}
        for key, value in with_totals(own).items():
            out[key] += value
    return {k: v for k, v in out.items() if v}


def _leaf_only() -> None:
    """Every row is a grid's row; no area above a grid has a row of its own."""
    grids = set(Area.objects.filter(level=Level.GRID).values_list("pk", flat=True))
    for unit, grid_id in IndicatorDay.objects.values_list("unit", "grid_id"):
        assert grid_id in grids
        assert unit == AREA or not unit.startswith("area"), unit


def _photo(n: int) -> str:
    key = f"{n:032x}"
    CasePhoto.objects.create(key=key, file="case-photos/x.png", content_type="image/png",
                             width=1, height=1, size=1, sha256="0" * 64)  # fmt: skip
    return key


def _inputs(world, case: Case, action: str, pick: int, counter: list[int]) -> dict | None:
    d = world.departments
    counter[0] += 1
    if action == Action.MERGE:
        others = Case.objects.open().exclude(pk=case.pk).filter(parent__isnull=True)
        return {"parent_case_id": others.first().pk} if others.exists() else None
    if action in (Action.SUBMIT_RESULT, Action.HANDLE_ON_THE_SPOT):
        return {"evidence": [_photo(counter[0])], "result": "done"}
    satisfaction = ["satisfied", "basically_satisfied", "dissatisfied"][pick % 3]
    return {
        Action.DISPATCH: {"unit_id": f"department:{d['UM'].pk}"},
        Action.WHISTLE: {"department_ids": [d["UM"].pk, d["HS"].pk],
                         "lead_department_id": d["HS"].pk},
        Action.REQUEST_EXTENSION: {"reason": "r", "duration": "1d"},
        Action.SEND_FOR_VERIFICATION: {"verifier_id": world.personas.grid_worker.pk},
        Action.RATE: {"satisfaction": satisfaction, "solved": pick % 2 == 0},
    }.get(action, {"reason": "r"})  # fmt: skip


# Actions that end or park a case early; taken now and then, so histories get long.
DETOURS = frozenset({Action.INVALIDATE, Action.MERGE, Action.SUPERVISE, Action.ESCALATE})

steps = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 1000), st.integers(0, 60 * 30)),
    min_size=10,
    max_size=80,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=steps)
def test_incremental_rollups_equal_a_rebuild(world, history):
    with transaction.atomic():
        _run(world, history)
        incremental, facts = _table(), _facts()
        assert incremental  # something was counted
        _leaf_only()
        # The leaf rows summed up the area tree are exactly the per-unit table of before.
        units = unit_table()
        assert units == _units_from_facts()
        rollups_rebuild()
        assert _table() == incremental
        assert _facts() == facts
        assert unit_table() == units
        transaction.set_rollback(True)


def _run(world, history) -> None:
    now = START
    cases: list[Case] = []
    counter = [0]
    for which, pick, minutes in history:
        now += dt.timedelta(minutes=minutes)
        with time_machine.travel(now, tick=False):
            if which == 3:
                deadline_sweep(now=now)
                continue
            if which >= len(cases):
                where = (A11, A21)[len(cases) % 2]  # two grids: the areas above sum both
                created = case_create(actor=None, report=Report(
                    channel="resident_web", category_code=CATEGORY, description=f"垃圾{pick}",
                    anonymous=True, **where))  # fmt: skip
                cases.append(created.case)
                continue
            case = Case.objects.get(pk=cases[which].pk)
            actions = [a for a in Action if _defined(case.state, a)]
            onward = [a for a in actions if a not in DETOURS]
            if pick % 10 < 8 and onward:  # mostly move the case on, sometimes take a detour
                actions = onward
            if not actions:
                continue
            action = actions[pick % len(actions)]
            inputs = _inputs(world, case, action, pick, counter)
            if inputs is None:
                continue
            if action == Action.SUBMIT_RESULT and case.whistled:
                _finish_co_tasks(world, case)
                case.refresh_from_db()
            # A rule may refuse (top of the ladder, one extension…): then nothing is written.
            with contextlib.suppress(DomainError):
                case_transition(actor=None, case_id=case.pk, action=action,
                                version=case.version, inputs=inputs, system=True,
                                now=now)  # fmt: skip


def _defined(state: str, action: str) -> bool:
    try:
        transition_for(state, action)
    except DomainError:
        return False
    return True


def _finish_co_tasks(world, case: Case) -> None:
    for task in CaseTask.objects.filter(case=case, is_lead=False).exclude(state=TaskState.DONE):
        user = world.people[f"h_{'UM' if task.department == world.departments['UM'] else 'HS'}"]
        fresh = Case.objects.get(pk=case.pk)
        task_complete(actor=user, task_id=task.pk, version=fresh.version, result="ok")
