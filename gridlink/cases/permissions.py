"""Who may act on a case: the roles an actor holds *for this case* (role × scope).

The transition table says which roles may take an action; this module says which of their
roles count on a given case:

- area roles (grid worker, community staff, dispatcher, hotline operator, supervisor) count
  when the case's grid lies inside the assignment's area;
- the handling actions of the responsible unit (sign for, return, start, extension,
  suspension, result, and a department head's escalation) count only for that unit
  (`acts_for_unit`): department staff of `case.unit_department` (a district department or
  one of its street stations, e.g. a street's 城管中队), community staff whose area contains
  `case.unit_area` (a community office handling at its own level), street office staff
  (街道办事处) whose street is `case.unit_area` itself;
- department roles count for the case's unit department and, for viewing and joint
  handling, for any department with a task on the case;
- the reporter holds the resident role on their own case (anonymous reporters rate with
  their rating key, see `case_transition(rating_key=...)`).

A hotline operator takes the dispatcher's intake steps (accept, file, dispatch) on a 12345
order only where the district configures it (`operator_dispatches`).

Rating (评价/回访) has its own rule, `rating_roles`: on a case from a public channel only the
reporter rates; on any other case only a hotline operator, as a callback (回访).

Visibility follows the same rules (`case_visibility_q`): a case outside the actor's scope is
"not found".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q

from gridlink.accounts.permissions import area_roles, department_roles
from gridlink.accounts.roles import AREA_OFFICE_ROLES, DEPARTMENT_ROLES, Role
from gridlink.cases.workflow_table import Action

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser
    from gridlink.cases.models import Case

# Actions only the responsible unit takes (the `_HANDLERS` rows of the table).
UNIT_ACTIONS = frozenset(
    {
        Action.SIGN_FOR,
        Action.RETURN_NOT_OUR_DUTY,
        Action.START_HANDLING,
        Action.REQUEST_EXTENSION,
        Action.REQUEST_SUSPENSION,
        Action.SUBMIT_RESULT,
    }
)

# Area roles that see cases in their area (department staff see their department's cases).
AREA_CASE_ROLES = frozenset(
    {
        Role.GRID_WORKER,
        Role.COMMUNITY_STAFF,
        Role.STREET_STAFF,
        Role.DISPATCHER,
        Role.HOTLINE_OPERATOR,
        Role.SUPERVISOR,
        Role.ADMIN,
        Role.EVALUATOR,
    }
)


def _task_departments(case: Case) -> set[int]:
    cached: set[int] | None = getattr(case, "_task_departments", None)
    if cached is None:
        cached = set(case.tasks.values_list("department_id", flat=True)) if case.pk else set()
        case._task_departments = cached  # type: ignore[attr-defined]
    return cached


def acts_for_unit(
    role: str,
    *,
    scope_path: str | None = None,
    scope_department_id: int | None = None,
    unit_department_id: int | None,
    unit_area_path: str | None,
) -> bool:
    """Whether an assignment of `role` (over the area `scope_path`, or for the department
    `scope_department_id`) acts for the unit that handles a case — the one rule behind the
    unit actions, `gridlink routing check` and the supervision responses.

    Department roles act for their own department. Community staff act for an area unit
    inside their area (their community, or one of its grids). Street office staff act for
    their street when the street itself is the unit — not for its communities or grids,
    which have their own offices.
    """
    if role in DEPARTMENT_ROLES:
        return scope_department_id is not None and scope_department_id == unit_department_id
    if role not in AREA_OFFICE_ROLES or scope_path is None or unit_area_path is None:
        return False
    if role == Role.STREET_STAFF:
        return unit_area_path == scope_path
    return unit_area_path.startswith(scope_path)


# The dispatcher's intake steps a hotline operator takes on a 12345 order when the district
# lets the operator dispatch (`operator_dispatches`); the table names the operator for them.
OPERATOR_DISPATCH_ACTIONS = frozenset({Action.ACCEPT, Action.FILE, Action.DISPATCH})


def operator_dispatches(case: Case) -> bool:
    """Whether the hotline operator accepts, files and dispatches `case` themselves (within
    their area scope): only a 12345 order, and only with `GRIDLINK_HOTLINE_DISPATCH=operator`;
    otherwise the order waits in the dispatcher's queue. The one rule behind both
    `case_allowed_actions` and `case_transition` (through `case_roles`)."""
    from django.conf import settings

    from gridlink.cases.models import Channel

    return case.channel == Channel.HOTLINE and settings.GRIDLINK_HOTLINE_DISPATCH == "operator"


def case_roles(actor: AnyUser | None, case: Case, action: str | None = None) -> set[str]:
    """The roles `actor` holds on `case`, for `action` (None: for viewing)."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return set()
    roles: set[str] = set()
    if case.reporter_id is not None and case.reporter_id == actor.pk:
        roles.add(Role.RESIDENT)
    unit_action = action in UNIT_ACTIONS
    grid_path = case.grid.path
    unit_area_path = case.unit_area.path if case.unit_area_id and case.unit_area else None
    for role, path in area_roles(actor):
        if role in DEPARTMENT_ROLES or role == Role.RESIDENT:
            continue
        if unit_action:
            if acts_for_unit(role, scope_path=path, unit_department_id=None,
                             unit_area_path=unit_area_path):  # fmt: skip
                roles.add(role)
        elif grid_path.startswith(path):
            roles.add(role)
    for role, department_id in department_roles(actor):
        if role not in DEPARTMENT_ROLES:
            continue
        if department_id == case.unit_department_id or (
            action is None and department_id in _task_departments(case)
        ):
            roles.add(role)
    if action == Action.RATE:
        roles = rating_roles(case, roles)
    if action in OPERATOR_DISPATCH_ACTIONS and not operator_dispatches(case):
        roles.discard(Role.HOTLINE_OPERATOR)
    return roles


def case_visibility_q(actor: AnyUser) -> Q:
    """A filter for the cases `actor` may see (superusers: all)."""
    if not actor.is_authenticated or not actor.is_active:
        return Q(pk__in=[])
    if actor.is_superuser:
        return Q()
    q = Q(reporter_id=actor.pk)
    for role, path in area_roles(actor):
        if role in AREA_CASE_ROLES:
            q |= Q(grid__path__startswith=path)
    departments = [d for role, d in department_roles(actor) if role in DEPARTMENT_ROLES]
    if departments:
        from gridlink.cases.models import CaseTask

        tasks = CaseTask.objects.filter(case_id=OuterRef("pk"), department_id__in=departments)
        q |= Q(unit_department_id__in=departments) | Q(Exists(tasks))
    return q


def actor_departments(actor: AnyUser) -> list[int]:
    return sorted({d for role, d in department_roles(actor) if role in DEPARTMENT_ROLES})


# --- The reporter's own things: rating, tracking code, contact details -------------------------


def rating_roles(case: Case, roles: set[str]) -> set[str]:
    """Who may rate `case`: on a public-channel case the reporter (their account or their
    rating key), on any other case the hotline operator's callback. Staff never rate as the
    resident, so a unit cannot rate its own work."""
    from gridlink.cases.models import PUBLIC_CHANNELS

    if case.channel in PUBLIC_CHANNELS:
        return roles & {Role.RESIDENT}
    return roles & {Role.HOTLINE_OPERATOR}


def sees_tracking_code(actor: AnyUser | None, case: Case) -> bool:
    """The tracking code is the reporter's: shown only to the signed-in reporter of a
    public-channel case, never to staff."""
    from gridlink.cases.models import PUBLIC_CHANNELS

    return (
        actor is not None
        and actor.is_authenticated
        and case.reporter_id is not None
        and case.reporter_id == actor.pk
        and case.channel in PUBLIC_CHANNELS
    )


def can_unmask_reporter(actor: AnyUser, case: Case) -> bool:
    """Unmasking a reporter's contact: the registry's unmask capability over the case's grid,
    or the hotline operator of the case (the callback)."""
    from gridlink.accounts.permissions import can_in_area
    from gridlink.accounts.roles import Cap

    if not actor.is_authenticated or not actor.is_active:
        return False
    if actor.is_superuser or can_in_area(actor, Cap.REGISTRY_UNMASK, case.grid):
        return True
    return Role.HOTLINE_OPERATOR in case_roles(actor, case)
