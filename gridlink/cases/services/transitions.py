"""`case_transition`: the one function that moves a case through the workflow.

Check, then do (zulip's actions): in one transaction it locks the case row, checks the
version the caller saw, looks the (state, action) pair up in the transition table, checks
the caller's roles on this case (role × scope, `gridlink.cases.permissions`), checks the
required inputs and the rules the table leaves to code, applies the action's effects, bumps
the version, restarts or clears the deadline clock, and writes the timeline event and the
outbox entry. Any refusal raises a `DomainError` before anything is written.

Rules beyond the table (SPEC §3): the guards — each defined once in `guards.py` and checked
here and by `case_allowed_actions` alike (the handler does not verify, the assigned verifier,
one extension, supervised once, the head's endorsement, co-tasks done, the top of the
ladder) — and, in the effects:
- the verifier named is not the handler, and is a grid worker or supervisor of the grid;
- a failed verification for the third time puts the case under supervision;
- a dissatisfied rating reopens the case for the same unit; the second one also puts it
  under supervision;
- escalation moves the case one rung up the ladder (see `ladder_up`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridlink.accounts.roles import Role
from gridlink.cases.models import Case
from gridlink.cases.permissions import case_roles
from gridlink.cases.services.deadlines import stage_clear, stage_start
from gridlink.cases.services.effects import EFFECTS, Step, supervise_by_system
from gridlink.cases.services.events import event_record
from gridlink.cases.services.guards import SYSTEM, guard_refusal
from gridlink.cases.workflow import (
    Action,
    State,
    Transition,
    check_inputs,
    transition_for,
)
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.core.worktime import WorkCalendar

if TYPE_CHECKING:
    from gridlink.accounts.models import User

# States in which no stage clock runs.
NO_CLOCK = frozenset(
    {
        State.INVALID,
        State.MERGED,
        State.RETURNED,
        State.HANDLED,
        State.VERIFIED,
        State.CLOSED,
        State.EVALUATED,
    }
)
# Which role acts, when the caller holds several for one action (the event records one).
ROLE_ORDER = [
    Role.DISPATCHER,
    Role.DEPT_HEAD,
    Role.DEPT_HANDLER,
    Role.COMMUNITY_STAFF,
    Role.STREET_STAFF,
    Role.GRID_WORKER,
    Role.SUPERVISOR,
    Role.HOTLINE_OPERATOR,
    Role.RESIDENT,
]


class StaleVersion(DomainError):
    """The caller saw an older version of the case (lost-update protection)."""

    status = 409

    def __init__(self, case: Case, seen: int) -> None:
        super().__init__(
            _(
                "The case has changed since you read it (you sent version %(seen)s, it is "
                "now version %(current)s, state '%(state)s'). Reload it and try again."
            )
            % {"seen": seen, "current": case.version, "state": case.get_state_display()},
            code="stale_version",
            field="version",
        )
        self.case = case


class VersionRequired(DomainError):
    status = 428

    def __init__(self) -> None:
        super().__init__(
            _("State the version of the case you saw (If-Match header or 'version' field)."),
            code="version_required",
            field="version",
        )


def case_transition(
    *,
    actor: User | None,
    case_id: int,
    action: str,
    version: int | None,
    inputs: Mapping[str, Any] | None = None,
    system: bool = False,
    rating_key: str | None = None,
    now: dt.datetime | None = None,
    calendar: WorkCalendar | None = None,
) -> Case:
    """Apply `action` to case `case_id` as `actor`; return the case in its new state.

    `system=True` is the worker (deadline sweep): no permission check, the version read
    under the lock. `rating_key` is an anonymous reporter rating: with the case's rating key
    (not the tracking code, which is only for following the case) they act as its resident.
    """
    with transaction.atomic():
        case = _locked(case_id)
        resident_by_code = rating_key is not None
        if resident_by_code and not (
            action == Action.RATE and case.rating_key_matches(rating_key or "")
        ):
            raise NotPermitted(
                _("The rating key is wrong: only the reporter, with the key they were given "
                  "when they reported, may rate this case."),
                code="rating_key_wrong",
                field="rating_key",
            )  # fmt: skip
        if version is None and not system:
            raise VersionRequired
        if version is not None and version != case.version:
            raise StaleVersion(case, version)
        return _apply(
            case=case,
            actor=actor,
            action=action,
            inputs=inputs or {},
            system=system,
            resident_by_code=resident_by_code,
            now=now or timezone.now(),
            calendar=calendar,
        )


def _locked(case_id: int) -> Case:
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("grid", "unit_area", "unit_department", "category", "handled_by")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise DomainError(_("No such case."), code="not_found", field="case_id")
    return case


def acting_role(actor: User | None, case: Case, t: Transition, *, by_code: bool) -> str:
    """The role `actor` takes `t` in on `case`, or NotPermitted naming what is missing."""
    held = {Role.RESIDENT} if by_code else case_roles(actor, case, t.action)
    allowed = held & set(t.roles)
    if not allowed:
        names = ", ".join(sorted(str(Role(r).label) for r in t.roles))
        raise NotPermitted(
            _("You may not '%(action)s' this case: it needs one of these roles for it: %(roles)s.")
            % {"action": Action(t.action).label, "roles": names},
            code="not_permitted",
            field="action",
        )
    return pick_role(allowed)


def pick_role(allowed: Collection[str]) -> str:
    """The one role of `allowed` an action is taken in (`ROLE_ORDER`)."""
    return next(r for r in ROLE_ORDER if r in allowed)


def _apply(
    *,
    case: Case,
    actor: User | None,
    action: str,
    inputs: Mapping[str, Any],
    system: bool,
    resident_by_code: bool,
    now: dt.datetime,
    calendar: WorkCalendar | None,
) -> Case:
    t = transition_for(case.state, action)
    role = SYSTEM if system else acting_role(actor, case, t, by_code=resident_by_code)
    check_inputs(t, inputs)
    refusal = guard_refusal(t, case, actor=actor, role=role)
    if refusal is not None:
        raise refusal
    step = Step(case, t, actor, role, inputs, now, calendar, apply=_system_step)
    from_state = case.state
    effect = EFFECTS.get(t.action)
    if effect is not None:
        effect(step)
    target = t.target or State(case.state)
    case.state = target
    if t.starts_deadline is not None:
        stage_start(case, t.starts_deadline, now, calendar)
    elif target in NO_CLOCK:
        stage_clear(case)
    case.version += 1
    case.save()
    event_record(
        case=case,
        kind=t.action,
        actor=actor,
        actor_role=role,
        actor_unit=_unit_label(actor, role),
        from_state=from_state,
        reason=str(inputs.get("reason") or "").strip(),
        data=step.data,
        public=t.public if step.public is None else step.public,
        photos=step.photos,
        at=now,
    )
    for follow_up in step.follow_ups:
        follow_up()
    return case


def _unit_label(actor: User | None, role: str) -> str:
    if actor is None:
        return ""
    from gridlink.accounts.models import RoleAssignment

    row = (
        RoleAssignment.objects.active()
        .filter(user_id=actor.pk, role=role)
        .select_related("area", "department")
        .first()
    )
    if row is None:
        return ""
    unit = row.department or row.area
    return str(unit.name_zh) if unit is not None else ""


def case_allowed_actions(actor: User | None, case: Case) -> list[str]:
    """The actions `actor` may take on `case` now: the table, their roles on the case and
    the guards (`services/guards.py`), which `case_transition` checks the same way."""
    found: list[str] = []
    for action in Action:
        try:
            t = transition_for(case.state, action)
        except DomainError:
            continue
        roles = case_roles(actor, case, action) & set(t.roles)
        if not roles:
            continue
        if guard_refusal(t, case, actor=actor, role=pick_role(roles)) is not None:
            continue
        found.append(str(action))
    return found


def _system_step(
    case: Case,
    action: str,
    inputs: Mapping[str, Any],
    now: dt.datetime,
    calendar: WorkCalendar | None,
) -> Case:
    """A follow-up transition the system takes on the locked `case` (an effect's reopen or
    supervision), passed to the effects so they need not import this module."""
    return _apply(case=case, actor=None, action=action, inputs=inputs, system=True,
                  resident_by_code=False, now=now, calendar=calendar)  # fmt: skip


def supervise_automatically(
    case: Case, *, trigger: str, reason: str, now: dt.datetime, calendar: WorkCalendar | None
) -> None:
    """An automatic trigger (the deadline sweep's overdue policy) puts `case` (locked, saved)
    under supervision: `effects.supervise_by_system` with this module's engine."""
    supervise_by_system(_system_step, case, trigger=trigger, reason=reason, now=now,
                        calendar=calendar)  # fmt: skip
