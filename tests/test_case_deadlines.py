"""The deadline sweep: yellow then red cards, escalation up the ladder or supervision, and
idempotence (a second run at the same moment changes nothing)."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from gridlink.cases.models import Card, Case, CaseEvent, HandlingLevel
from gridlink.cases.services.intake import Report, case_create
from gridlink.cases.services.sweep import deadline_sweep
from gridlink.cases.services.transitions import case_transition
from tests.cases_support import A11, CATEGORY, build_world

SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SH)  # a working Monday


@pytest.fixture
def world(tree, personas):
    call_command("calendar", "seed", "--years", "2026", stdout=io.StringIO())
    return build_world(tree, personas)


def _dispatched(world, at: dt.datetime, unit: str = "UM") -> Case:
    disp = world.people["district_disp"]
    with time_machine.travel(at, tick=False):
        created = case_create(
            actor=None,
            report=Report(
                channel="resident_web",
                category_code=CATEGORY,
                description="垃圾堆放",
                anonymous=True,
                **A11,
            ),
        )
        case = created.case
        for action, inputs in (
            ("accept", {}),
            ("file", {}),
            ("dispatch", {"unit_id": f"department:{world.departments[unit].pk}"}),
        ):
            case = case_transition(actor=disp, case_id=case.pk, action=action,
                                   version=case.version, inputs=inputs)  # fmt: skip
    return case


def _kinds(case: Case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))


def test_sign_for_deadline_counts_working_hours_and_warns_halfway(world):
    case = _dispatched(world, MONDAY_10)
    # E0102: sign for within 1 working hour; shorter than the 1-day warning → warn halfway.
    assert case.deadline_at == MONDAY_10 + dt.timedelta(hours=1)
    assert case.yellow_at == MONDAY_10 + dt.timedelta(minutes=30)


def test_yellow_then_red_then_escalation_and_a_second_run_changes_nothing(world):
    case = _dispatched(world, MONDAY_10)
    assert deadline_sweep(now=MONDAY_10 + dt.timedelta(minutes=10)).as_dict() == {
        "yellow": 0, "red": 0, "escalated": 0, "supervised": 0, "task_yellow": 0,
        "task_red": 0}  # fmt: skip
    assert deadline_sweep(now=MONDAY_10 + dt.timedelta(minutes=40)).yellow == 1
    assert deadline_sweep(now=MONDAY_10 + dt.timedelta(minutes=40)).as_dict()["yellow"] == 0
    case.refresh_from_db()
    assert case.card == Card.YELLOW
    version = case.version

    late = MONDAY_10 + dt.timedelta(hours=2)
    first = deadline_sweep(now=late)
    assert (first.red, first.escalated) == (1, 1)
    case.refresh_from_db()
    assert case.state == "escalated"
    assert case.level == HandlingLevel.DISTRICT_CENTRE
    assert case.unit_department == world.departments["CC"]
    assert case.card == Card.NONE  # a new stage, a new clock
    assert case.deadline_at > late
    assert _kinds(case)[-3:] == ["yellow_card", "red_card", "escalate"]
    assert case.version == version + 2

    snapshot = (case.version, len(_kinds(case)))
    assert deadline_sweep(now=late).as_dict() == {
        "yellow": 0, "red": 0, "escalated": 0, "supervised": 0, "task_yellow": 0,
        "task_red": 0}  # fmt: skip
    case.refresh_from_db()
    assert (case.version, len(_kinds(case))) == snapshot


def test_overdue_at_the_top_of_the_ladder_is_supervised(world):
    case = _dispatched(world, MONDAY_10, unit="CC")
    assert case.level == HandlingLevel.DISTRICT_CENTRE
    result = deadline_sweep(now=MONDAY_10 + dt.timedelta(hours=3))
    assert (result.red, result.escalated, result.supervised) == (1, 0, 1)
    case.refresh_from_db()
    assert case.supervised and case.card == Card.RED
    assert deadline_sweep(now=MONDAY_10 + dt.timedelta(hours=4)).as_dict() == {
        "yellow": 0, "red": 0, "escalated": 0, "supervised": 0, "task_yellow": 0,
        "task_red": 0}  # fmt: skip


def test_supervise_policy(world, settings):
    settings.GRIDLINK_OVERDUE_POLICY = "supervise"
    case = _dispatched(world, MONDAY_10)
    result = deadline_sweep(now=MONDAY_10 + dt.timedelta(hours=3))
    assert (result.red, result.escalated, result.supervised) == (1, 0, 1)
    case.refresh_from_db()
    assert case.state == "dispatched" and case.supervised


def test_a_suspended_case_gets_no_card_and_resuming_moves_the_deadline(world):
    case = _dispatched(world, MONDAY_10)
    handler, disp = world.people["h_UM"], world.people["district_disp"]
    steps = [
        (handler, "sign_for", {}),
        (handler, "request_suspension", {"reason": "等待管线迁改"}),
        (world.people["head_UM"], "endorse_suspension", {}),  # two-step approval
        (disp, "approve_suspension", {}),
    ]
    with time_machine.travel(MONDAY_10 + dt.timedelta(minutes=20), tick=False):
        for actor, action, inputs in steps:
            case = case_transition(actor=actor, case_id=case.pk, action=action,
                                   version=case.version, inputs=inputs)  # fmt: skip
    original = case.deadline_at
    two_days_later = MONDAY_10 + dt.timedelta(days=2)
    assert deadline_sweep(now=two_days_later).as_dict()["red"] == 0
    with time_machine.travel(two_days_later, tick=False):
        case = case_transition(actor=disp, case_id=case.pk, action="resume",
                               version=case.version)  # fmt: skip
    assert case.deadline_at > original
    assert case.deadline_at > two_days_later
