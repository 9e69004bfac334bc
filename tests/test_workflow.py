"""The case workflow table, without the database.

The expectations below are written out by hand from SPEC §3 and issue 3, NOT derived from
`TRANSITIONS`: a change to the table must be made here too, on purpose.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from gridlink.accounts.roles import Role
from gridlink.cases.workflow import (
    TRANSITIONS,
    Action,
    ActionNotAllowed,
    MissingInput,
    State,
    Transition,
    WorkflowTableError,
    allowed_actions,
    check_inputs,
    roles_for,
    target_of,
    transition_for,
    validate_table,
)
from gridlink.core.errors import DomainError

STAYS = "(stays)"
_OPEN_STATES = {
    "reported", "accepted", "filed", "dispatched", "returned", "escalated", "signed",
    "in_progress", "extension_requested", "extension_endorsed", "extended",
    "suspension_requested", "suspension_endorsed", "suspended", "handled", "verifying",
    "verified", "rework", "reopened",
}  # fmt: skip

# state → {action: target}; every pair not listed is not allowed.
EXPECTED: dict[str, dict[str, str]] = {
    "reported": {
        "accept": "accepted",
        "invalidate": "invalid",
        "merge": "merged",
        "file_directly": "filed",
        "handle_on_the_spot": "handled",
    },
    "accepted": {"file": "filed", "invalidate": "invalid", "merge": "merged"},
    "invalid": {},
    "merged": {},
    "filed": {
        "dispatch": "dispatched",
        "whistle": "dispatched",
        "handle_on_the_spot": "handled",
        "escalate": "escalated",
        "merge": "merged",
    },
    "dispatched": {
        "sign_for": "signed",
        "return_not_our_duty": "returned",
        "escalate": "escalated",
    },
    "returned": {
        "dispatch": "dispatched",
        "whistle": "dispatched",
        "reject_return": "dispatched",
        "escalate": "escalated",
    },
    "escalated": {
        "dispatch": "dispatched",
        "whistle": "dispatched",
        "start_handling": "in_progress",
        "escalate": "escalated",
    },
    "signed": {
        "start_handling": "in_progress",
        "return_not_our_duty": "returned",
        "request_extension": "extension_requested",
        "request_suspension": "suspension_requested",
        "escalate": "escalated",
    },
    "in_progress": {
        "submit_result": "handled",
        "request_extension": "extension_requested",
        "request_suspension": "suspension_requested",
        "escalate": "escalated",
    },
    "extension_requested": {
        "endorse_extension": "extension_endorsed",
        "approve_extension": "extended",
        "deny_extension": "in_progress",
    },
    "extension_endorsed": {"approve_extension": "extended", "deny_extension": "in_progress"},
    "extended": {
        "submit_result": "handled",
        "request_suspension": "suspension_requested",
        "escalate": "escalated",
    },
    "suspension_requested": {
        "endorse_suspension": "suspension_endorsed",
        "approve_suspension": "suspended",
        "deny_suspension": "in_progress",
    },
    "suspension_endorsed": {"approve_suspension": "suspended", "deny_suspension": "in_progress"},
    "suspended": {"resume": "in_progress"},
    "handled": {"send_for_verification": "verifying"},
    "verifying": {"verify_pass": "verified", "verify_fail": "rework"},
    "verified": {"close": "closed"},
    "rework": {
        "start_handling": "in_progress",
        "submit_result": "handled",
        "escalate": "escalated",
    },
    "closed": {"rate": "evaluated", "reopen": "reopened"},
    "evaluated": {"reopen": "reopened"},
    "reopened": {"start_handling": "in_progress", "escalate": "escalated"},
}
for _state in _OPEN_STATES:
    EXPECTED[_state]["supervise"] = STAYS
# The reporter contact is recorded once a unit has the case (from the dispatch on).
for _state in _OPEN_STATES - {"reported", "accepted", "filed", "returned"}:
    EXPECTED[_state]["record_contact"] = STAYS

_HANDLERS = {"dept_handler", "dept_head", "community_staff", "street_staff"}
EXPECTED_ROLES: dict[str, set[str]] = {
    # The hotline operator only on a 12345 order with GRIDLINK_HOTLINE_DISPATCH=operator
    # (cases.permissions.operator_dispatches; tests/test_web_hotline.py).
    "accept": {"dispatcher", "hotline_operator"},
    "invalidate": {"dispatcher"},
    "merge": {"dispatcher"},
    "file": {"dispatcher", "hotline_operator"},
    "file_directly": {"grid_worker"},
    "handle_on_the_spot": {"grid_worker"},
    "dispatch": {"dispatcher", "hotline_operator"},
    "whistle": {"dispatcher"},
    "sign_for": _HANDLERS,
    "return_not_our_duty": _HANDLERS,
    "reject_return": {"dispatcher"},
    "escalate": {"grid_worker", "community_staff", "street_staff", "dispatcher", "dept_head"},
    "start_handling": _HANDLERS,
    "request_extension": _HANDLERS,
    "endorse_extension": {"dept_head"},
    "approve_extension": {"dispatcher"},
    "deny_extension": {"dispatcher", "dept_head"},
    "request_suspension": _HANDLERS,
    "endorse_suspension": {"dept_head"},
    "approve_suspension": {"dispatcher"},
    "deny_suspension": {"dispatcher", "dept_head"},
    "resume": {"dispatcher"},
    "submit_result": _HANDLERS,
    "send_for_verification": {"dispatcher", "community_staff"},
    "verify_pass": {"grid_worker", "supervisor"},
    "verify_fail": {"grid_worker", "supervisor"},
    "close": {"dispatcher"},
    "rate": {"resident", "hotline_operator"},
    "reopen": {"dispatcher", "hotline_operator"},
    "record_contact": _HANDLERS | {"hotline_operator"},
    "supervise": {"supervisor"},
}

EXPECTED_REQUIRES: dict[str, set[str]] = {
    "invalidate": {"reason"},
    "merge": {"parent_case_id"},
    "handle_on_the_spot": {"evidence"},
    "dispatch": {"unit_id"},
    "whistle": {"department_ids", "lead_department_id"},
    "return_not_our_duty": {"reason"},
    "reject_return": {"reason"},
    "escalate": {"reason"},
    "request_extension": {"reason", "duration"},
    "deny_extension": {"reason"},
    "request_suspension": {"reason"},
    "deny_suspension": {"reason"},
    "submit_result": {"evidence"},
    "send_for_verification": {"verifier_id"},
    "verify_fail": {"reason"},
    "rate": {"satisfaction", "solved"},
    "reopen": {"reason"},
    "supervise": {"reason"},
}

EXPECTED_DEADLINE: dict[str, str] = {
    "dispatch": "sign_for",
    "whistle": "sign_for",
    "reject_return": "sign_for",
    "sign_for": "handle",
    "escalate": "handle",
    "verify_fail": "handle",
    "reopen": "handle",
    "send_for_verification": "verify",
}


def test_expectations_name_every_state_and_action():
    assert set(EXPECTED) == {s.value for s in State}
    assert set(EXPECTED_ROLES) == {a.value for a in Action}


@pytest.mark.parametrize("state", [s.value for s in State])
@pytest.mark.parametrize("action", [a.value for a in Action])
def test_every_state_action_pair(state, action):
    expected = EXPECTED[state].get(action)
    if expected is None:
        with pytest.raises(ActionNotAllowed):
            transition_for(state, action)
        return
    t = transition_for(state, action)
    assert t.action == action
    assert (t.target.value if t.target else STAYS) == expected
    assert target_of(state, action) == (state if expected == STAYS else expected)


@pytest.mark.parametrize("action", [a.value for a in Action])
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_role_matrix(action, role):
    """For every state where the action exists, exactly the listed roles see it."""
    may = role in EXPECTED_ROLES[action]
    assert (role in roles_for(action)) is may
    for state, actions in EXPECTED.items():
        if action in actions:
            assert (action in allowed_actions(state, {role})) is may, (state, action, role)


def test_admin_and_non_loop_roles_take_no_case_action():
    for role in (Role.ADMIN, Role.SOCIAL_ORG_MEMBER, Role.EVALUATOR):
        assert all(allowed_actions(s, {role}) == [] for s in State)


@pytest.mark.parametrize("action", [a.value for a in Action])
def test_required_inputs_and_deadlines(action):
    for t in (t for t in TRANSITIONS if t.action == action):
        assert t.requires == EXPECTED_REQUIRES.get(action, set())
        assert t.starts_deadline == EXPECTED_DEADLINE.get(action)


def test_clock_and_verification_flags():
    by_action = {t.action: t for t in TRANSITIONS}
    assert by_action[Action.APPROVE_SUSPENSION].stops_clock
    assert by_action[Action.RESUME].restarts_clock
    assert by_action[Action.APPROVE_EXTENSION].extends_deadline
    assert by_action[Action.VERIFY_PASS].excludes_handler
    assert by_action[Action.VERIFY_FAIL].excludes_handler
    assert not by_action[Action.SUPERVISE].public
    assert not by_action[Action.RECORD_CONTACT].public
    assert not by_action[Action.RETURN_NOT_OUR_DUTY].public
    assert by_action[Action.CLOSE].public


def test_check_inputs_names_the_missing_field():
    t = transition_for("dispatched", "return_not_our_duty")
    check_inputs(t, {"reason": "属于供水公司职责"})
    for bad in ({}, {"reason": ""}, {"reason": "   "}, {"reason": None}):
        with pytest.raises(MissingInput) as exc:
            check_inputs(t, bad)
        assert exc.value.field == "reason"
        assert exc.value.status == 400
        assert "reason" in exc.value.message

    whistle = transition_for("filed", "whistle")
    with pytest.raises(MissingInput) as exc:
        check_inputs(whistle, {"department_ids": [1, 2, 3]})
    assert exc.value.field == "lead_department_id"
    with pytest.raises(MissingInput) as exc:
        check_inputs(whistle, {"department_ids": [], "lead_department_id": 1})
    assert exc.value.field == "department_ids"
    check_inputs(whistle, {"department_ids": [1, 2], "lead_department_id": 1})
    check_inputs(transition_for("closed", "rate"), {"satisfaction": "satisfied", "solved": False})


def test_allowed_actions_examples():
    assert allowed_actions("reported", {"dispatcher"}) == ["accept", "invalidate", "merge"]
    assert allowed_actions("reported", {"grid_worker"}) == [
        "file_directly",
        "handle_on_the_spot",
    ]
    assert allowed_actions("dispatched", {"dept_handler"}) == [
        "sign_for",
        "return_not_our_duty",
        "record_contact",
    ]
    assert allowed_actions("signed", {"dept_head", "supervisor"}) == [
        "return_not_our_duty",
        "escalate",
        "start_handling",
        "request_extension",
        "request_suspension",
        "record_contact",
        "supervise",
    ]
    assert allowed_actions("filed", {"hotline_operator"}) == ["dispatch"]  # on a 12345 order
    assert allowed_actions("in_progress", {"hotline_operator"}) == ["record_contact"]
    assert allowed_actions("closed", {"resident"}) == ["rate"]
    assert allowed_actions("evaluated", {"resident"}) == []
    assert allowed_actions("invalid", {r.value for r in Role}) == []
    assert allowed_actions("reported", set()) == []
    # Deterministic: the same answer whatever the order of the roles.
    assert allowed_actions("verifying", ["supervisor", "grid_worker"]) == allowed_actions(
        "verifying", ["grid_worker", "supervisor"]
    )


def test_action_not_allowed_is_a_409_naming_state_and_action():
    with pytest.raises(ActionNotAllowed) as exc:
        transition_for("closed", "dispatch")
    err = exc.value
    assert isinstance(err, DomainError)
    assert err.status == 409
    assert err.code == "action_not_allowed"
    assert "closed" in err.message and "dispatch" in err.message
    assert err.as_dict()["field"] == "action"
    # Unknown names are refused the same way, not with a KeyError.
    with pytest.raises(ActionNotAllowed, match="fly"):
        transition_for("reported", "fly")


def test_the_shipped_table_is_valid():
    validate_table(TRANSITIONS)


def test_validation_catches_a_duplicate_pair():
    extra = Transition(
        Action.ACCEPT, frozenset({State.REPORTED}), State.FILED, frozenset({Role.ADMIN}), "x", "x"
    )
    with pytest.raises(WorkflowTableError, match=r"\(reported, accept\) is defined twice"):
        validate_table((*TRANSITIONS, extra))


def test_validation_catches_an_unreachable_state():
    without_reopen = tuple(t for t in TRANSITIONS if t.action != Action.REOPEN)
    with pytest.raises(WorkflowTableError) as exc:
        validate_table(without_reopen)
    assert "state reopened is unreachable" in str(exc.value)
    assert "action reopen has no transition" in str(exc.value)


def test_validation_catches_a_way_out_of_a_final_state():
    broken = tuple(
        dataclasses.replace(t, sources=t.sources | {State.INVALID})
        if t.action == Action.ACCEPT
        else t
        for t in TRANSITIONS
    )
    with pytest.raises(WorkflowTableError, match="accept leaves final state invalid"):
        validate_table(broken)


def test_the_committed_doc_is_current():
    call_command("workflow", "diagram", "--check")


def test_diagram_rewrites_only_its_section(tmp_path: Path):
    committed = (Path(settings.BASE_DIR) / "docs" / "workflow.md").read_text(encoding="utf-8")
    doc = tmp_path / "workflow.md"
    doc.write_text(
        "# Intro\n\nprose\n\n<!-- workflow:begin -->\nstale\n<!-- workflow:end -->\n\nafter\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match="out of date"):
        call_command("workflow", "diagram", "--out", str(doc), "--check")
    call_command("workflow", "diagram", "--out", str(doc))
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Intro\n\nprose\n\n<!-- workflow:begin -->")
    assert text.endswith("<!-- workflow:end -->\n\nafter\n")
    assert "stale" not in text
    assert "stateDiagram-v2" in text and "reported --> accepted: accept" in text
    start = committed.index("<!-- workflow:begin -->")
    assert committed[start:].rstrip("\n") in text
    call_command("workflow", "diagram", "--out", str(doc), "--check")
