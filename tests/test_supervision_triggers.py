"""Supervision means an order, not a flag (issue 9 §3).

Each automatic trigger — dissatisfied twice, three failed verifications, an overdue case
under the overdue policy — opens a real supervision order (督办单) through the same service
as a supervisor's, with its reason, a deadline from the policy, the unit responsible at that
moment and a `supervise` event on the case. An overdue order escalates to a named higher
unit and notifies its leaders through the outbox. `supervised` has one writer.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from gridlink.accounts.roles import Role
from gridlink.cases.models import Case, CaseEvent
from gridlink.cases.services.intake import Report, case_create, photo_upload
from gridlink.cases.services.sweep import deadline_sweep
from gridlink.cases.services.transitions import case_transition
from gridlink.cases.workflow import Action
from gridlink.cases.workflow_table import Trigger
from gridlink.core.worktime import add_working_days
from gridlink.outbox.models import OutboxEntry
from gridlink.supervision.models import SupervisionOrder
from gridlink.supervision.policy import AUTOMATIC
from gridlink.supervision.services import order_open, orders_sweep
from tests.cases_support import A11, CATEGORY, build_world, png_bytes
from tests.factories import DepartmentFactory, RoleAssignmentFactory, UserFactory

A = Action
SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SH)  # a working Monday


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world(tree, personas):
    call_command("calendar", "seed", "--years", "2026", stdout=io.StringIO())
    return build_world(tree, personas)


def _evidence() -> list[str]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("p.png", png_bytes(), "image/png")
    return [photo_upload(actor=None, upload=upload).key]


def _sys(case: Case, action: str, at: dt.datetime, **inputs: Any) -> Case:
    return case_transition(actor=None, case_id=case.pk, action=action, version=None,
                           inputs=inputs, system=True, now=at)  # fmt: skip


def _dispatched(world: Any, at: dt.datetime, unit: Any = None) -> Case:
    with time_machine.travel(at, tick=False):
        case = case_create(
            actor=None,
            report=Report(channel="resident_web", category_code=CATEGORY,
                          description="小区门口垃圾堆放", anonymous=True, **A11),
        ).case  # fmt: skip
    unit = unit or world.departments["UM"]
    case = _sys(case, A.ACCEPT, at)
    case = _sys(case, A.FILE, at)
    return _sys(case, A.DISPATCH, at, unit_id=f"department:{unit.pk}")


def _handled(world: Any, at: dt.datetime) -> Case:
    case = _dispatched(world, at)
    for action in (A.SIGN_FOR, A.START_HANDLING):
        case = _sys(case, action, at)
    return _sys(case, A.SUBMIT_RESULT, at, evidence=_evidence(), result="已清理")


def _only_order(case: Case) -> SupervisionOrder:
    orders = list(SupervisionOrder.objects.filter(case=case))
    assert len(orders) == 1, orders
    return orders[0]


def _supervise_events(case: Case) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case, kind=A.SUPERVISE).order_by("id"))


def _assert_automatic(case: Case, trigger: str, at: dt.datetime) -> SupervisionOrder:
    case.refresh_from_db()
    assert case.supervised
    order = _only_order(case)
    policy = AUTOMATIC[trigger]
    assert order.trigger == trigger
    assert order.opened_by_id is None
    assert order.level == policy.level
    assert order.deadline_days == policy.deadline_days
    assert order.deadline_at == add_working_days(start_at=at, days=policy.deadline_days)
    assert order.accountable_department_id == case.unit_department_id
    assert str(policy.instructions) in order.instructions
    (event,) = _supervise_events(case)
    assert event.actor_role == "system" and event.reason
    assert event.data["order"] == order.code and event.data["trigger"] == trigger
    assert OutboxEntry.objects.filter(
        topic="supervision.opened", payload__code=order.code, payload__trigger=trigger
    ).exists()
    return order


@pytest.mark.django_db
def test_the_third_failed_verification_opens_an_order(world):
    case = _handled(world, MONDAY_10)
    verifier = world.personas.grid_worker
    for n in (1, 2, 3):
        case = _sys(case, A.SEND_FOR_VERIFICATION, MONDAY_10, verifier_id=verifier.pk)
        case = _sys(case, A.VERIFY_FAIL, MONDAY_10, reason=f"第{n}次核查仍有垃圾")
        if n < 3:
            assert not case.supervised
            assert not SupervisionOrder.objects.filter(case=case).exists()
            case = _sys(case, A.SUBMIT_RESULT, MONDAY_10, evidence=_evidence(), result="再清理")
    assert case.supervised  # the object the transition returned is current
    order = _assert_automatic(case, Trigger.VERIFICATION_FAILED, MONDAY_10)
    assert order.accountable_department_id == world.departments["UM"].pk


@pytest.mark.django_db
def test_dissatisfied_twice_opens_an_order(world):
    case = _handled(world, MONDAY_10)
    for n in (1, 2):
        case = _sys(case, A.SEND_FOR_VERIFICATION, MONDAY_10,
                    verifier_id=world.personas.grid_worker.pk)  # fmt: skip
        case = _sys(case, A.VERIFY_PASS, MONDAY_10)
        case = _sys(case, A.CLOSE, MONDAY_10)
        case = _sys(case, A.RATE, MONDAY_10, satisfaction="dissatisfied", solved=False)
        assert case.state == "reopened"
        if n == 1:
            assert not SupervisionOrder.objects.filter(case=case).exists()
            for action in (A.START_HANDLING,):
                case = _sys(case, action, MONDAY_10)
            case = _sys(case, A.SUBMIT_RESULT, MONDAY_10, evidence=_evidence(), result="重办")
    _assert_automatic(case, Trigger.DISSATISFIED_TWICE, MONDAY_10)


@pytest.mark.django_db
def test_an_overdue_case_under_the_supervise_policy_opens_an_order(world, settings):
    settings.GRIDLINK_OVERDUE_POLICY = "supervise"
    case = _dispatched(world, MONDAY_10)
    later = MONDAY_10 + dt.timedelta(hours=3)
    result = deadline_sweep(now=later)
    assert (result.red, result.supervised) == (1, 1)
    _assert_automatic(case, Trigger.OVERDUE, later)
    assert deadline_sweep(now=later + dt.timedelta(hours=1)).supervised == 0
    assert SupervisionOrder.objects.filter(case=case).count() == 1


@pytest.mark.django_db
def test_overdue_at_the_top_of_the_ladder_opens_an_order_for_the_centre(world):
    case = _dispatched(world, MONDAY_10, unit=world.departments["CC"])
    later = MONDAY_10 + dt.timedelta(hours=3)
    deadline_sweep(now=later)
    order = _assert_automatic(case, Trigger.OVERDUE, later)
    assert order.accountable_department_id == world.departments["CC"].pk


@pytest.mark.django_db
def test_a_supervisors_supervise_action_opens_a_manual_order(world):
    case = _dispatched(world, MONDAY_10)
    supervisor = world.personas.supervisor
    case = case_transition(actor=supervisor, case_id=case.pk, action=A.SUPERVISE,
                           version=case.version, inputs={"reason": "群众反映强烈"},
                           now=MONDAY_10)  # fmt: skip
    order = _only_order(case)
    assert (order.trigger, order.opened_by_id) == (Trigger.MANUAL, supervisor.pk)
    assert "群众反映强烈" in order.instructions
    (event,) = _supervise_events(case)
    assert (event.actor_role, event.data["order"]) == (Role.SUPERVISOR, order.code)


@pytest.mark.django_db
def test_an_order_opened_by_a_supervisor_is_one_order_and_one_event(world):
    case = _dispatched(world, MONDAY_10)
    order = order_open(actor=world.personas.supervisor, case=case, instructions="限期清运",
                       deadline_days=3, now=MONDAY_10)  # fmt: skip
    assert _only_order(case) == order
    (event,) = _supervise_events(case)
    assert event.data["order"] == order.code and event.data["trigger"] == Trigger.MANUAL
    case.refresh_from_db()
    assert case.supervised


@pytest.mark.django_db
def test_a_forged_order_code_is_refused(world):
    from gridlink.core.errors import DomainError

    case = _dispatched(world, MONDAY_10)
    with pytest.raises(DomainError) as refused:
        case_transition(actor=world.personas.supervisor, case_id=case.pk, action=A.SUPERVISE,
                        version=case.version,
                        inputs={"reason": "x", "order_code": "DB-2026-999999"})  # fmt: skip
    assert refused.value.field == "order_code"
    case.refresh_from_db()
    assert not case.supervised and not _supervise_events(case)


def test_supervised_has_exactly_one_writer():
    """`supervised` is written in one place: the `supervise` effect (attribute assignments
    and bulk updates; filters such as `filter(supervised=True)` only read)."""
    root = Path(__file__).resolve().parents[1] / "gridlink"
    writers = [
        f"{path.relative_to(root)}:{n}"
        for path in root.rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"\.supervised\s*=(?!=)", line) or re.search(r"update\(.*supervised\s*=", line)
    ]
    assert writers == [next(w for w in writers if w.startswith("cases/services/effects.py"))]


# --- Escalation of an overdue order -----------------------------------------------------------


def _leader(username: str, role: str, **scope: Any) -> Any:
    user = UserFactory(username=username, email=f"{username}@example.cn")
    RoleAssignmentFactory(user=user, role=role, **scope)
    return user


@pytest.mark.django_db
def test_an_overdue_order_escalates_up_the_department_ladder_and_notifies(world, tree):
    bureau = world.departments["UM"]
    station = DepartmentFactory(code="UM-A", kind="urban_management", name_zh="街道A城管中队",
                                parent=bureau)  # fmt: skip
    station.areas.add(tree.streets[0])
    bureau_head = _leader("bureau_head", Role.DEPT_HEAD, department=bureau)
    centre_head = _leader("centre_head", Role.DEPT_HEAD, department=world.departments["CC"])
    order = order_open(actor=world.personas.supervisor, department=station,
                       instructions="限期整改", deadline_days=1, now=MONDAY_10)  # fmt: skip

    first = order.deadline_at + dt.timedelta(minutes=1)
    assert orders_sweep(now=first)["escalated"] == 1
    order.refresh_from_db()
    assert order.escalated_to_department_id == bureau.pk  # the station's parent bureau
    event = order.events.latest("id")
    assert event.data["escalated_to"]["code"] == "UM"
    assert bureau_head.pk in event.data["notified_user_ids"]
    entry = OutboxEntry.objects.filter(topic="supervision.escalated").latest("id")
    assert entry.payload["escalated_to"]["id"] == bureau.pk
    assert entry.payload["escalated_to_department_id"] == bureau.pk
    assert "bureau_head@example.cn" in entry.emails

    second = order.deadline_at + dt.timedelta(minutes=1)
    orders_sweep(now=second)
    order.refresh_from_db()
    assert order.escalated_to_department_id == world.departments["CC"].pk  # then the centre
    entry = OutboxEntry.objects.filter(topic="supervision.escalated").latest("id")
    assert entry.emails == ["centre_head@example.cn"]
    assert centre_head.pk in order.events.latest("id").data["notified_user_ids"]


@pytest.mark.django_db
def test_an_overdue_order_on_a_grid_escalates_to_the_community_then_the_street(world, tree):
    community_lead = _leader("c_lead", Role.COMMUNITY_STAFF, area=tree.communities[0])
    _leader("s_lead", Role.STREET_STAFF, area=tree.streets[0])
    order = order_open(actor=world.personas.supervisor, area=tree.grids[0],
                       instructions="网格内问题限期整改", deadline_days=1,
                       now=MONDAY_10)  # fmt: skip
    orders_sweep(now=order.deadline_at + dt.timedelta(minutes=1))
    order.refresh_from_db()
    assert order.escalated_to_area_id == tree.communities[0].pk
    entry = OutboxEntry.objects.filter(topic="supervision.escalated").latest("id")
    assert community_lead.email in entry.emails
    orders_sweep(now=order.deadline_at + dt.timedelta(minutes=1))
    order.refresh_from_db()
    assert order.escalated_to_area_id == tree.streets[0].pk
    entry = OutboxEntry.objects.filter(topic="supervision.escalated").latest("id")
    assert entry.emails == ["s_lead@example.cn"]


@pytest.mark.django_db
def test_the_api_shows_the_trigger_and_where_the_order_went(world, client):
    case = _dispatched(world, MONDAY_10, unit=world.departments["CC"])
    deadline_sweep(now=MONDAY_10 + dt.timedelta(hours=3))
    order = _only_order(case)
    client.force_login(world.personas.supervisor)
    body = client.get(f"/api/v1/supervision/orders/{order.pk}").json()
    assert (body["trigger"], body["opened_by"], body["escalated_to"]) == ("overdue", None, None)
