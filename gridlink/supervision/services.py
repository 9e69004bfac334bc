"""Writes on supervision orders: open, respond, close (accept or reject) and the sweep.

Check, then do: each service locks the row it changes, checks the actor's right and the
order's state, validates the input, then writes the change, an event row
(`SupervisionEvent`) and an outbox entry (`supervision.<event>`) in one transaction. Any
refusal raises a `DomainError` naming the field at fault before anything is written.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridlink.cases.models import Case
from gridlink.cases.workflow_table import Trigger
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.core.worktime import WorkCalendar, add_working_days, calendar_load
from gridlink.geo.models import Area, Department, Level
from gridlink.outbox.services import outbox_put
from gridlink.supervision.models import (
    DEADLINE_DAYS_MAX,
    DEADLINE_DAYS_MIN,
    INSTRUCTIONS_MAX,
    NOTE_MAX,
    RESPONSE_MAX,
    EventKind,
    OrderLevel,
    OrderState,
    SupervisionEvent,
    SupervisionOrder,
)
from gridlink.supervision.permissions import may_close, may_respond, may_supervise
from gridlink.supervision.policy import automatic_order, escalation_target

if TYPE_CHECKING:
    from gridlink.accounts.models import User

# Area levels an order may name as its unit.
UNIT_LEVELS = frozenset({Level.STREET, Level.COMMUNITY, Level.GRID})
CODE_ATTEMPTS = 5


class OrderNotFound(DomainError):
    status = 404

    def __init__(self) -> None:
        super().__init__(
            _("No such supervision order, or it is outside your scope."),
            code="not_found",
            field="order_id",
        )


class WrongState(DomainError):
    status = 409

    def __init__(self, order: SupervisionOrder, wanted: str) -> None:
        super().__init__(
            _("The order is '%(state)s'; this needs it to be %(wanted)s.")
            % {"state": order.get_state_display(), "wanted": wanted},
            code="wrong_state",
            field="state",
        )


class StaleVersion(DomainError):
    """The caller saw an older version of the order (lost-update protection)."""

    status = 409

    def __init__(self, order: SupervisionOrder, seen: int) -> None:
        self.order = order
        super().__init__(
            _(
                "The order has changed since you read it (you sent version %(seen)s, it is "
                "now version %(current)s, state '%(state)s'). Reload it and try again."
            )
            % {"seen": seen, "current": order.version, "state": order.get_state_display()},
            code="stale_version",
            field="version",
        )


class VersionRequired(DomainError):
    status = 428

    def __init__(self) -> None:
        super().__init__(
            _("State the version of the order you saw (If-Match header or 'version' field)."),
            code="version_required",
            field="version",
        )


def _check_version(order: SupervisionOrder, version: int | None) -> None:
    if version is None:
        raise VersionRequired
    if version != order.version:
        raise StaleVersion(order, version)


# --- Input checks ----------------------------------------------------------------------------


def _text(value: object, *, field: str, limit: int, required: bool = True) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise DomainError(_("This field is required."), code="required", field=field)
    if len(text) > limit:
        raise DomainError(
            _("At most %(limit)d characters.") % {"limit": limit}, code="too_long", field=field
        )
    return text


def _deadline_days(value: object) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not DEADLINE_DAYS_MIN <= value <= DEADLINE_DAYS_MAX
    ):
        raise DomainError(
            _("The deadline is %(low)d to %(high)d working days.")
            % {"low": DEADLINE_DAYS_MIN, "high": DEADLINE_DAYS_MAX},
            code="out_of_range",
            field="deadline_days",
        )
    return value


def _resolve_target(
    case: Case | int | None, department: Department | int | None, area: Area | int | None
) -> tuple[Case | None, Department | None, Area | None]:
    named = [x for x in (case, department, area) if x is not None]
    if len(named) != 1:
        raise DomainError(
            _("Name exactly one target: case_id, department_id or area_id."),
            code="one_target",
            field="target",
        )
    if case is not None:
        case_id = int(case.pk) if isinstance(case, Case) else case
        found = (
            Case.objects.select_for_update(of=("self",))
            .select_related("grid", "unit_area", "unit_department")
            .filter(pk=case_id)
            .first()
        )
        if found is None:
            raise DomainError(_("No such case."), code="not_found", field="case_id")
        return found, None, None
    if department is not None:
        department_id = int(department.pk) if isinstance(department, Department) else department
        dept = Department.objects.prefetch_related("areas").filter(pk=department_id).first()
        if dept is None:
            raise DomainError(_("No such department."), code="not_found", field="department_id")
        if not dept.active:
            raise DomainError(
                _("The department is not active."), code="inactive", field="department_id"
            )
        return None, dept, None
    if area is None:  # unreachable: exactly one target is named (this tells mypy)
        raise DomainError(_("Name exactly one target."), code="one_target", field="target")
    area_id = int(area.pk) if isinstance(area, Area) else area
    unit = Area.objects.filter(pk=area_id).first()
    if unit is None:
        raise DomainError(_("No such area."), code="not_found", field="area_id")
    if unit.level not in UNIT_LEVELS:
        raise DomainError(
            _("A supervision order names a street, a community or a grid."),
            code="not_a_unit",
            field="area_id",
        )
    return None, None, unit


# --- Writes ----------------------------------------------------------------------------------


def _payload(order: SupervisionOrder, **extra: Any) -> dict[str, Any]:
    return {
        "order_id": order.pk,
        "code": order.code,
        "target_kind": str(order.target_kind),
        "target_id": order.target_id,
        "accountable_department_id": order.accountable_department_id,
        "accountable_area_id": order.accountable_area_id,
        "level": order.level,
        "state": order.state,
        "deadline_at": order.deadline_at.isoformat(),
        "escalation_count": order.escalation_count,
        "trigger": order.trigger,
        "escalated_to_department_id": order.escalated_to_department_id,
        "escalated_to_area_id": order.escalated_to_area_id,
        **extra,
    }


def _record(
    order: SupervisionOrder,
    *,
    kind: EventKind,
    actor: User | None,
    at: dt.datetime,
    text: str = "",
    topic: str,
    data: dict[str, Any] | None = None,
    emails: list[str] | None = None,
    email_subject: str = "",
    email_body: str = "",
) -> SupervisionEvent:
    event = SupervisionEvent.objects.create(
        order=order, kind=kind, actor=actor, text=text, data=data or {}, at=at
    )
    outbox_put(
        topic=f"supervision.{topic}",
        payload=_payload(
            order, event=str(kind), actor_id=actor.pk if actor else None, at=at, **(data or {})
        ),
        emails=emails or (),
        email_subject=email_subject,
        email_body=email_body,
    )
    return event


def _save_with_code(order: SupervisionOrder, at: dt.datetime) -> None:
    """Give the order the next number of its year (DB-2026-000123) and insert it."""
    year = timezone.localtime(at).year
    prefix = f"DB-{year}-"
    for _attempt in range(CODE_ATTEMPTS):
        last = (
            SupervisionOrder.objects.filter(code__startswith=prefix)
            .order_by("-code")
            .values_list("code", flat=True)
            .first()
        )
        number = int(last.removeprefix(prefix)) + 1 if last else 1
        order.code = f"{prefix}{number:06d}"
        try:
            with transaction.atomic():  # a savepoint: a concurrent twin retries, not fails
                order.save(force_insert=True)
            return
        except IntegrityError:
            if not SupervisionOrder.objects.filter(code=order.code).exists():
                raise
            order.pk = None
    raise DomainError(_("Could not number the order; try again."), code="busy", field=None)


def _supervise_case(actor: User, case: Case, order: SupervisionOrder, at: dt.datetime) -> None:
    """Put an open case under supervision so its timeline shows the order (the `supervise`
    transition, naming the order: its effect is the one writer of the flag)."""
    from gridlink.accounts.roles import Role
    from gridlink.cases.permissions import case_roles
    from gridlink.cases.services.transitions import case_transition
    from gridlink.cases.workflow import Action

    if not case.is_open or case.supervised:
        return
    # A superuser holds no supervisor role on the case: the transition runs as the system.
    system = Role.SUPERVISOR not in case_roles(actor, case, Action.SUPERVISE)
    case_transition(
        actor=actor,
        case_id=case.pk,
        action=Action.SUPERVISE,
        version=case.version,
        inputs={
            "reason": _("Supervision order %(code)s") % {"code": order.code},
            "order_code": order.code,
        },
        system=system,
        now=at,
    )


def _order_create(
    *,
    actor: User | None,
    case: Case | None,
    department: Department | None,
    area: Area | None,
    instructions: str,
    deadline_days: int,
    level: str,
    trigger: str,
    at: dt.datetime,
    calendar: WorkCalendar | None,
) -> SupervisionOrder:
    """Write a checked order, its `opened` event and outbox entry: the one place an order is
    made, for a supervisor's order and an automatic one alike."""
    order = SupervisionOrder(
        case=case,
        department=department,
        area=area,
        instructions=instructions,
        level=level,
        state=OrderState.OPEN,
        opened_by=actor,
        opened_at=at,
        trigger=trigger,
        deadline_days=deadline_days,
        deadline_at=add_working_days(start_at=at, days=deadline_days, calendar=calendar),
    )
    if case is not None:
        if case.unit_department_id is not None:
            order.accountable_department_id = case.unit_department_id
        else:
            order.accountable_area_id = case.unit_area_id or case.grid_id
    elif department is not None:
        order.accountable_department = department
    else:
        order.accountable_area = area
    _save_with_code(order, at)
    _record(order, kind=EventKind.OPENED, actor=actor, at=at, text=instructions,
            topic="opened", data={"trigger": trigger})  # fmt: skip
    return order


@transaction.atomic
def order_open(
    *,
    actor: User,
    case: Case | int | None = None,
    department: Department | int | None = None,
    area: Area | int | None = None,
    instructions: str,
    deadline_days: int,
    level: str = OrderLevel.NORMAL,
    now: dt.datetime | None = None,
    calendar: WorkCalendar | None = None,
) -> SupervisionOrder:
    """Open a supervision order on exactly one of `case`, `department` or `area` (objects or
    ids). The deadline is `deadline_days` working days from now. On an open case that is not
    yet supervised, the case is put under supervision (a `supervise` timeline event)."""
    at = now or timezone.now()
    text = _text(instructions, field="instructions", limit=INSTRUCTIONS_MAX)
    days = _deadline_days(deadline_days)
    if level not in OrderLevel.values:
        raise DomainError(_("The level is normal or urgent."), code="invalid", field="level")
    target_case, target_department, target_area = _resolve_target(case, department, area)
    if not may_supervise(actor, case=target_case, department=target_department, area=target_area):
        raise NotPermitted(
            _("Only a supervisor whose area covers the target may open a supervision order."),
            code="not_permitted",
            field="target",
        )
    order = _order_create(
        actor=actor, case=target_case, department=target_department, area=target_area,
        instructions=text, deadline_days=days, level=level, trigger=Trigger.MANUAL, at=at,
        calendar=calendar,
    )  # fmt: skip
    if target_case is not None:
        _supervise_case(actor, target_case, order, at)
    return order


def order_open_for_case(
    *,
    case: Case,
    actor: User | None,
    trigger: str,
    reason: str,
    now: dt.datetime,
    calendar: WorkCalendar | None,
) -> str:
    """The order behind a `supervise` transition that no order preceded: a supervisor's
    `supervise` action on the case, or an automatic trigger (dissatisfied twice, three
    failed verifications, overdue; `actor` None). Called by the transition's effect inside
    its transaction, with the case locked; the deadline and level come from the policy
    (`gridlink.supervision.policy.AUTOMATIC`). Returns the order's code."""
    if trigger not in Trigger.values:
        raise DomainError(_("Unknown supervision trigger."), code="invalid", field="trigger")
    policy = automatic_order(trigger)
    text = "\n".join(t for t in (str(policy.instructions), reason.strip()) if t)
    order = _order_create(
        actor=actor, case=case, department=None, area=None,
        instructions=text[:INSTRUCTIONS_MAX], deadline_days=policy.deadline_days,
        level=policy.level, trigger=trigger, at=now, calendar=calendar,
    )  # fmt: skip
    return order.code


def _locked(order_id: int) -> SupervisionOrder:
    order = (
        SupervisionOrder.objects.select_for_update(of=("self",))
        .select_related("case__grid", "case__unit_area", "area", "department")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise OrderNotFound
    return order


@transaction.atomic
def order_respond(
    *,
    actor: User,
    order_id: int,
    version: int | None,
    response: str,
    now: dt.datetime | None = None,
) -> SupervisionOrder:
    """The target unit answers an open (or reopened) order, naming the `version` it saw
    (`StaleVersion` 409 when the order has changed since, `VersionRequired` 428 without).
    A response after the deadline marks the order overdue even if the sweep has not run
    yet."""
    at = now or timezone.now()
    order = _locked(order_id)
    if not may_respond(actor, order):
        raise NotPermitted(
            _("Only the unit the order is addressed to may respond."),
            code="not_permitted",
            field="order_id",
        )
    _check_version(order, version)
    if not order.is_awaiting:
        raise WrongState(order, _("open or reopened"))
    text = _text(response, field="response", limit=RESPONSE_MAX)
    late = at > order.deadline_at
    order.state = OrderState.RESPONDED
    order.response = text
    order.responded_by = actor
    order.responded_at = at
    order.overdue = order.overdue or late
    order.version += 1
    order.save()
    _record(
        order, kind=EventKind.RESPONDED, actor=actor, at=at, text=text, topic="responded",
        data={"late": late},
    )  # fmt: skip
    return order


@transaction.atomic
def order_close(
    *,
    actor: User,
    order_id: int,
    version: int | None,
    accept: bool,
    note: str = "",
    now: dt.datetime | None = None,
    calendar: WorkCalendar | None = None,
) -> SupervisionOrder:
    """A supervisor judges the response: `accept` closes the order; otherwise it is reopened
    with a new deadline of the same number of working days from now (`note` says why).
    `version` as for `order_respond`."""
    at = now or timezone.now()
    order = _locked(order_id)
    if not may_close(actor, order):
        raise NotPermitted(
            _(
                "Only the supervisor who opened the order or a supervisor over its unit may "
                "close it."
            ),
            code="not_permitted",
            field="order_id",
        )
    _check_version(order, version)
    if order.state != OrderState.RESPONDED:
        raise WrongState(order, _("responded"))
    text = _text(note, field="note", limit=NOTE_MAX, required=not accept)
    order.version += 1
    if accept:
        order.state = OrderState.CLOSED
        order.closed_by = actor
        order.closed_at = at
        order.save()
        _record(order, kind=EventKind.ACCEPTED, actor=actor, at=at, text=text, topic="closed")
    else:
        order.state = OrderState.REOPENED
        order.deadline_at = add_working_days(
            start_at=at, days=order.deadline_days, calendar=calendar
        )
        order.save()
        _record(order, kind=EventKind.REJECTED, actor=actor, at=at, text=text, topic="reopened")
    return order


def orders_sweep(
    *, now: dt.datetime | None = None, calendar: WorkCalendar | None = None
) -> dict[str, int]:
    """Mark orders left unanswered past their deadline overdue and escalate them.

    Each escalation moves the deadline on by the order's own number of working days, counted
    from the missed deadline (repeated until it lies after `now`), so the order escalates
    once per missed period and again when the next one passes. Running twice at the same
    `now` changes nothing the second time. Each order is handled in its own transaction.
    """
    at = now or timezone.now()
    cal = calendar or calendar_load()
    found = {"overdue": 0, "escalated": 0}
    due = list(
        SupervisionOrder.objects.past_deadline(at).order_by("id").values_list("pk", flat=True)
    )
    for order_id in due:
        with transaction.atomic():
            order = _locked(order_id)
            if not order.is_awaiting or order.deadline_at >= at:
                continue  # answered or moved on since the list was read
            missed = order.deadline_at
            deadline = missed
            while deadline < at:
                deadline = add_working_days(
                    start_at=deadline, days=order.deadline_days, calendar=cal
                )
            if not order.overdue:
                found["overdue"] += 1
            order.overdue = True
            order.escalated = True
            order.escalated_at = at
            order.escalation_count += 1
            order.deadline_at = deadline
            to_department, to_area = _escalate_to(order)
            order.escalated_to_department, order.escalated_to_area = to_department, to_area
            order.version += 1
            order.save()
            unit = to_department or to_area
            recipients = escalation_recipients(department=to_department, area=to_area)
            _record(
                order,
                kind=EventKind.ESCALATED,
                actor=None,
                at=at,
                topic="escalated",
                text=_("Escalated to %(unit)s.") % {"unit": unit.name_zh if unit else "-"},
                data={
                    "missed_deadline_at": missed.isoformat(),
                    "next_deadline_at": deadline.isoformat(),
                    "escalated_to": _unit_ref(to_department, to_area),
                    "notified_user_ids": [u.pk for u in recipients],
                },
                emails=[u.email for u in recipients if u.email],
                email_subject=_("Supervision order %(code)s is overdue") % {"code": order.code},
                email_body=_(
                    "Supervision order %(code)s was not answered by its deadline and has been "
                    "escalated to %(unit)s."
                )
                % {"code": order.code, "unit": unit.name_zh if unit else "-"},
            )
            found["escalated"] += 1
    return found


# --- Escalation: where to, and who hears of it -----------------------------------------------


def _unit_ref(department: Department | None, area: Area | None) -> dict[str, Any] | None:
    if department is not None:
        return {"kind": "department", "id": department.pk, "code": department.code,
                "name": department.name_zh}  # fmt: skip
    if area is not None:
        return {"kind": "area", "id": area.pk, "code": area.code, "name": area.name_zh}
    return None


def _escalate_to(order: SupervisionOrder) -> tuple[Department | None, Area | None]:
    """One rung above where the order stands: above its previous escalation, else above the
    accountable unit."""
    if order.escalated_to_department_id or order.escalated_to_area_id:
        department, area = order.escalated_to_department, order.escalated_to_area
    else:
        department, area = order.accountable_department, order.accountable_area
    return escalation_target(department=department, area=area)


# Who answers for a unit an order escalates to: a department's head (its handlers when it
# has no head), an area's office — the dispatcher and the office staff of that area.
_AREA_LEADERS = ("dispatcher", "street_staff", "community_staff")


def escalation_recipients(*, department: Department | None, area: Area | None) -> list[User]:
    """The active users who lead the unit an order escalated to (to be notified)."""
    from gridlink.accounts.models import RoleAssignment, User
    from gridlink.accounts.roles import Role

    rows = RoleAssignment.objects.active().filter(user__is_active=True)
    if department is not None:
        heads = rows.filter(department=department, role=Role.DEPT_HEAD)
        if not heads.exists():
            heads = rows.filter(department=department, role=Role.DEPT_HANDLER)
        ids = heads.values_list("user_id", flat=True)
    elif area is not None:
        ids = rows.filter(area=area, role__in=_AREA_LEADERS).values_list("user_id", flat=True)
    else:
        return []
    return list(User.objects.filter(pk__in=list(ids)).order_by("pk"))
