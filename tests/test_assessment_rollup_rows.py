"""No rollup row is shared by the case events of a street: each event writes its grid's rows.

Two cases in two grids of the same street (A1-1 and A2-1, in different communities) are
reported, accepted, filed and dispatched to the same department. The SQL each step runs is
captured: every UPDATE of a rollup row names the case's own grid and no area above it, the
rows the two cases write are disjoint (also the department's), and the table itself shows it
— every row a step created or changed belongs to that step's grid. The street's and the
district's figures are still both cases' (summed at read time).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridlink.assessment.models import AREA, METRICS, IndicatorDay
from gridlink.assessment.selectors import counter_sums, period_parse, unit_parse
from gridlink.cases.models import Case
from gridlink.cases.services.intake import Report, case_create
from gridlink.cases.services.transitions import case_transition
from gridlink.cases.workflow import Action
from tests.cases_support import A11, CATEGORY, build_world

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 10, 12, 10, 0, tzinfo=SH)  # a Monday, a working day
A21 = {"lat": 35.95, "lon": 120.05}  # grid A2-1: street A, community A2
TABLE = IndicatorDay._meta.db_table
WHERE = re.compile(r'"grid_id"\s*=\s*(\d+)')
UNIT = re.compile(r"\"unit\"\s*=\s*'([^']*)'")


@pytest.fixture
def world(tree, personas):
    call_command("calendar", "seed", "--years", "2026", stdout=io.StringIO())
    return build_world(tree, personas)


def _snapshot() -> dict[int, tuple[Any, ...]]:
    return {
        r["id"]: (r["unit"], r["grid_id"], *(r[m] for m in METRICS))
        for r in IndicatorDay.objects.values("id", "unit", "grid_id", *METRICS)
    }


def _step(fn) -> tuple[set[tuple[str, int]], set[int]]:
    """Run one service call; return the rollup rows its UPDATEs named (unit, grid) and the
    grids of the rows it created or changed."""
    before = _snapshot()
    with CaptureQueriesContext(connection) as queries:
        fn()
    updated: set[tuple[str, int]] = set()
    for q in queries.captured_queries:
        sql = q["sql"]
        if sql.lstrip().upper().startswith("UPDATE") and TABLE in sql:
            grid, unit = WHERE.search(sql), UNIT.search(sql)
            assert grid and unit, f"a rollup UPDATE not keyed by grid and unit: {sql}"
            updated.add((unit.group(1), int(grid.group(1))))
    after = _snapshot()
    touched = {row[1] for pk, row in after.items() if before.get(pk) != row}
    assert not set(before) - set(after), "a step deleted rollup rows"
    return updated, touched


def test_case_events_of_two_grids_write_disjoint_rollup_rows(world):
    tree, um = world.tree, world.departments["UM"]
    grids = {"A1-1": tree.grids[0], "A2-1": tree.grids[2]}
    assert grids["A1-1"].parent.parent_id == grids["A2-1"].parent.parent_id  # one street
    written: dict[str, set[tuple[str, int]]] = {name: set() for name in grids}
    cases: dict[str, Case] = {}
    with time_machine.travel(NOW, tick=False):
        for name, where in (("A1-1", A11), ("A2-1", A21)):

            def intake(where=where, name=name) -> None:
                report = Report(channel="resident_web", category_code=CATEGORY,
                                description="垃圾满溢", anonymous=True, **where)  # fmt: skip
                cases[name] = case_create(actor=None, report=report).case

            steps = [intake]
            for action, inputs in (
                (Action.ACCEPT, {}),
                (Action.FILE, {}),
                (Action.DISPATCH, {"unit_id": f"department:{um.pk}"}),
            ):

                def transition(action=action, inputs=inputs, name=name) -> None:
                    case = Case.objects.get(pk=cases[name].pk)
                    case_transition(actor=None, case_id=case.pk, action=action,
                                    version=case.version, inputs=inputs, system=True,
                                    now=NOW)  # fmt: skip

                steps.append(transition)
            for step in steps:
                updated, touched = _step(step)
                grid = grids[name].pk
                assert cases[name].grid_id == grid
                # Only rows of this case's grid, never an area's above it.
                assert touched == {grid}, (name, touched)
                assert {g for _u, g in updated} <= {grid}
                assert all(u == AREA or not u.startswith("area") for u, _g in updated)
                written[name] |= updated
    # Both cases wrote rows (their grid's and the department's), and none in common.
    for name in grids:
        units = {u for u, _g in written[name]}
        assert AREA in units and f"dept:{um.pk}" in units, (name, units)
    assert not written["A1-1"] & written["A2-1"]
    # The street and the district still see both cases; each grid sees its own.
    day = period_parse(period=NOW.date().isoformat())
    street, district = tree.streets[0], tree.district
    for code, expected in ((street.code, 2), (district.code, 2), (grids["A1-1"].code, 1),
                           (grids["A2-1"].code, 1), (tree.streets[1].code, 0)):  # fmt: skip
        sums = counter_sums(unit_parse(f"area:{code}"), day)
        assert (sums["reported"], sums["filed"], sums["dispatched"]) == (expected,) * 3, code
    dept = counter_sums(unit_parse(f"dept:{um.code}"), day)
    assert dept["dispatched"] == 2
