"""Co-handlers' own deadlines in joint handling (吹哨报到, issue 9 §2): the dispatcher may give
each co-handler task its own working time when whistling (default: the lead's handle
deadline); the task shows it (API and case page); the sweep gives an open task the same
yellow and red cards as a case stage, each with an internal event."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from gridlink.cases.models import Card, Case, CaseEvent, CaseTask
from gridlink.cases.services.intake import Report, case_create
from gridlink.cases.services.joint import task_complete
from gridlink.cases.services.sweep import deadline_sweep
from gridlink.cases.services.transitions import case_transition
from gridlink.core.worktime import deadline_for
from tests.cases_support import A11, CATEGORY, build_world

SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SH)  # a working Monday
# E0102 (exposed garbage): sign for within 1 working hour, handle within 4.


@pytest.fixture
def world(tree, personas):
    call_command("calendar", "seed", "--years", "2026", stdout=io.StringIO())
    return build_world(tree, personas)


def _filed(world: Any) -> Case:
    disp = world.people["district_disp"]
    report = Report(channel="resident_web", category_code=CATEGORY, description="垃圾堆放",
                    anonymous=True, **A11)  # fmt: skip
    case = case_create(actor=None, report=report).case
    for action in ("accept", "file"):
        case = case_transition(actor=disp, case_id=case.pk, action=action, version=case.version)
    return case


def _whistle_api(world: Any, case: Case, **extra: Any) -> Any:
    um, hs, ec = (world.departments[c].pk for c in ("UM", "HS", "EC"))
    body = {"version": case.version, "department_ids": [um, hs, ec], "lead_department_id": um,
            "reason": "", **extra}  # fmt: skip
    return world.client("district_disp").post(
        f"/api/v1/cases/{case.pk}/actions/whistle",
        data=json.dumps(body),
        content_type="application/json",
    )


def _tasks(case: Case) -> dict[str, CaseTask]:
    return {t.department.code: t for t in CaseTask.objects.filter(case=case).select_related(
        "department")}  # fmt: skip


def test_a_co_handler_gets_its_own_deadline_and_the_others_the_leads(world):
    with time_machine.travel(MONDAY_10, tick=False):
        case = _filed(world)
        hs = world.departments["HS"].pk
        response = _whistle_api(world, case, task_deadlines={str(hs): "2h"})
    assert response.status_code == 200, response.content
    tasks = _tasks(case)
    lead_deadline = deadline_for(start_at=MONDAY_10, hours=4)
    assert tasks["UM"].deadline_at == lead_deadline and not tasks["UM"].own_deadline
    assert tasks["EC"].deadline_at == lead_deadline and not tasks["EC"].own_deadline
    assert tasks["HS"].deadline_at == deadline_for(start_at=MONDAY_10, hours=2)
    assert tasks["HS"].own_deadline
    assert MONDAY_10 < tasks["HS"].yellow_at < tasks["HS"].deadline_at  # type: ignore[operator]
    shown = {t["department_id"]: t for t in response.json()["tasks"]}
    assert shown[hs]["own_deadline"] is True
    assert dt.datetime.fromisoformat(shown[hs]["deadline_at"]) == tasks["HS"].deadline_at
    assert shown[world.departments["EC"].pk]["own_deadline"] is False
    assert shown[hs]["card"] == ""
    whistle = CaseEvent.objects.get(case=case, kind="whistle")
    (own,) = whistle.data["task_deadlines"].items()
    assert own[0] == str(hs) and dt.datetime.fromisoformat(own[1]) == tasks["HS"].deadline_at


@pytest.mark.parametrize(
    ("deadlines", "field", "code"),
    [
        ({"{UM}": "2h"}, "task_deadlines.{UM}", "not_a_co_handler"),  # the lead: the case's
        ({"{CC}": "2h"}, "task_deadlines.{CC}", "not_a_co_handler"),  # not summoned
        ({"abc": "2h"}, "task_deadlines.abc", "not_a_co_handler"),
        ({"{HS}": "3x"}, "task_deadlines.{HS}", "invalid_duration"),
        ({"{HS}": "0d"}, "task_deadlines.{HS}", "invalid_duration"),
        ({"{HS}": "5h"}, "task_deadlines.{HS}", "after_lead_deadline"),  # lead: 4 hours
    ],
)
def test_bad_task_deadlines_are_refused_naming_the_field_and_write_nothing(
    world, deadlines, field, code
):
    ids = {f"{{{c}}}": str(d.pk) for c, d in world.departments.items()}

    def fill(text: str) -> str:
        for k, v in ids.items():
            text = text.replace(k, v)
        return text

    with time_machine.travel(MONDAY_10, tick=False):
        case = _filed(world)
        events = CaseEvent.objects.filter(case=case).count()
        own = {fill(k): v for k, v in deadlines.items()}
        response = _whistle_api(world, case, task_deadlines=own)
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert (error["field"], error["code"]) == (fill(field), code)
    case.refresh_from_db()
    assert case.state == "filed" and not case.whistled
    assert not CaseTask.objects.filter(case=case).exists()
    assert CaseEvent.objects.filter(case=case).count() == events


def _whistled(world: Any, own: str | None = "2h") -> Case:
    with time_machine.travel(MONDAY_10, tick=False):
        case = _filed(world)
        um, hs, ec = (world.departments[c].pk for c in ("UM", "HS", "EC"))
        inputs: dict[str, Any] = {"department_ids": [um, hs, ec], "lead_department_id": um}
        if own:
            inputs["task_deadlines"] = {str(hs): own}
        case = case_transition(actor=world.people["district_disp"], case_id=case.pk,
                               action="whistle", version=case.version, inputs=inputs)  # fmt: skip
        return case_transition(actor=world.people["h_UM"], case_id=case.pk, action="sign_for",
                               version=case.version)  # fmt: skip


def _task_events(case: Case) -> list[tuple[str, int]]:
    return [
        (e.kind, e.data["task_id"])
        for e in CaseEvent.objects.filter(case=case, kind__startswith="task_").order_by("id")
        if e.kind.endswith("_card")
    ]


def test_the_sweep_cards_an_overdue_task_like_a_stage_with_an_event(world):
    case = _whistled(world)
    hs = _tasks(case)["HS"]
    assert hs.yellow_at is not None
    before = deadline_sweep(now=hs.yellow_at - dt.timedelta(minutes=1))
    assert (before.task_yellow, before.task_red) == (0, 0)

    first = deadline_sweep(now=hs.yellow_at)
    assert (first.task_yellow, first.task_red) == (1, 0)
    assert deadline_sweep(now=hs.yellow_at).task_yellow == 0  # idempotent
    hs.refresh_from_db()
    assert hs.card == Card.YELLOW
    assert _task_events(case) == [("task_yellow_card", hs.pk)]

    late = deadline_sweep(now=hs.deadline_at)
    assert (late.task_yellow, late.task_red) == (0, 1)
    hs.refresh_from_db()
    assert hs.card == Card.RED
    event = CaseEvent.objects.filter(case=case, kind="task_red_card").get()
    assert event.public is False and event.actor_role == "system"
    assert event.data["department_id"] == hs.department_id and event.data["own_deadline"]
    assert event.data["deadline_at"] == hs.deadline_at.isoformat()
    # The other tasks keep the lead's (later) deadline: not overdue yet.
    others = [t for code, t in _tasks(case).items() if code != "HS"]
    assert all(t.deadline_at > hs.deadline_at and t.card != Card.RED for t in others)
    assert deadline_sweep(now=hs.deadline_at + dt.timedelta(minutes=1)).task_red == 0
    # The card shows on the case page's task panel and in the API.
    page = world.client("district_disp").get(f"/cases/{case.pk}/")
    assert page.status_code == 200
    assert 'class="card-badge card-red"' in page.content.decode()
    detail = world.client("district_disp").get(f"/api/v1/cases/{case.pk}").json()
    assert {t["id"]: t["card"] for t in detail["tasks"]}[hs.pk] == "red"


def test_a_done_task_is_not_carded(world):
    case = _whistled(world)
    hs = _tasks(case)["HS"]
    with time_machine.travel(MONDAY_10 + dt.timedelta(minutes=5), tick=False):
        case.refresh_from_db()
        task_complete(actor=world.people["h_HS"], task_id=hs.pk, version=case.version,
                      result="已配合清理")  # fmt: skip
    result = deadline_sweep(now=hs.deadline_at + dt.timedelta(minutes=1))
    assert result.task_red == 0 and result.task_yellow == 0
    assert not _task_events(case)


def test_without_own_deadlines_every_task_has_the_leads_and_no_early_card(world):
    case = _whistled(world, own=None)
    tasks = _tasks(case)
    assert len({t.deadline_at for t in tasks.values()}) == 1
    assert not any(t.own_deadline for t in tasks.values())
    assert deadline_sweep(now=MONDAY_10 + dt.timedelta(minutes=30)).task_yellow == 0


def test_a_suspension_adds_to_an_own_deadline_and_no_card_while_suspended(world):
    case = _whistled(world)
    hs = _tasks(case)["HS"]
    due = hs.deadline_at
    steps = [
        ("h_UM", "start_handling", {}, 0),
        ("h_UM", "request_suspension", {"reason": "等待管线改造"}, 5),
        ("head_UM", "endorse_suspension", {}, 10),
        ("district_disp", "approve_suspension", {}, 30),
    ]
    for who, action, inputs, minutes in steps:
        with time_machine.travel(MONDAY_10 + dt.timedelta(minutes=minutes), tick=False):
            case = case_transition(actor=world.people[who], case_id=case.pk, action=action,
                                   version=case.version, inputs=inputs)  # fmt: skip
    assert deadline_sweep(now=due + dt.timedelta(minutes=1)).task_red == 0  # suspended
    with time_machine.travel(MONDAY_10 + dt.timedelta(minutes=90), tick=False):
        case_transition(actor=world.people["district_disp"], case_id=case.pk, action="resume",
                        version=case.version)  # fmt: skip
    hs.refresh_from_db()
    expected = deadline_for(start_at=MONDAY_10, hours=2, suspensions=[
        (MONDAY_10 + dt.timedelta(minutes=30), MONDAY_10 + dt.timedelta(minutes=90))])  # fmt: skip
    assert hs.deadline_at == expected > due
