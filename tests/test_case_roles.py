"""The role matrix of the case workflow: every action × every role × in / out of scope.

For each action the case sits in one of the action's source states (reached once per module
through system transitions, so its deadline fields are real); each test gives a fresh user
exactly one role, scoped over the case (in scope) or beside it (a sibling grid, community or
street, another department, another resident), and takes the action through
`case_transition`. Allowed iff the role is in the table's row *and* the scope covers the case
under the rules of `gridlink.cases.permissions`; `case_allowed_actions` must agree.

The world is built once per module inside a transaction that is rolled back at the end; each
test runs in its own savepoint (pytest-django's `db`), so the tests stay independent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict

from gridlink.accounts.roles import Role
from gridlink.cases.models import Case, CaseEvent
from gridlink.cases.permissions import UNIT_ACTIONS
from gridlink.cases.services import SHIPPED_TAXONOMY, taxonomy_load
from gridlink.cases.services.intake import Report, case_create, photo_upload
from gridlink.cases.services.transitions import case_allowed_actions, case_transition
from gridlink.cases.workflow import TRANSITIONS, Action, State, transition_for
from gridlink.core.errors import NotPermitted
from gridlink.outbox.models import OutboxEntry
from tests.cases_support import A11, CATEGORY, png_bytes
from tests.conftest import build_tree, module_data
from tests.factories import DepartmentFactory, RoleAssignmentFactory, UserFactory

S = State
A = Action

# The source state each action is tried from (checked against the table below).
SOURCE: dict[Action, State] = {
    A.ACCEPT: S.REPORTED,
    A.INVALIDATE: S.REPORTED,
    A.MERGE: S.REPORTED,
    A.FILE: S.ACCEPTED,
    A.FILE_DIRECTLY: S.REPORTED,
    A.HANDLE_ON_THE_SPOT: S.REPORTED,
    A.DISPATCH: S.FILED,
    A.WHISTLE: S.FILED,
    A.SIGN_FOR: S.DISPATCHED,
    A.RETURN_NOT_OUR_DUTY: S.DISPATCHED,
    A.REJECT_RETURN: S.RETURNED,
    A.ESCALATE: S.DISPATCHED,
    A.START_HANDLING: S.SIGNED,
    A.REQUEST_EXTENSION: S.SIGNED,
    A.ENDORSE_EXTENSION: S.EXTENSION_REQUESTED,
    A.APPROVE_EXTENSION: S.EXTENSION_ENDORSED,
    A.DENY_EXTENSION: S.EXTENSION_REQUESTED,
    A.REQUEST_SUSPENSION: S.SIGNED,
    A.ENDORSE_SUSPENSION: S.SUSPENSION_REQUESTED,
    A.APPROVE_SUSPENSION: S.SUSPENSION_ENDORSED,
    A.DENY_SUSPENSION: S.SUSPENSION_REQUESTED,
    A.RESUME: S.SUSPENDED,
    A.SUBMIT_RESULT: S.IN_PROGRESS,
    A.SEND_FOR_VERIFICATION: S.HANDLED,
    A.VERIFY_PASS: S.VERIFYING,
    A.VERIFY_FAIL: S.VERIFYING,
    A.CLOSE: S.VERIFIED,
    A.RATE: S.CLOSED,
    A.REOPEN: S.CLOSED,
    A.RECORD_CONTACT: S.SIGNED,
    A.SUPERVISE: S.FILED,
}

VERIFY_ACTIONS = frozenset({A.VERIFY_PASS, A.VERIFY_FAIL})


@dataclass
class World:
    tree: Any
    unit: Any  # the department the case is dispatched to
    other_department: Any
    centre: Any
    setup_grid_worker: Any  # reports the cases and is the assigned verifier in setup
    handler: Any  # handled the case (for the verification rows)
    reporter: Any  # the reporting resident when the actor is not the reporter
    parent_id: int  # an open case to merge into
    cases: dict[State, int] = field(default_factory=dict)


def _path(state: State, unit_id: str, evidence_key: str, verifier_id: int) -> list[tuple]:
    """System transitions leading from `reported` to `state`."""
    filed = [(A.ACCEPT, {}), (A.FILE, {})]
    dispatched = [*filed, (A.DISPATCH, {"unit_id": unit_id})]
    signed = [*dispatched, (A.SIGN_FOR, {})]
    in_progress = [*signed, (A.START_HANDLING, {})]
    suspension_requested = [*signed, (A.REQUEST_SUSPENSION, {"reason": "等待管线改造"})]
    suspension_endorsed = [*suspension_requested, (A.ENDORSE_SUSPENSION, {})]
    extension_requested = [*signed, (A.REQUEST_EXTENSION, {"reason": "材料未到", "duration": "2d"})]
    handled = [*in_progress, (A.SUBMIT_RESULT, {"evidence": [evidence_key], "result": "已处置"})]
    verifying = [*handled, (A.SEND_FOR_VERIFICATION, {"verifier_id": verifier_id})]
    verified = [*verifying, (A.VERIFY_PASS, {})]
    return {
        S.REPORTED: [],
        S.ACCEPTED: [(A.ACCEPT, {})],
        S.FILED: filed,
        S.DISPATCHED: dispatched,
        S.RETURNED: [*dispatched, (A.RETURN_NOT_OUR_DUTY, {"reason": "不属于本单位"})],
        S.SIGNED: signed,
        S.IN_PROGRESS: in_progress,
        S.EXTENSION_REQUESTED: extension_requested,
        S.EXTENSION_ENDORSED: [*extension_requested, (A.ENDORSE_EXTENSION, {})],
        S.SUSPENSION_REQUESTED: suspension_requested,
        S.SUSPENSION_ENDORSED: suspension_endorsed,
        S.SUSPENDED: [*suspension_endorsed, (A.APPROVE_SUSPENSION, {})],
        S.HANDLED: handled,
        S.VERIFYING: verifying,
        S.VERIFIED: verified,
        S.CLOSED: [*verified, (A.CLOSE, {})],
    }[state]


def _photo_key(name: str = "p.png") -> str:
    upload = SimpleUploadedFile(name, png_bytes(), "image/png")
    return photo_upload(actor=None, upload=upload).key


def _build_world(tree: Any) -> World:
    taxonomy_load(actor=None, path=SHIPPED_TAXONOMY, publish=True)
    unit = DepartmentFactory(code="UM", kind="urban_management", name_zh="区城管局")
    other = DepartmentFactory(code="HS", kind="housing", name_zh="区住建局")
    centre = DepartmentFactory(code="CC", kind="command_centre", name_zh="区指挥中心")
    for dept in (unit, other, centre):
        dept.areas.add(tree.district)
    setup_gw = UserFactory(username="setup_gw")
    RoleAssignmentFactory(user=setup_gw, role=Role.GRID_WORKER, area=tree.grids[0])
    handler = UserFactory(username="setup_handler")
    RoleAssignmentFactory(user=handler, role=Role.DEPT_HANDLER, department=unit)
    reporter = UserFactory(username="setup_reporter")
    RoleAssignmentFactory(user=reporter, role=Role.RESIDENT, area=tree.grids[0])

    def new_case() -> int:
        created = case_create(
            actor=setup_gw,
            report=Report(
                channel="grid_patrol",
                category_code=CATEGORY,
                description="小区门口垃圾堆放三天无人清理",
                **A11,
            ),
        )
        return created.case.pk

    world = World(
        tree=tree,
        unit=unit,
        other_department=other,
        centre=centre,
        setup_grid_worker=setup_gw,
        handler=handler,
        reporter=reporter,
        parent_id=new_case(),
    )
    for state in sorted(set(SOURCE.values())):
        case_id = new_case()
        steps = _path(state, f"department:{unit.pk}", _photo_key(), setup_gw.pk)
        for action, inputs in steps:
            # The system passes verification as the assigned verifier (setup grid worker).
            actor = setup_gw if action == A.VERIFY_PASS else None
            case_transition(
                actor=actor, case_id=case_id, action=action, version=None, inputs=inputs,
                system=True,
            )  # fmt: skip
        assert Case.objects.get(pk=case_id).state == state
        world.cases[state] = case_id
    return world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    with module_data(django_db_blocker, MEDIA_ROOT=tmp_path_factory.mktemp("media")):
        yield _build_world(build_tree())


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- Scopes ----------------------------------------------------------------------------------


def _scope(role: Role, in_scope: bool, w: World) -> dict[str, Any]:
    """The assignment scope of `role`: over the case's grid A1-1, or beside it."""
    t = w.tree
    match role:
        case Role.GRID_WORKER:
            return {"area": t.grids[0] if in_scope else t.grids[1]}
        case Role.COMMUNITY_STAFF:
            return {"area": t.communities[0] if in_scope else t.communities[1]}
        case Role.STREET_STAFF:
            return {"area": t.streets[0] if in_scope else t.streets[1]}
        case Role.DEPT_HANDLER | Role.DEPT_HEAD:
            return {"department": w.unit if in_scope else w.other_department}
        case Role.RESIDENT:
            return {"area": t.grids[0]}  # scope for a resident is being the reporter
        case _:
            return {"area": t.streets[0] if in_scope else t.streets[1]}


def _inputs(action: Action, w: World) -> dict[str, Any]:
    match action:
        case A.MERGE:
            return {"parent_case_id": w.parent_id}
        case A.DISPATCH:
            return {"unit_id": f"department:{w.unit.pk}"}
        case A.WHISTLE:
            return {
                "department_ids": [w.unit.pk, w.other_department.pk],
                "lead_department_id": w.unit.pk,
            }
        case A.REQUEST_EXTENSION:
            return {"reason": "需要协调物业", "duration": "2d"}
        case A.HANDLE_ON_THE_SPOT | A.SUBMIT_RESULT:
            return {"evidence": [_photo_key()], "result": "已清理"}
        case A.SEND_FOR_VERIFICATION:
            return {"verifier_id": w.setup_grid_worker.pk}
        case A.RATE:
            return {"satisfaction": "satisfied", "solved": True}
        case A.VERIFY_PASS | A.ACCEPT | A.FILE | A.FILE_DIRECTLY | A.SIGN_FOR:
            return {}
        case A.START_HANDLING | A.APPROVE_EXTENSION | A.APPROVE_SUSPENSION | A.RESUME | A.CLOSE:
            return {}
        case A.ENDORSE_EXTENSION | A.ENDORSE_SUSPENSION:
            return {}
        case A.RECORD_CONTACT:
            return {"method": "phone", "note": "电话联系，已告知处理进度"}
    return {"reason": "测试原因"}


def _prepare(action: Action, role: Role, in_scope: bool, w: World) -> tuple[Any, Case]:
    """A fresh actor holding exactly `role`, and the case set up for `action`."""
    actor = UserFactory(username=f"actor_{role}_{'in' if in_scope else 'out'}")
    RoleAssignmentFactory(user=actor, role=role, **_scope(role, in_scope, w))
    case_id = w.cases[SOURCE[action]]
    reporter = actor if role == Role.RESIDENT and in_scope else w.reporter
    fields: dict[str, Any] = {"reporter": reporter}
    if action == A.RATE:
        # Who rates depends on the channel (`rating_roles`): the resident rates their own
        # public report, the hotline operator calls back on any other case. The crossings
        # are refused in tests/test_rating_credential.py.
        fields["channel"] = "resident_web" if role == Role.RESIDENT else "grid_patrol"
    if action in UNIT_ACTIONS and role == Role.COMMUNITY_STAFF:
        # A community office handling at its own level: the unit is community A1.
        fields.update(level="community", unit_department=None, unit_area=w.tree.communities[0])
    if action in UNIT_ACTIONS and role == Role.STREET_STAFF:
        # A street office handling at its own level: the unit is street A (街道办事处).
        fields.update(level="street", unit_department=None, unit_area=w.tree.streets[0])
    if action in VERIFY_ACTIONS or action == A.SEND_FOR_VERIFICATION:
        fields["handled_by"] = w.handler
    if action in VERIFY_ACTIONS:
        # The in-scope grid worker is the assigned verifier; a supervisor verifies even when
        # someone else is assigned; otherwise nobody is assigned yet.
        if role == Role.GRID_WORKER and in_scope:
            fields["verifier"] = actor
        elif role == Role.SUPERVISOR:
            fields["verifier"] = w.setup_grid_worker
        else:
            fields["verifier"] = None
    Case.objects.filter(pk=case_id).update(**fields)
    return actor, Case.objects.select_related("grid", "unit_area").get(pk=case_id)


def _snapshot(case_id: int) -> tuple[dict[str, Any], int, int]:
    row = model_to_dict(Case.objects.get(pk=case_id))
    return (
        row,
        CaseEvent.objects.filter(case_id=case_id).count(),
        OutboxEntry.objects.count(),
    )


def test_every_action_has_a_source_state_in_the_table():
    assert set(SOURCE) == set(Action)
    for action, state in SOURCE.items():
        assert state in transition_for(state, action).sources


MATRIX = [
    pytest.param(action, role, in_scope, id=f"{action}-{role}-{'in' if in_scope else 'out'}")
    for action in Action
    for role in Role
    for in_scope in (True, False)
]


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "role", "in_scope"), MATRIX)
def test_role_matrix(world, action, role, in_scope):
    t = transition_for(SOURCE[action], action)
    expected = role in t.roles and in_scope
    if role == Role.HOTLINE_OPERATOR and action in (Action.ACCEPT, Action.FILE, Action.DISPATCH):
        # Only on a 12345 order with GRIDLINK_HOTLINE_DISPATCH=operator: tests/test_web_hotline.py
        expected = False
    actor, case = _prepare(action, role, in_scope, world)

    offered = action in case_allowed_actions(actor, case)
    assert offered == expected, f"allowed_actions offers {action}: {offered}"

    before = _snapshot(case.pk)
    if expected:
        updated = case_transition(
            actor=actor,
            case_id=case.pk,
            action=action,
            version=case.version,
            inputs=_inputs(action, world),
        )
        assert updated.version == case.version + 1
        assert updated.state == (t.target or case.state)
        event = CaseEvent.objects.filter(case_id=case.pk).latest("id")
        assert event.kind == action
        assert event.actor_id == actor.pk
        assert event.actor_role == role
        assert CaseEvent.objects.filter(case_id=case.pk).count() >= before[1] + 1
    else:
        with pytest.raises(NotPermitted) as refused:
            case_transition(
                actor=actor,
                case_id=case.pk,
                action=action,
                version=case.version,
                inputs=_inputs(action, world),
            )
        assert refused.value.status == 403
        assert refused.value.code == "not_permitted"
        assert _snapshot(case.pk) == before


# --- The rules beside the matrix -------------------------------------------------------------


def _actor(role: Role, **scope: Any) -> Any:
    user = UserFactory(username=f"extra_{role}")
    RoleAssignmentFactory(user=user, role=role, **scope)
    return user


@pytest.mark.django_db
@pytest.mark.parametrize("action", sorted(UNIT_ACTIONS))
def test_community_staff_over_the_grid_do_not_handle_a_department_case(world, action):
    """Unit actions count only for the unit: the grid's own community office does not take
    a case dispatched to a department."""
    actor = _actor(Role.COMMUNITY_STAFF, area=world.tree.communities[0])
    case = Case.objects.get(pk=world.cases[SOURCE[action]])
    assert case.unit_department_id == world.unit.pk
    assert action not in case_allowed_actions(actor, case)
    before = _snapshot(case.pk)
    with pytest.raises(NotPermitted):
        case_transition(actor=actor, case_id=case.pk, action=action, version=case.version,
                        inputs=_inputs(action, world))  # fmt: skip
    assert _snapshot(case.pk) == before


@pytest.mark.django_db
@pytest.mark.parametrize("action", sorted(UNIT_ACTIONS))
def test_a_department_serving_the_area_is_not_the_unit(world, action):
    """A handler of a department that serves the district but is not the case's unit."""
    actor = _actor(Role.DEPT_HANDLER, department=world.other_department)
    case = Case.objects.get(pk=world.cases[SOURCE[action]])
    assert action not in case_allowed_actions(actor, case)
    with pytest.raises(NotPermitted):
        case_transition(actor=actor, case_id=case.pk, action=action, version=case.version,
                        inputs=_inputs(action, world))  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("action", sorted(VERIFY_ACTIONS))
def test_the_handler_may_not_verify_their_own_work(world, action):
    actor = _actor(Role.GRID_WORKER, area=world.tree.grids[0])
    case_id = world.cases[S.VERIFYING]
    Case.objects.filter(pk=case_id).update(handled_by=actor, verifier=None)
    case = Case.objects.get(pk=case_id)
    assert action not in case_allowed_actions(actor, case)
    before = _snapshot(case_id)
    with pytest.raises(NotPermitted) as refused:
        case_transition(actor=actor, case_id=case_id, action=action, version=case.version,
                        inputs=_inputs(action, world))  # fmt: skip
    assert refused.value.code == "verifier_is_handler"
    assert _snapshot(case_id) == before


@pytest.mark.django_db
@pytest.mark.parametrize("action", sorted(VERIFY_ACTIONS))
def test_only_the_assigned_verifier_or_a_supervisor_verifies(world, action):
    """Another grid worker of the grid may not verify when someone else is assigned; the
    buttons (`case_allowed_actions`) must not offer what the service then refuses."""
    actor = _actor(Role.GRID_WORKER, area=world.tree.grids[0])
    case_id = world.cases[S.VERIFYING]
    Case.objects.filter(pk=case_id).update(
        handled_by=world.handler, verifier=world.setup_grid_worker
    )
    case = Case.objects.get(pk=case_id)
    before = _snapshot(case_id)
    with pytest.raises(NotPermitted) as refused:
        case_transition(actor=actor, case_id=case_id, action=action, version=case.version,
                        inputs=_inputs(action, world))  # fmt: skip
    assert refused.value.code == "not_the_verifier"
    assert _snapshot(case_id) == before
    assert action not in case_allowed_actions(actor, Case.objects.get(pk=case_id))


@pytest.mark.django_db
def test_the_assigned_verifier_verifies(world):
    case_id = world.cases[S.VERIFYING]
    Case.objects.filter(pk=case_id).update(
        handled_by=world.handler, verifier=world.setup_grid_worker
    )
    case = Case.objects.get(pk=case_id)
    assert A.VERIFY_PASS in case_allowed_actions(world.setup_grid_worker, case)
    updated = case_transition(actor=world.setup_grid_worker, case_id=case_id,
                              action=A.VERIFY_PASS, version=case.version)  # fmt: skip
    assert updated.state == S.VERIFIED


def test_the_matrix_covers_every_role_of_every_row():
    """Every role the table names appears in the matrix (guards against a new Role)."""
    named = {role for t in TRANSITIONS for role in t.roles}
    assert named <= set(Role)
    assert len(MATRIX) == len(Action) * len(Role) * 2
