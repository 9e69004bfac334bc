"""Offered == allowed: for every persona × every reachable state, `case_allowed_actions`
offers an action exactly when taking it with valid inputs is not refused.

The cases are built once per module through the real services (`case_create`,
`case_transition`, the joint-handling task steps) into every state of the table, and into the
variants the guards look at (one extension used, already supervised, an assigned verifier,
the handler as verifier, open co-tasks, the top of the ladder, units at every level). Every
persona of `tests/conftest.py` (one per role) plus the unit's staff (department head, street
office, hotline operator) then tries every action of the case's state, each attempt inside a
savepoint that is rolled back, so attempts do not affect each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import override_settings

from gridlink.accounts.roles import Role
from gridlink.cases.models import Case, CaseTask
from gridlink.cases.services.intake import Report, case_create, photo_upload
from gridlink.cases.services.joint import task_complete
from gridlink.cases.services.transitions import case_allowed_actions, case_transition
from gridlink.cases.workflow import TRANSITIONS, Action, State
from gridlink.core.errors import DomainError
from tests.cases_support import A11, CATEGORY, png_bytes
from tests.conftest import build_personas, build_tree
from tests.factories import DepartmentFactory, RoleAssignmentFactory, UserFactory
from tests.reference_data import ensure_reference_data

S = State
A = Action
Step = tuple[str | None, str, dict[str, Any]]  # (who acts — a persona name or None, …)


@dataclass
class World:
    people: dict[str, Any]
    unit: Any  # personas.department (CG-B): the unit department, its handler is a persona
    co: Any  # a co-handling department
    community: Any
    street: Any
    photo: str
    parent_id: int
    cases: dict[str, int] = field(default_factory=dict)


def _paths(w: World) -> dict[str, tuple[str, list[Step]]]:
    """Scenario → (how it is reported, the steps after reporting)."""
    unit = {"unit_id": f"department:{w.unit.pk}"}
    community = {"unit_id": f"area:{w.community.pk}"}
    why = {"reason": "测试原因"}
    evidence = {"evidence": [w.photo], "result": "已处置"}
    filed: list[Step] = [(None, A.ACCEPT, {}), (None, A.FILE, {})]
    dispatched = [*filed, (None, A.DISPATCH, unit)]
    signed = [*dispatched, ("dept_handler", A.SIGN_FOR, {})]
    in_progress = [*signed, ("dept_handler", A.START_HANDLING, {})]
    ext_requested = [
        *signed,
        ("dept_handler", A.REQUEST_EXTENSION, {"reason": "材料未到", "duration": "2d"}),
    ]
    ext_endorsed = [*ext_requested, ("dept_head", A.ENDORSE_EXTENSION, {})]
    extended = [*ext_endorsed, ("dispatcher", A.APPROVE_EXTENSION, {})]
    sus_requested = [*in_progress, ("dept_handler", A.REQUEST_SUSPENSION, why)]
    sus_endorsed = [*sus_requested, ("dept_head", A.ENDORSE_SUSPENSION, {})]
    suspended = [*sus_endorsed, ("dispatcher", A.APPROVE_SUSPENSION, {})]
    handled = [*in_progress, ("dept_handler", A.SUBMIT_RESULT, evidence)]
    verifying = [
        *handled,
        (None, A.SEND_FOR_VERIFICATION, {"verifier_id": w.people["grid_worker"].pk}),
    ]
    verified = [*verifying, ("grid_worker", A.VERIFY_PASS, {})]
    closed = [*verified, ("dispatcher", A.CLOSE, {})]
    whistled = [
        *filed,
        (
            None,
            A.WHISTLE,
            {"department_ids": [w.unit.pk, w.co.pk], "lead_department_id": w.unit.pk},
        ),
        ("dept_handler", A.SIGN_FOR, {}),
        ("dept_handler", A.START_HANDLING, {}),
    ]
    on_spot = [("grid_worker", A.HANDLE_ON_THE_SPOT, {"evidence": [w.photo]})]
    c_signed = [*filed, (None, A.DISPATCH, community), ("community_staff", A.SIGN_FOR, {})]
    web, patrol = "resident_web", "grid_patrol"
    return {
        "reported": (web, []),
        "reported_patrol": (patrol, []),
        "accepted": (web, [(None, A.ACCEPT, {})]),
        "invalid": (web, [(None, A.INVALIDATE, why)]),
        "merged": (web, [(None, A.MERGE, {"parent_case_id": w.parent_id})]),
        "filed": (web, filed),
        "dispatched": (web, dispatched),
        "returned": (web, [*dispatched, ("dept_handler", A.RETURN_NOT_OUR_DUTY, why)]),
        "escalated_to_the_top": (web, [*dispatched, (None, A.ESCALATE, why)]),
        "escalated_to_the_street": (
            web,
            [*filed, (None, A.DISPATCH, community), (None, A.ESCALATE, why)],
        ),
        "signed": (web, signed),
        "in_progress": (web, in_progress),
        "extension_requested": (web, ext_requested),
        "extension_endorsed": (web, ext_endorsed),
        "extended": (web, extended),
        "in_progress_after_its_extension": (
            web,
            [
                *extended,
                ("dept_handler", A.REQUEST_SUSPENSION, why),
                ("dept_head", A.ENDORSE_SUSPENSION, {}),
                ("dispatcher", A.APPROVE_SUSPENSION, {}),
                ("dispatcher", A.RESUME, {}),
            ],
        ),
        "community_extension_requested": (
            web,
            [
                *c_signed,
                ("community_staff", A.REQUEST_EXTENSION, {"reason": "等待", "duration": "1d"}),
            ],
        ),
        "community_in_progress": (web, [*c_signed, ("community_staff", A.START_HANDLING, {})]),
        "suspension_requested": (web, sus_requested),
        "suspension_endorsed": (web, sus_endorsed),
        "suspended": (web, suspended),
        "joint_with_open_co_task": (web, whistled),
        "joint_co_task_done": (web, [*whistled, ("co_handler", "task_complete", {})]),
        "supervised_in_progress": (web, [*in_progress, (None, A.SUPERVISE, why)]),
        "handled": (web, handled),
        "handled_on_the_spot": (patrol, on_spot),
        "verifying": (web, verifying),
        "verifying_by_the_supervisor": (
            web,
            [*handled, (None, A.SEND_FOR_VERIFICATION, {"verifier_id": w.people["supervisor"].pk})],
        ),
        "verifying_own_work": (
            patrol,
            [*on_spot, (None, A.SEND_FOR_VERIFICATION, {"verifier_id": w.people["supervisor"].pk})],
        ),
        "verified": (web, verified),
        "rework": (web, [*verifying, ("grid_worker", A.VERIFY_FAIL, why)]),
        "closed": (web, closed),
        "closed_patrol": (patrol, closed),
        "evaluated": (
            web,
            [*closed, ("resident", A.RATE, {"satisfaction": "satisfied", "solved": True})],
        ),
        "reopened": (
            web,
            [*closed, ("resident", A.RATE, {"satisfaction": "dissatisfied", "solved": False})],
        ),
    }


def _report(w: World, channel: str) -> int:
    who = w.people["resident"] if channel == "resident_web" else w.people["grid_worker"]
    report = Report(
        channel=channel,
        category_code=CATEGORY,
        description="小区门口垃圾堆放三天无人清理，气味很大",
        **A11,
    )
    return case_create(actor=who, report=report).case.pk


def _take(w: World, case_id: int, who: str | None, action: str, inputs: dict[str, Any]) -> None:
    actor = w.people[who] if who else None
    if action == "task_complete":
        case = Case.objects.get(pk=case_id)
        task = CaseTask.objects.get(case_id=case_id, department=w.co)
        task_complete(actor=actor, task_id=task.pk, version=case.version, result="协办完成")
        return
    if "evidence" in inputs:  # each photo is claimed once: a fresh upload per step
        inputs = {**inputs, "evidence": [_upload()]}
    version = Case.objects.get(pk=case_id).version
    if actor is None:
        case_transition(
            actor=None, case_id=case_id, action=action, version=None, inputs=inputs, system=True
        )
    else:
        case_transition(actor=actor, case_id=case_id, action=action, version=version, inputs=inputs)


def _upload() -> str:
    upload = SimpleUploadedFile("p.png", png_bytes(), "image/png")
    return photo_upload(actor=None, upload=upload).key


def _build(tree: Any) -> World:
    ensure_reference_data()  # after a transactional test's flush
    personas = build_personas(tree)
    people = {
        name: getattr(personas, name)
        for name in (
            "admin",
            "grid_worker",
            "community_staff",
            "dispatcher",
            "dept_handler",
            "supervisor",
            "resident",
        )
    }

    def person(name: str, role: str, **scope: Any) -> None:
        people[name] = UserFactory(username=f"offered_{name}")
        RoleAssignmentFactory(user=people[name], role=role, **scope)

    unit = personas.department
    co = DepartmentFactory(code="HS", kind="housing", name_zh="区住建局")
    centre = DepartmentFactory(code="CC", kind="command_centre", name_zh="区指挥中心")
    for dept in (unit, co, centre):
        dept.areas.add(tree.district)
    person("dept_head", Role.DEPT_HEAD, department=unit)
    person("street_staff", Role.STREET_STAFF, area=tree.streets[0])
    person("hotline", Role.HOTLINE_OPERATOR, area=tree.district)
    person("co_handler", Role.DEPT_HANDLER, department=co)
    w = World(
        people=people,
        unit=unit,
        co=co,
        community=tree.communities[0],
        street=tree.streets[0],
        photo=_upload(),
        parent_id=0,
    )
    w.parent_id = _report(w, "grid_patrol")
    for name, (channel, steps) in _paths(w).items():
        case_id = _report(w, channel)
        for who, action, inputs in steps:
            _take(w, case_id, who, action, inputs)
        w.cases[name] = case_id
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    media = tmp_path_factory.mktemp("media")
    with (
        django_db_blocker.unblock(),
        override_settings(
            PASSWORD_HASHERS=fast, MEDIA_ROOT=media, GRIDLINK_INTAKE_RATE_PER_HOUR=1000
        ),
    ):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield _build(build_tree())
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _inputs(action: Action, w: World, case: Case) -> dict[str, Any]:
    """Valid inputs for `action` on `case` (the rules that depend on inputs are met)."""
    match action:
        case A.MERGE:
            return {"parent_case_id": w.parent_id}
        case A.DISPATCH:
            return {"unit_id": f"department:{w.unit.pk}"}
        case A.WHISTLE:
            return {"department_ids": [w.unit.pk, w.co.pk], "lead_department_id": w.unit.pk}
        case A.REQUEST_EXTENSION:
            return {"reason": "需要协调物业", "duration": "2d"}
        case A.HANDLE_ON_THE_SPOT | A.SUBMIT_RESULT:
            return {"evidence": [w.photo], "result": "已清理"}
        case A.SEND_FOR_VERIFICATION:
            gw = w.people["grid_worker"]
            verifier = w.people["supervisor"] if case.handled_by_id == gw.pk else gw
            return {"verifier_id": verifier.pk}
        case A.RATE:
            return {"satisfaction": "satisfied", "solved": True}
        case A.RECORD_CONTACT:
            return {"method": "phone", "note": "电话联系"}
    return {"reason": "测试原因"}


SCENARIOS = [
    "reported",
    "reported_patrol",
    "accepted",
    "invalid",
    "merged",
    "filed",
    "dispatched",
    "returned",
    "escalated_to_the_top",
    "escalated_to_the_street",
    "signed",
    "in_progress",
    "extension_requested",
    "extension_endorsed",
    "extended",
    "in_progress_after_its_extension",
    "community_extension_requested",
    "community_in_progress",
    "suspension_requested",
    "suspension_endorsed",
    "suspended",
    "joint_with_open_co_task",
    "joint_co_task_done",
    "supervised_in_progress",
    "handled",
    "handled_on_the_spot",
    "verifying",
    "verifying_by_the_supervisor",
    "verifying_own_work",
    "verified",
    "rework",
    "closed",
    "closed_patrol",
    "evaluated",
    "reopened",
]


@pytest.mark.django_db
def test_the_scenarios_reach_every_state(world):
    assert set(SCENARIOS) == set(world.cases)
    reached = set(Case.objects.filter(pk__in=world.cases.values()).values_list("state", flat=True))
    assert reached == set(State)


def _attempt(actor: Any, case: Case, action: Action, inputs: dict[str, Any]) -> str | None:
    """Take `action` in a savepoint that is rolled back; the refusal's code, or None."""
    sid = transaction.savepoint_create()
    try:
        case_transition(
            actor=actor, case_id=case.pk, action=action, version=case.version, inputs=inputs
        )
    except DomainError as refused:
        return refused.code or type(refused).__name__
    finally:
        transaction.savepoint_rollback(sid)
    return None


@pytest.mark.django_db
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_offered_exactly_when_allowed(world, scenario):
    case = Case.objects.select_related(
        "grid", "unit_area", "unit_department", "category", "handled_by"
    ).get(pk=world.cases[scenario])
    in_table = {t.action for t in TRANSITIONS if case.state in t.sources}
    mismatches = []
    offered_to_someone = False
    for name, actor in world.people.items():
        offered = set(case_allowed_actions(actor, case))
        assert offered <= in_table, (name, offered - in_table)
        offered_to_someone |= bool(offered)
        for action in sorted(in_table):
            refusal = _attempt(actor, case, action, _inputs(action, world, case))
            if (action in offered) != (refusal is None):
                mismatches.append(
                    (
                        name,
                        str(action),
                        "offered" if action in offered else "not offered",
                        refusal or "taken",
                    )
                )
    assert not mismatches, f"{scenario} ({case.state}): {mismatches}"
    if case.state not in (S.INVALID, S.MERGED):
        assert offered_to_someone, f"nobody may act on {scenario}"


GUARDED = {
    # scenario: (persona, action, the guard's refusal code)
    "escalated_to_the_top": ("dispatcher", A.ESCALATE, "top_of_ladder"),
    "in_progress_after_its_extension": ("dept_handler", A.REQUEST_EXTENSION, "extension_limit"),
    "extension_requested": ("dispatcher", A.APPROVE_EXTENSION, "head_approval_required"),
    "suspension_requested": ("dispatcher", A.APPROVE_SUSPENSION, "head_approval_required"),
    "joint_with_open_co_task": ("dept_handler", A.SUBMIT_RESULT, "tasks_open"),
    "supervised_in_progress": ("supervisor", A.SUPERVISE, "already_supervised"),
    "verifying_by_the_supervisor": ("grid_worker", A.VERIFY_PASS, "not_the_verifier"),
    "verifying_own_work": ("grid_worker", A.VERIFY_PASS, "verifier_is_handler"),
}
ALLOWED = [
    # the same actions where the guard lets them through
    ("escalated_to_the_street", "dispatcher", A.ESCALATE),
    ("in_progress", "dept_handler", A.REQUEST_EXTENSION),
    ("extension_endorsed", "dispatcher", A.APPROVE_EXTENSION),
    ("community_extension_requested", "dispatcher", A.APPROVE_EXTENSION),
    ("suspension_endorsed", "dispatcher", A.APPROVE_SUSPENSION),
    ("joint_co_task_done", "dept_handler", A.SUBMIT_RESULT),
    ("in_progress", "supervisor", A.SUPERVISE),
    ("verifying", "grid_worker", A.VERIFY_PASS),
    ("verifying_by_the_supervisor", "supervisor", A.VERIFY_PASS),
]


@pytest.mark.django_db
@pytest.mark.parametrize("scenario", sorted(GUARDED))
def test_each_guard_is_met_by_a_scenario(world, scenario):
    """The scenarios do exercise every guard: refused by it and not offered."""
    name, action, code = GUARDED[scenario]
    case = Case.objects.select_related("grid", "unit_area").get(pk=world.cases[scenario])
    actor = world.people[name]
    assert action not in case_allowed_actions(actor, case)
    assert _attempt(actor, case, action, _inputs(action, world, case)) == code


@pytest.mark.django_db
@pytest.mark.parametrize(("scenario", "name", "action"), ALLOWED)
def test_and_lets_the_same_action_through_elsewhere(world, scenario, name, action):
    case = Case.objects.select_related("grid", "unit_area").get(pk=world.cases[scenario])
    actor = world.people[name]
    assert action in case_allowed_actions(actor, case)
    assert _attempt(actor, case, action, _inputs(action, world, case)) is None
