"""Joint handling (街乡吹哨、部门报到): the summoned departments' tasks.

`whistle` (a transition) creates one task per department, one of them the lead. Each
department reports in (报到) — late when after `report_in_due_at` — and completes its task
with a result; the lead submits the case's result only when every co-task is done
(`case_transition` checks). The whistling unit (a dispatcher of the case) then rates each
department's participation, 1–5. Every step bumps the case version and writes a timeline
event, like a transition.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridlink.accounts.roles import Role
from gridlink.cases.models import Case, CaseTask, TaskState
from gridlink.cases.permissions import actor_departments, case_roles
from gridlink.cases.services.events import event_record
from gridlink.cases.services.transitions import StaleVersion, VersionRequired
from gridlink.core.errors import DomainError, NotPermitted

if TYPE_CHECKING:
    from gridlink.accounts.models import User

RATING_MIN, RATING_MAX = 1, 5


def _locked_task(task_id: int, version: int | None) -> tuple[Case, CaseTask]:
    task = CaseTask.objects.filter(pk=task_id).only("case_id").first()
    if task is None:
        raise DomainError(_("No such task."), code="not_found", field="task_id")
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("grid", "unit_area", "unit_department", "category")
        .get(pk=task.case_id)
    )
    if version is None:
        raise VersionRequired
    if version != case.version:
        raise StaleVersion(case, version)
    task = CaseTask.objects.select_related("department").get(pk=task_id)
    return case, task


def _require_department(actor: User, task: CaseTask) -> str:
    if task.department_id not in actor_departments(actor):
        raise NotPermitted(
            _("Only staff of %(dept)s may act on this task.") % {"dept": task.department.name_zh},
            field="task_id",
        )
    return Role.DEPT_HEAD if _holds(actor, Role.DEPT_HEAD, task) else Role.DEPT_HANDLER


def _holds(actor: User, role: str, task: CaseTask) -> bool:
    from gridlink.accounts.permissions import department_roles

    return (role, task.department_id) in department_roles(actor)


def _open_case(case: Case) -> None:
    if not case.whistled or not case.is_open:
        raise DomainError(
            _("The case is not in joint handling."), code="not_joint", field="task_id"
        )


def _bump(case: Case) -> None:
    case.version += 1
    case.save(update_fields=["version", "updated_at"])


@transaction.atomic
def task_report_in(
    *, actor: User, task_id: int, version: int | None, now: dt.datetime | None = None
) -> CaseTask:
    """The department reports in (报到) to the summoned case."""
    now = now or timezone.now()
    case, task = _locked_task(task_id, version)
    _open_case(case)
    role = _require_department(actor, task)
    if task.state != TaskState.SUMMONED:
        raise DomainError(_("This department has already reported in."), code="already",
                          field="task_id")  # fmt: skip
    task.state = TaskState.REPORTED_IN
    task.reported_in_at = now
    task.save(update_fields=["state", "reported_in_at"])
    _bump(case)
    data = {"task_id": task.pk, "department_id": task.department_id, "late": task.reported_in_late}
    event_record(case=case, kind="task_reported_in", actor=actor, actor_role=role,
                 actor_unit=task.department.name_zh, data=data, public=False,
                 at=now)  # fmt: skip
    return task


@transaction.atomic
def task_complete(
    *, actor: User, task_id: int, version: int | None, result: str, now: dt.datetime | None = None
) -> CaseTask:
    """A co-handling department finishes its part (the lead finishes with the case result)."""
    now = now or timezone.now()
    case, task = _locked_task(task_id, version)
    _open_case(case)
    role = _require_department(actor, task)
    if task.is_lead:
        raise DomainError(
            _("The lead department finishes by submitting the case's result."),
            code="lead_task",
            field="task_id",
        )
    if task.state == TaskState.DONE:
        raise DomainError(_("This task is already done."), code="already", field="task_id")
    result = (result or "").strip()
    if not result:
        raise DomainError(_("Describe what your department did."), code="required", field="result")
    if len(result) > 1000:
        raise DomainError(_("At most 1000 characters."), code="too_long", field="result")
    task.reported_in_at = task.reported_in_at or now
    task.state = TaskState.DONE
    task.done_at = now
    task.result = result
    task.save(update_fields=["state", "done_at", "result", "reported_in_at"])
    _bump(case)
    event_record(case=case, kind="task_done", actor=actor, actor_role=role,
                 actor_unit=task.department.name_zh,
                 data={"task_id": task.pk, "result": result}, public=False,
                 at=now)  # fmt: skip
    return task


@transaction.atomic
def task_rate(
    *,
    actor: User,
    task_id: int,
    version: int | None,
    rating: int,
    note: str = "",
    now: dt.datetime | None = None,
) -> CaseTask:
    """The whistling unit rates a department's participation (1–5) once its task is done."""
    now = now or timezone.now()
    case, task = _locked_task(task_id, version)
    if Role.DISPATCHER not in case_roles(actor, case):
        raise NotPermitted(
            _("Only the command centre that summoned the departments rates them."),
            field="task_id",
        )
    if task.state != TaskState.DONE:
        raise DomainError(_("Rate a department after its task is done."), code="not_done",
                          field="task_id")  # fmt: skip
    if (
        isinstance(rating, bool)
        or not isinstance(rating, int)
        or not (RATING_MIN <= rating <= RATING_MAX)
    ):
        raise DomainError(_("The rating is a whole number from 1 to 5."), field="rating")
    task.rating = rating
    task.rating_note = (note or "").strip()[:200]
    task.save(update_fields=["rating", "rating_note"])
    _bump(case)
    event_record(case=case, kind="task_rated", actor=actor, actor_role=Role.DISPATCHER,
                 data={"task_id": task.pk, "department_id": task.department_id,
                       "rating": rating}, public=False, at=now)  # fmt: skip
    return task
