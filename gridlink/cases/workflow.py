"""The case workflow engine: look up, check and list transitions of the one table.

The table itself (states, flags, actions, `TRANSITIONS`) lives in `workflow_table.py`; this
module validates it at import and answers the questions the service, the API
(`allowed_actions`) and the web buttons ask. Pure Python: no models, no database. Scope
("is this case in the actor's area or department?") is the service's job; here a role is
just a role.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from django.utils.translation import gettext as _

from gridlink.accounts.roles import Role
from gridlink.cases.workflow_table import (
    EXITS_FROM_FINAL,
    FINAL_STATES,
    INITIAL_STATE,
    STATE_ZH,
    TRANSITIONS,
    Action,
    Flag,
    Stage,
    State,
    Transition,
)
from gridlink.core.errors import DomainError

__all__ = [
    "TRANSITIONS",
    "Action",
    "ActionNotAllowed",
    "Flag",
    "MissingInput",
    "Stage",
    "State",
    "Transition",
    "WorkflowTableError",
    "allowed_actions",
    "check_inputs",
    "roles_for",
    "target_of",
    "transition_for",
    "validate_table",
]


class ActionNotAllowed(DomainError):
    """The action is not defined for the case's current state (or not for the caller)."""

    status = 409

    def __init__(self, state: str, action: str) -> None:
        state_label = _label(State, state)
        action_label = _label(Action, action)
        super().__init__(
            _(
                "Action '%(action)s' (%(code)s) is not allowed when the case is "
                "'%(state)s' (%(state_code)s)."
            )
            % {"action": action_label, "code": action, "state": state_label, "state_code": state},
            code="action_not_allowed",
            field="action",
        )
        self.state = state
        self.action = action


class MissingInput(DomainError):
    def __init__(self, action: str, field: str) -> None:
        super().__init__(
            _("Action '%(action)s' requires '%(field)s'.") % {"action": action, "field": field},
            code="required",
            field=field,
        )


class WorkflowTableError(Exception):
    """The transition table is inconsistent (a programming error, raised at import)."""


def _label(choices: type[State] | type[Action], value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _index(table: Iterable[Transition]) -> dict[tuple[State, Action], Transition]:
    return {(source, t.action): t for t in table for source in t.sources}


def validate_table(table: tuple[Transition, ...]) -> None:
    """Raise WorkflowTableError naming every problem of `table`, or return None."""
    problems: list[str] = []
    seen: dict[tuple[State, Action], Transition] = {}
    for t in table:
        if not t.sources:
            problems.append(f"{t.action}: no source states")
        if not t.roles:
            problems.append(f"{t.action}: no roles")
        for source in sorted(t.sources):
            if (source, t.action) in seen:
                problems.append(f"({source}, {t.action}) is defined twice")
            seen[(source, t.action)] = t
            if source in FINAL_STATES and t.action not in EXITS_FROM_FINAL:
                problems.append(f"{t.action} leaves final state {source}")
        if t.stops_clock and t.restarts_clock:
            problems.append(f"{t.action}: stops and restarts the clock at once")
    problems.extend(f"action {a} has no transition" for a in Action if a not in _actions(table))
    reachable = _reachable(table, INITIAL_STATE)
    problems.extend(
        f"state {s} is unreachable from {INITIAL_STATE}" for s in State if s not in reachable
    )
    for state in State:
        if state not in FINAL_STATES and not any(
            t.target not in (None, state) for t in table if state in t.sources
        ):
            problems.append(f"state {state} is a dead end but not final")
    problems.extend(f"state {s} has no Chinese name" for s in State if s not in STATE_ZH)
    if problems:
        raise WorkflowTableError("invalid workflow table: " + "; ".join(problems))


def _actions(table: Iterable[Transition]) -> set[Action]:
    return {t.action for t in table}


def _reachable(table: Iterable[Transition], start: State) -> set[State]:
    edges: dict[State, set[State]] = {}
    for t in table:
        for source in t.sources:
            edges.setdefault(source, set()).add(t.target or source)
    found, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in found:
                found.add(nxt)
                todo.append(nxt)
    return found


validate_table(TRANSITIONS)
_BY_PAIR = _index(TRANSITIONS)
_ACTION_ORDER = {action: i for i, action in enumerate(Action)}


def transition_for(state: str, action: str) -> Transition:
    """The row for (state, action), or ActionNotAllowed (409) naming both."""
    try:
        return _BY_PAIR[(State(state), Action(action))]
    except (KeyError, ValueError):
        raise ActionNotAllowed(state, action) from None


def target_of(state: str, action: str) -> State:
    """The state after `action` from `state` (the same state for flag-only actions)."""
    t = transition_for(state, action)
    return t.target if t.target is not None else State(state)


def allowed_actions(state: str, roles: Collection[str]) -> list[Action]:
    """Actions any of `roles` may take in `state`, in the table's `Action` order."""
    held = set(roles)
    return sorted(
        (
            action
            for (source, action), t in _BY_PAIR.items()
            if source == state and not held.isdisjoint(t.roles)
        ),
        key=_ACTION_ORDER.__getitem__,
    )


def check_inputs(transition: Transition, inputs: Mapping[str, Any]) -> None:
    """Raise MissingInput for the first (alphabetical) required field missing or empty.

    Empty means None, a blank string or an empty collection; False and 0 are values.
    """
    for field in sorted(transition.requires):
        value = inputs.get(field)
        if isinstance(value, str):
            value = value.strip()
        if value is None or (isinstance(value, str | list | tuple | set | dict) and not value):
            raise MissingInput(transition.action, field)


def roles_for(action: str) -> frozenset[Role]:
    """Every role that may take `action` in some state."""
    act = Action(action)
    return frozenset(role for t in TRANSITIONS if t.action == act for role in t.roles)
