"""The deadline sweep: yellow and red cards, and the overdue policy (the worker's
`sweep_deadlines`, every minute).

It sits above the other services — it takes transitions (`escalate`) and opens supervision
through `transitions`, reads the cards from `deadlines` — and nothing imports it but the
task, so the services' imports run one way: sweep → transitions → effects → deadlines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gridlink.cases.models import OPEN_STATES, Card, Case, CaseTask, TaskState
from gridlink.cases.services.deadlines import card_due, task_card_due
from gridlink.cases.services.effects import ladder_up
from gridlink.cases.services.events import event_record
from gridlink.cases.services.supervision_hook import Trigger
from gridlink.cases.services.transitions import case_transition, supervise_automatically
from gridlink.cases.workflow import Action, transition_for
from gridlink.core.errors import DomainError
from gridlink.core.worktime import WorkCalendar, current_calendar


@dataclass
class SweepResult:
    yellow: int = 0
    red: int = 0
    escalated: int = 0
    supervised: int = 0
    task_yellow: int = 0  # joint-handling tasks: the same cards, per task
    task_red: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"yellow": self.yellow, "red": self.red, "escalated": self.escalated,
                "supervised": self.supervised, "task_yellow": self.task_yellow,
                "task_red": self.task_red}  # fmt: skip


def deadline_sweep(*, now: dt.datetime | None = None, limit: int = 1000) -> SweepResult:
    """Hand out yellow and red cards and apply the overdue policy, one case per transaction.

    Idempotent: a card is only ever raised (none → yellow → red) within a stage, and the
    escalation that follows a red card starts a new stage with a later deadline; so a second
    run at the same moment finds nothing to do. The policy (`GRIDLINK_OVERDUE_POLICY`):
    `escalate` moves an overdue case one rung up the ladder when its state allows escalation
    and it is not at the top — otherwise, and under `supervise`, it is put under supervision
    (a supervision order with reason `overdue`, see `effects.supervise_by_system`).
    """
    now = now or timezone.now()
    cal = current_calendar()
    result = SweepResult()
    due = (
        Case.objects.open()
        .filter(deadline_at__isnull=False, suspended_at__isnull=True)
        .filter(
            Q(deadline_at__lte=now, card__in=[Card.NONE, Card.YELLOW])
            | Q(yellow_at__lte=now, card=Card.NONE)
        )
        .order_by("deadline_at")
        .values_list("pk", flat=True)[:limit]
    )
    for case_id in list(due):
        outcome = _sweep_one(case_id, now, cal)
        for name in outcome:
            setattr(result, name, getattr(result, name) + 1)
    tasks_due = (
        CaseTask.objects.filter(case__whistled=True, case__state__in=OPEN_STATES,
                                case__suspended_at__isnull=True)
        .exclude(state=TaskState.DONE)
        .filter(
            Q(deadline_at__lte=now, card__in=[Card.NONE, Card.YELLOW])
            | Q(yellow_at__lte=now, card=Card.NONE)
        )
        .order_by("deadline_at")
        .values_list("pk", "case_id")[:limit]
    )  # fmt: skip
    for task_id, case_id in list(tasks_due):
        card = _sweep_task(task_id, case_id, now)
        if card:
            setattr(result, f"task_{card}", getattr(result, f"task_{card}") + 1)
    return result


def _sweep_task(task_id: int, case_id: int, now: dt.datetime) -> str:
    """A co-handler's task nearing or past its own deadline gets the case's yellow or red
    card for the task, with an internal event (`task_yellow_card` / `task_red_card`)."""
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).filter(pk=case_id).first()
        if case is None or not case.is_open or not case.whistled or case.suspended_at:
            return ""
        task = CaseTask.objects.select_related("department").filter(pk=task_id).first()
        if task is None or task.state == TaskState.DONE:
            return ""
        card = task_card_due(task, now)
        if card == task.card:
            return ""
        task.card = card
        task.save(update_fields=["card"])
        case.version += 1
        case.save(update_fields=["version", "updated_at"])
        data = {"task_id": task.pk, "department_id": task.department_id,
                "department": task.department.name_zh, "own_deadline": task.own_deadline,
                "deadline_at": task.deadline_at.isoformat()}  # fmt: skip
        event_record(case=case, kind=f"task_{card}_card", actor=None, actor_role="system",
                     actor_unit="", at=now, data=data, public=False)  # fmt: skip
        return str(card)


def _sweep_one(case_id: int, now: dt.datetime, cal: WorkCalendar) -> list[str]:
    done: list[str] = []
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("grid", "category", "unit_department", "unit_area")
            .filter(pk=case_id)
            .first()
        )
        if case is None or not case.is_open:
            return done
        card = card_due(case, now)
        if card == case.card:
            return done
        case.card = card
        case.version += 1
        case.save(update_fields=["card", "version", "updated_at"])
        data = {"stage": case.stage, "deadline_at": case.deadline_at.isoformat()
                if case.deadline_at else None}  # fmt: skip
        event_record(case=case, kind=f"{card}_card", actor=None, actor_role="system", at=now,
                     data=data, public=False)  # fmt: skip
        done.append(str(card))
        if card != Card.RED:
            return done
        policy = settings.GRIDLINK_OVERDUE_POLICY
        reason = _("Overdue: the %(stage)s deadline has passed.") % {"stage": case.stage}
        if policy == "escalate" and _may_escalate(case):
            case_transition(actor=None, case_id=case.pk, action=Action.ESCALATE, version=None,
                            inputs={"reason": reason}, system=True, now=now,
                            calendar=cal)  # fmt: skip
            done.append("escalated")
        elif not case.supervised:
            supervise_automatically(case, trigger=Trigger.OVERDUE, reason=reason, now=now,
                                    calendar=cal)  # fmt: skip
            done.append("supervised")
    return done


def _may_escalate(case: Case) -> bool:
    try:
        transition_for(case.state, Action.ESCALATE)
        ladder_up(case)
    except DomainError:
        return False
    return True
