"""The rules beyond the transition table, each defined once (SPEC §3).

The table says which role may take an action in a state; a guard says whether the case's
data allows it *now*, without looking at the action's inputs: the handler does not verify
their own work, only the assigned verifier (or a supervisor) verifies, one extension per
case, a case is supervised once, the dispatcher approves a department's request only after
its head's endorsement, a joint-handling case is handled only when every co-task is done,
and the top of the ladder cannot be escalated from.

`case_allowed_actions` leaves out an action a guard refuses, and `case_transition` raises the
same refusal (after the inputs are checked, before the effect runs), so an action is offered
exactly when taking it is not refused by a rule. Rules that depend on the inputs (the verifier
named, the parent case of a merge, the departments of a whistle) stay in the effects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext as _

from gridlink.accounts.roles import Role
from gridlink.cases.models import CaseTask, HandlingLevel, TaskState
from gridlink.cases.workflow import Action, State, Transition
from gridlink.core.errors import DomainError, NotPermitted

if TYPE_CHECKING:
    from gridlink.accounts.models import User
    from gridlink.cases.models import Case

SYSTEM = "system"
# The top rung of the ladder (`effects.ladder_up`): nothing above it.
TOP_OF_LADDER = HandlingLevel.DISTRICT_CENTRE


@dataclass(frozen=True)
class Guard:
    """One rule: `applies` picks the table rows it guards; `refusal` is the error it gives
    on `case` for `actor` acting in `role` ("system" for the worker), or None."""

    name: str
    applies: Callable[[Transition], bool]
    refusal: Callable[[Case, User | None, str], DomainError | None]
    en: str


def _actions(*actions: Action) -> Callable[[Transition], bool]:
    chosen = frozenset(actions)
    return lambda t: t.action in chosen


def _handler_verifies(case: Case, actor: User | None, role: str) -> DomainError | None:
    if actor is not None and actor.pk == case.handled_by_id:
        return NotPermitted(
            _("The handler may not verify their own work; someone else must."),
            code="verifier_is_handler",
            field="action",
        )
    return None


def _not_the_verifier(case: Case, actor: User | None, role: str) -> DomainError | None:
    if role not in (Role.SUPERVISOR, SYSTEM) and case.verifier_id not in (
        None,
        getattr(actor, "pk", None),
    ):
        return NotPermitted(
            _("Only the assigned verifier or a supervisor may verify this case."),
            code="not_the_verifier",
            field="action",
        )
    return None


def _second_extension(case: Case, actor: User | None, role: str) -> DomainError | None:
    if case.extension_count >= 1:
        return DomainError(
            _("This case has already had its one extension."),
            code="extension_limit",
            field="action",
        )
    return None


def _already_supervised(case: Case, actor: User | None, role: str) -> DomainError | None:
    if case.supervised:
        return DomainError(
            _("The case is already under supervision."), code="already_supervised", field="action"
        )
    return None


def head_approval_pending(case: Case) -> bool:
    """With two-step approval (`GRIDLINK_HEAD_APPROVAL`), a request of a department's unit
    waits for the head's endorsement before the dispatcher may approve it."""
    return (
        bool(settings.GRIDLINK_HEAD_APPROVAL)
        and case.unit_department_id is not None
        and (case.state in (State.EXTENSION_REQUESTED, State.SUSPENSION_REQUESTED))
    )


def _head_not_yet(case: Case, actor: User | None, role: str) -> DomainError | None:
    if head_approval_pending(case):
        return DomainError(
            _("The department head must endorse the request before the dispatcher approves it."),
            code="head_approval_required",
            field="action",
        )
    return None


def _co_tasks_open(case: Case, actor: User | None, role: str) -> DomainError | None:
    if not case.whistled:
        return None
    pending = list(
        CaseTask.objects.filter(case=case, is_lead=False)
        .exclude(state=TaskState.DONE)
        .select_related("department")
    )
    if pending:
        return DomainError(
            _("Every co-handling department must finish first; still open: %(names)s.")
            % {"names": ", ".join(t.department.name_zh for t in pending)},
            code="tasks_open",
            field="action",
        )
    return None


def top_of_ladder(case: Case, actor: User | None = None, role: str = SYSTEM) -> DomainError | None:
    """The case is at the top rung: no level above to escalate to."""
    if (case.level or HandlingLevel.GRID) == TOP_OF_LADDER:
        return DomainError(
            _("The case is already at the top of the ladder (district command centre)."),
            code="top_of_ladder",
            field="action",
        )
    return None


# In the order they are checked: the first refusal is the one given.
GUARDS: tuple[Guard, ...] = (
    Guard("handler_is_not_verifier", lambda t: t.excludes_handler, _handler_verifies,
          "The handler does not verify their own work (rows marked `excludes_handler`)."),
    Guard("assigned_verifier", lambda t: t.excludes_handler, _not_the_verifier,
          "Only the assigned verifier, or a supervisor, verifies."),
    Guard("one_extension", _actions(Action.REQUEST_EXTENSION), _second_extension,
          "At most one extension per case."),
    Guard("not_yet_supervised", _actions(Action.SUPERVISE), _already_supervised,
          "A case is put under supervision once."),
    Guard("head_endorsed", _actions(Action.APPROVE_EXTENSION, Action.APPROVE_SUSPENSION),
          _head_not_yet,
          "With two-step approval, a department's request is endorsed by its head first."),
    Guard("co_tasks_done", _actions(Action.SUBMIT_RESULT), _co_tasks_open,
          "A joint-handling case is handled only when every co-task is done."),
    Guard("below_top_of_ladder", _actions(Action.ESCALATE), top_of_ladder,
          "Nothing is escalated from the top of the ladder (the district command centre)."),
)  # fmt: skip


def guards_for(t: Transition) -> tuple[Guard, ...]:
    return tuple(g for g in GUARDS if g.applies(t))


def guard_refusal(
    t: Transition, case: Case, *, actor: User | None, role: str
) -> DomainError | None:
    """The first refusal a guard gives row `t` on `case` for `actor` in `role`, or None."""
    for guard in guards_for(t):
        refusal = guard.refusal(case, actor, role)
        if refusal is not None:
            return refusal
    return None
