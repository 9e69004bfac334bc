"""What each action does beyond changing the state: one small function per action.

`case_transition` (in `transitions.py`) looks the action up in `EFFECTS` after its checks and
before it writes; an effect may refuse (a `DomainError`, nothing written), change fields of
the locked case, fill in the event's data and photos, and queue follow-ups that run after
the event is written (a reopen after a dissatisfied rating). Also here: the inputs' parsing,
photo claiming, and the ladder (`ladder_up`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from gridlink.accounts.roles import Role
from gridlink.cases.models import (
    AREA_UNIT_LEVELS,
    OPEN_STATES,
    Case,
    CasePhoto,
    CaseTask,
    Channel,
    HandlingLevel,
    PhotoStage,
    Satisfaction,
    TaskState,
)
from gridlink.cases.permissions import case_roles
from gridlink.cases.routing import route_for
from gridlink.cases.services.deadlines import (
    deadline_recompute,
    parse_allowance,
    parse_duration,
    stage_start,
    suspension_end,
    task_deadline_set,
)
from gridlink.cases.services.events import event_record
from gridlink.cases.services.guards import top_of_ladder
from gridlink.cases.services.supervision_hook import ORDER_OPENERS, Trigger
from gridlink.cases.workflow import Action, Transition
from gridlink.core.errors import DomainError
from gridlink.core.worktime import WorkCalendar, add_working_days
from gridlink.geo.models import Area, Department

if TYPE_CHECKING:
    from gridlink.accounts.models import User

LADDER = list(HandlingLevel)


class SystemStep(Protocol):
    """How an effect takes a follow-up transition as the system on the same locked case
    (`transitions` passes its engine in, so this module does not import it)."""

    def __call__(
        self,
        case: Case,
        action: str,
        inputs: Mapping[str, Any],
        now: dt.datetime,
        calendar: WorkCalendar | None,
    ) -> Case: ...


@dataclass
class Step:
    """What one transition is doing; the effect functions fill in the event's details."""

    case: Case
    transition: Transition
    actor: User | None
    role: str
    inputs: Mapping[str, Any]
    now: dt.datetime
    calendar: WorkCalendar | None
    apply: SystemStep
    data: dict[str, Any] = field(default_factory=dict)
    photos: list[CasePhoto] = field(default_factory=list)
    public: bool | None = None
    follow_ups: list[Callable[[], None]] = field(default_factory=list)


# --- Inputs ----------------------------------------------------------------------------------


def _text(inputs: Mapping[str, Any], name: str, *, limit: int = 1000) -> str:
    value = str(inputs.get(name) or "").strip()
    if len(value) > limit:
        raise DomainError(
            _("'%(field)s' is too long: at most %(max)s characters.")
            % {"field": name, "max": limit},
            code="too_long",
            field=name,
        )
    return value


def _int(inputs: Mapping[str, Any], name: str) -> int:
    value = inputs.get(name)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise DomainError(_("'%(field)s' must be a number.") % {"field": name}, field=name)
    try:
        return int(value)
    except ValueError:
        raise DomainError(
            _("'%(field)s' must be a number.") % {"field": name}, field=name
        ) from None


def photos_claim(keys: Any, *, field_name: str = "evidence") -> list[CasePhoto]:
    """The uploaded, not yet attached photos named by `keys` (a list of upload keys)."""
    if not isinstance(keys, list | tuple) or not all(isinstance(k, str) for k in keys):
        raise DomainError(
            _("'%(field)s' must be a list of upload keys.") % {"field": field_name},
            field=field_name,
        )
    if len(keys) > settings.GRIDLINK_PHOTOS_PER_CASE:
        raise DomainError(
            _("At most %(max)s photos.") % {"max": settings.GRIDLINK_PHOTOS_PER_CASE},
            code="too_many",
            field=field_name,
        )
    found = {p.key: p for p in CasePhoto.objects.filter(key__in=keys, case__isnull=True)}
    missing = [k for k in keys if k not in found]
    if missing:
        raise DomainError(
            _("Unknown or already used upload key: %(key)s.") % {"key": missing[0][:40]},
            code="unknown_upload",
            field=field_name,
        )
    return [found[k] for k in dict.fromkeys(keys)]


def _attach(step: Step, keys: Any, stage: str) -> None:
    photos = photos_claim(keys)
    CasePhoto.objects.filter(pk__in=[p.pk for p in photos]).update(case=step.case, stage=stage)
    step.photos = photos
    step.data["photos"] = [p.key for p in photos]


# --- The ladder and units ----------------------------------------------------------------------


def _area_at_level(case: Case, level: int) -> Area | None:
    ids = [int(p) for p in case.grid.path.strip("/").split("/") if p]
    return Area.objects.filter(pk__in=ids, level=level).first()


def _set_unit(case: Case, *, level: str, department: Department | None, area: Area | None) -> None:
    case.level = level
    case.unit_department = department
    case.unit_area = area


def ladder_up(case: Case) -> tuple[str, Department | None, Area | None]:
    """The next rung above the case's level and its unit (属地管理).

    grid → community → street: the area office of that level above the case's grid;
    street → district department: the department the routing gives for the category;
    district department → district command centre: the command-centre department.
    """
    refusal = top_of_ladder(case)
    if refusal is not None:
        raise refusal
    index = LADDER.index(HandlingLevel(case.level or HandlingLevel.GRID))
    nxt = LADDER[index + 1]
    if nxt in AREA_UNIT_LEVELS:
        area = _area_at_level(case, AREA_UNIT_LEVELS[nxt])
        if area is not None:
            return nxt, None, area
    if nxt == HandlingLevel.DISTRICT_DEPARTMENT:
        decision = route_for(category=case.category, area=case.grid)
        if decision.department is not None:
            return nxt, decision.department, None
        nxt = HandlingLevel.DISTRICT_CENTRE
    centre = Department.objects.filter(kind="command_centre", active=True).order_by("code").first()
    if centre is None:
        raise DomainError(
            _("There is no active district command centre to escalate to."),
            code="no_route",
            field="action",
        )
    return HandlingLevel.DISTRICT_CENTRE, centre, None


def _unit_from_input(step: Step) -> None:
    """`unit_id`: "auto" (the routing rules decide), "department:<id>" or "area:<id>"."""
    raw = str(step.inputs.get("unit_id") or "").strip()
    case = step.case
    if raw == "auto":
        decision = route_for(category=case.category, area=case.grid)
        _set_unit(case, level=decision.level, department=decision.department,
                  area=decision.area_unit)  # fmt: skip
        case.routing_rule = decision.rule
        case.routing_reason = f"{decision.reason_zh}\n{decision.reason_en}"
        step.data.update(rule_id=decision.rule.pk if decision.rule else None,
                         routing_reason=decision.reason_en)  # fmt: skip
        return
    kind, _sep, ident = raw.partition(":")
    if not ident.isdigit() or kind not in ("department", "area"):
        raise DomainError(
            _("'unit_id' is 'auto', 'department:<id>' or 'area:<id>'."), field="unit_id"
        )
    if kind == "department":
        dept = Department.objects.filter(pk=int(ident), active=True).first()
        if dept is None:
            raise DomainError(_("No such active department."), code="not_found", field="unit_id")
        level = (
            HandlingLevel.DISTRICT_CENTRE
            if dept.kind == "command_centre"
            else HandlingLevel.DISTRICT_DEPARTMENT
        )
        _set_unit(case, level=level, department=dept, area=None)
    else:
        area = Area.objects.filter(pk=int(ident)).first()
        levels = {v: k for k, v in AREA_UNIT_LEVELS.items()}
        if area is None or area.level not in levels or not case.grid.path.startswith(area.path):
            raise DomainError(
                _("The area must be the grid, community or street the case lies in."),
                code="not_found",
                field="unit_id",
            )
        _set_unit(case, level=levels[area.level], department=None, area=area)
    case.routing_rule = None
    case.routing_reason = ""
    step.data["unit"] = raw


# --- Effects, one per action that does more than change the state ------------------------------


def _accept_route(step: Step) -> None:
    """Filing suggests the route (level and unit) the dispatcher will usually confirm."""
    case = step.case
    case.filed_at = step.now
    try:
        decision = route_for(category=case.category, area=case.grid)
    except DomainError:
        return
    _set_unit(case, level=decision.level, department=decision.department,
              area=decision.area_unit)  # fmt: skip
    case.routing_rule = decision.rule
    case.routing_reason = f"{decision.reason_zh}\n{decision.reason_en}"
    step.data["suggested_route"] = decision.reason_en


def _file_directly(step: Step) -> None:
    _accept_route(step)
    if not step.case.level:
        _set_unit(step.case, level=HandlingLevel.GRID, department=None, area=step.case.grid)


def _handle_on_the_spot(step: Step) -> None:
    case = step.case
    case.filed_at = case.filed_at or step.now
    _set_unit(case, level=HandlingLevel.GRID, department=None, area=case.grid)
    _attach(step, step.inputs.get("evidence"), PhotoStage.RESULT)
    case.handled_by = step.actor
    case.handled_at = step.now


def _merge(step: Step) -> None:
    case = step.case
    parent_id = _int(step.inputs, "parent_case_id")
    if parent_id == case.pk:
        raise DomainError(_("A case cannot be merged into itself."), field="parent_case_id")
    parent = Case.objects.select_for_update(of=("self",)).filter(pk=parent_id).first()
    if parent is None or parent.state not in OPEN_STATES or parent.parent_id is not None:
        raise DomainError(
            _("The parent case must be an open case that is not itself merged."),
            code="invalid_parent",
            field="parent_case_id",
        )
    if step.actor is not None and Role.DISPATCHER not in case_roles(step.actor, parent):
        raise DomainError(_("No such case."), code="not_found", field="parent_case_id")
    case.parent = parent
    step.data["parent"] = parent.pk  # case numbers: tracking codes are the reporters'

    def note_on_parent() -> None:
        parent.version += 1
        parent.save(update_fields=["version", "updated_at"])
        event_record(case=parent, kind="merged_in", actor=step.actor, actor_role=step.role,
                     at=step.now, data={"child": case.pk}, public=False)  # fmt: skip

    step.follow_ups.append(note_on_parent)


def _dispatch(step: Step) -> None:
    _unit_from_input(step)
    step.case.whistled = False
    CaseTask.objects.filter(case=step.case).exclude(state=TaskState.DONE).delete()


def _whistle(step: Step) -> None:
    case = step.case
    raw = step.inputs.get("department_ids")
    if not isinstance(raw, list | tuple) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in raw
    ):
        raise DomainError(_("'department_ids' must be a list of ids."), field="department_ids")
    ids = list(dict.fromkeys(raw))
    lead_id = _int(step.inputs, "lead_department_id")
    if lead_id not in ids:
        raise DomainError(
            _("The lead department must be one of the summoned departments."),
            field="lead_department_id",
        )
    if len(ids) < 2:
        raise DomainError(
            _("Joint handling summons at least two departments."), field="department_ids"
        )
    departments = {d.pk: d for d in Department.objects.filter(pk__in=ids, active=True)}
    unknown = [i for i in ids if i not in departments]
    if unknown:
        raise DomainError(
            _("No such active department: %(id)s.") % {"id": unknown[0]},
            code="not_found",
            field="department_ids",
        )
    instructions = step.inputs.get("instructions") or {}
    if not isinstance(instructions, dict):
        raise DomainError(_("'instructions' maps department ids to text."), field="instructions")
    _set_unit(case, level=HandlingLevel.DISTRICT_DEPARTMENT, department=departments[lead_id],
              area=None)  # fmt: skip
    case.whistled = True
    case.routing_rule = None
    case.routing_reason = ""
    CaseTask.objects.filter(case=case).delete()
    report_in_due = step.now + dt.timedelta(minutes=settings.GRIDLINK_REPORT_IN_MINUTES)
    stage_start(case, "handle", step.now, step.calendar)
    handle_deadline = case.deadline_at or step.now
    own = _own_allowances(step.inputs.get("task_deadlines"), ids=ids, lead_id=lead_id)
    tasks = []
    for i in ids:
        amount, unit = own.get(i, (None, ""))
        task = CaseTask(case=case, department=departments[i], is_lead=i == lead_id,
                        instructions=str(instructions.get(str(i), ""))[:1000],
                        report_in_due_at=report_in_due, deadline_at=handle_deadline,
                        deadline_start=step.now, deadline_amount=amount,
                        deadline_unit=unit)  # fmt: skip
        task_deadline_set(task, case, now=step.now, calendar=step.calendar)
        if task.deadline_at > handle_deadline:
            raise DomainError(
                _("A co-handler's deadline (%(due)s) may not be later than the lead's handle "
                  "deadline (%(lead)s).")
                % {"due": _local(task.deadline_at), "lead": _local(handle_deadline)},
                code="after_lead_deadline",
                field=f"task_deadlines.{i}",
            )  # fmt: skip
        tasks.append(task)
    CaseTask.objects.bulk_create(tasks)
    step.data.update(departments=ids, lead=lead_id, report_in_due_at=report_in_due.isoformat())
    if own:
        step.data["task_deadlines"] = {
            str(t.department_id): t.deadline_at.isoformat() for t in tasks if t.own_deadline
        }


def _local(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def _own_allowances(raw: Any, *, ids: list[int], lead_id: int) -> dict[int, tuple[int, str]]:
    """`task_deadlines`: co-handler department id → its own working time ("3d", "8h")."""
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        raise DomainError(
            _("'task_deadlines' maps co-handling department ids to working time, e.g. '3d'."),
            field="task_deadlines",
        )
    out: dict[int, tuple[int, str]] = {}
    for key, value in raw.items():
        name = f"task_deadlines.{key}"
        dept = int(key) if str(key).isdigit() else None
        if dept is None or dept not in ids or dept == lead_id:
            raise DomainError(
                _("Only a summoned co-handling department (not the lead) gets its own "
                  "deadline."),
                code="not_a_co_handler",
                field=name[:60],
            )  # fmt: skip
        out[dept] = parse_allowance(value, field=name)
    return out


def _sign_for(step: Step) -> None:
    if step.case.whistled:
        CaseTask.objects.filter(case=step.case, is_lead=True, state=TaskState.SUMMONED).update(
            state=TaskState.REPORTED_IN, reported_in_at=step.now
        )


def _return(step: Step) -> None:
    step.case.return_count += 1
    step.data["unit"] = step.case.unit_name


def _escalate(step: Step) -> None:
    case = step.case
    level, department, area = ladder_up(case)
    step.data.update(from_level=case.level, to_level=level)
    _set_unit(case, level=level, department=department, area=area)
    case.escalation_count += 1


def _request_extension(step: Step) -> None:
    case = step.case
    amount, unit = parse_duration(step.inputs.get("duration"))
    case.requested_extension = f"{amount}{'d' if unit == 'working_days' else 'h'}"
    step.data["duration"] = case.requested_extension


def _approve_extension(step: Step) -> None:
    case = step.case
    amount, unit = parse_duration(case.requested_extension, field="requested_extension")
    case.extension_amount, case.extension_unit = amount, unit
    case.extension_count += 1
    case.requested_extension = ""
    before = case.deadline_at
    deadline_recompute(case, now=step.now, calendar=step.calendar)
    _tasks_follow_deadline(case, now=step.now, calendar=step.calendar)
    case.card = ""
    step.data.update(
        duration=f"{amount}{'d' if unit == 'working_days' else 'h'}",
        deadline_before=before.isoformat() if before else None,
        deadline_at=case.deadline_at.isoformat() if case.deadline_at else None,
    )


def _tasks_follow_deadline(case: Case, *, now: dt.datetime, calendar: WorkCalendar | None) -> None:
    """Joint handling: open tasks without their own deadline share the case's handle deadline
    as it moves; a task's own deadline adds the case's suspensions."""
    if case.whistled and case.stage == "handle" and case.deadline_at is not None:
        fields = ["deadline_at", "yellow_at", "card"]
        for task in CaseTask.objects.filter(case=case).exclude(state=TaskState.DONE):
            task_deadline_set(task, case, now=now, calendar=calendar)
            task.save(update_fields=fields)


def _deny_extension(step: Step) -> None:
    step.case.requested_extension = ""


def _approve_suspension(step: Step) -> None:
    step.case.suspended_at = step.now


def _resume(step: Step) -> None:
    case = step.case
    suspension_end(case, step.now)
    deadline_recompute(case, now=step.now, calendar=step.calendar)
    _tasks_follow_deadline(case, now=step.now, calendar=step.calendar)
    step.data["deadline_at"] = case.deadline_at.isoformat() if case.deadline_at else None


def _submit_result(step: Step) -> None:
    case = step.case
    if case.whistled:  # every co-task is done (guard `co_tasks_done`)
        CaseTask.objects.filter(case=case, is_lead=True).update(
            state=TaskState.DONE, done_at=step.now, result=_text(step.inputs, "result")
        )
    _attach(step, step.inputs.get("evidence"), PhotoStage.RESULT)
    step.data["result"] = _text(step.inputs, "result")
    case.handled_by = step.actor
    case.handled_at = step.now


def _send_for_verification(step: Step) -> None:
    from gridlink.accounts.models import User

    case = step.case
    verifier = User.objects.filter(pk=_int(step.inputs, "verifier_id"), is_active=True).first()
    if verifier is None:
        raise DomainError(_("No such user."), code="not_found", field="verifier_id")
    if verifier.pk == case.handled_by_id:
        raise DomainError(
            _("The verifier must be someone other than the handler."),
            code="verifier_is_handler",
            field="verifier_id",
        )
    roles = case_roles(verifier, case, Action.VERIFY_PASS)
    if not roles & {Role.GRID_WORKER, Role.SUPERVISOR}:
        raise DomainError(
            _("The verifier must be a grid worker or supervisor of the case's grid."),
            code="not_a_verifier",
            field="verifier_id",
        )
    case.verifier = verifier
    step.data["verifier_id"] = verifier.pk


def _verify_pass(step: Step) -> None:
    if step.inputs.get("evidence"):
        _attach(step, step.inputs.get("evidence"), PhotoStage.VERIFY)


def _verify_fail(step: Step) -> None:
    case = step.case
    case.verify_fail_count += 1
    if step.inputs.get("evidence"):
        _attach(step, step.inputs.get("evidence"), PhotoStage.VERIFY)
    step.data["failures"] = case.verify_fail_count
    if case.verify_fail_count >= VERIFY_FAILURES_SUPERVISED and not case.supervised:
        reason = _("Failed verification %(n)s times.") % {"n": case.verify_fail_count}
        step.follow_ups.append(
            lambda: supervise_by_system(
                step.apply, case, trigger=Trigger.VERIFICATION_FAILED, reason=reason,
                now=step.now, calendar=step.calendar,
            )
        )  # fmt: skip


def _close(step: Step) -> None:
    case = step.case
    case.closed_at = step.now
    if case.channel == Channel.HOTLINE:  # 回访: the hotline calls the reporter back
        case.callback_due_at = add_working_days(start_at=step.now, days=2, calendar=step.calendar)


def _rate(step: Step) -> None:
    case = step.case
    satisfaction = str(step.inputs.get("satisfaction"))
    if satisfaction not in Satisfaction.values:
        raise DomainError(
            _("'satisfaction' is one of: %(values)s.") % {"values": ", ".join(Satisfaction.values)},
            field="satisfaction",
        )
    solved = step.inputs.get("solved")
    if not isinstance(solved, bool):
        raise DomainError(_("'solved' is true or false."), field="solved")
    case.satisfaction = satisfaction
    case.solved = solved
    case.callback_due_at = None
    step.data.update(satisfaction=satisfaction, solved=solved,
                     comment=_text(step.inputs, "comment", limit=500))  # fmt: skip
    if step.role == Role.HOTLINE_OPERATOR:  # 回访: the operator's callback, not the resident
        step.data["callback"] = True
    if satisfaction == Satisfaction.DISSATISFIED:
        case.dissatisfied_count += 1
        step.follow_ups.append(lambda: _redo_after_dissatisfaction(step))


def _redo_after_dissatisfaction(step: Step) -> None:
    """Dissatisfied → the same unit handles it again (重办); the second time also 督办."""
    case = step.case
    reason = _("The reporter was dissatisfied.")
    step.apply(case, Action.REOPEN, {"reason": reason}, step.now, step.calendar)
    if case.dissatisfied_count >= DISSATISFIED_SUPERVISED:
        supervise_by_system(step.apply, case, trigger=Trigger.DISSATISFIED_TWICE,
                            reason=_("Dissatisfied twice."), now=step.now,
                            calendar=step.calendar)  # fmt: skip


# --- Supervision (督办): the one writer of `Case.supervised` -----------------------------------

DISSATISFIED_SUPERVISED = 2  # SPEC §3: dissatisfied again → supervision order
VERIFY_FAILURES_SUPERVISED = 3  # SPEC §3: three or more failures are flagged


def supervise_by_system(
    apply: SystemStep,
    case: Case,
    *,
    trigger: str,
    reason: str,
    now: dt.datetime,
    calendar: WorkCalendar | None,
) -> None:
    """An automatic trigger puts `case` (locked, saved) under supervision: the `supervise`
    transition as the system (`apply`), whose effect opens the order. A case already
    supervised keeps the order it has; a closed one gets none.
    `transitions.supervise_automatically` is this with the engine filled in."""
    if case.supervised or not case.is_open:
        return
    apply(case, Action.SUPERVISE, {"reason": reason, "trigger": trigger}, now, calendar)


CONTACT_METHODS = ("phone", "sms", "visit", "other")


def _record_contact(step: Step) -> None:
    """The handler or hotline operator records that the reporter was contacted (the
    response rate's second half); the time is the service clock, never entered."""
    method = str(step.inputs.get("method") or "phone")
    if method not in CONTACT_METHODS:
        raise DomainError(
            _("'method' is one of: %(values)s.") % {"values": ", ".join(CONTACT_METHODS)},
            field="method",
        )
    step.data.update(method=method, note=_text(step.inputs, "note", limit=500),
                     contacted_at=step.now.isoformat())  # fmt: skip


def _supervise(step: Step) -> None:
    """Set the flag, once, with the order: the one the supervision service has just opened
    (`order_code`), or one opened now through the registered opener."""
    case = step.case
    code = _text(step.inputs, "order_code", limit=20)
    # Only the system names an automatic trigger; a person's action is always manual.
    trigger = str(step.inputs.get("trigger") or Trigger.MANUAL) if step.actor is None else ""
    trigger = trigger or Trigger.MANUAL
    if trigger not in Trigger.values:
        raise DomainError(_("Unknown supervision trigger."), code="invalid", field="trigger")
    if code and not case.supervision_orders.filter(code=code).exists():
        raise DomainError(
            _("No such supervision order on this case."), code="not_found", field="order_code"
        )
    if not code:
        if not ORDER_OPENERS:
            raise DomainError(
                _("Supervision orders are not available (the supervision app is not installed)."),
                code="no_supervision",
                field="action",
            )
        code = ORDER_OPENERS[0](case=case, actor=step.actor, trigger=trigger,
                                reason=_text(step.inputs, "reason"), now=step.now,
                                calendar=step.calendar)  # fmt: skip
    case.supervised = True
    step.data.update(order=code, trigger=trigger)


EFFECTS: dict[str, Callable[[Step], None]] = {
    Action.FILE: _accept_route,
    Action.FILE_DIRECTLY: _file_directly,
    Action.HANDLE_ON_THE_SPOT: _handle_on_the_spot,
    Action.MERGE: _merge,
    Action.DISPATCH: _dispatch,
    Action.WHISTLE: _whistle,
    Action.SIGN_FOR: _sign_for,
    Action.RETURN_NOT_OUR_DUTY: _return,
    Action.ESCALATE: _escalate,
    Action.REQUEST_EXTENSION: _request_extension,
    Action.APPROVE_EXTENSION: _approve_extension,
    Action.DENY_EXTENSION: _deny_extension,
    Action.APPROVE_SUSPENSION: _approve_suspension,
    Action.RESUME: _resume,
    Action.SUBMIT_RESULT: _submit_result,
    Action.SEND_FOR_VERIFICATION: _send_for_verification,
    Action.VERIFY_PASS: _verify_pass,
    Action.VERIFY_FAIL: _verify_fail,
    Action.CLOSE: _close,
    Action.RATE: _rate,
    Action.RECORD_CONTACT: _record_contact,
    Action.SUPERVISE: _supervise,
}
