"""Timeline events and their outbox entries: one small function writes both.

Every change to a case writes one append-only `CaseEvent` and one outbox entry in the
caller's transaction (SPEC §6), so a webhook is sent exactly for what was committed.
Public events also e-mail a reporter who left an address.

The payload names the case by its number (`case_id`), never by the tracking code: webhook
receivers are staff systems, and the code is the reporter's. Only the e-mail to the
reporter's own address names the tracking code.

Apps that keep figures derived from the timeline (assessment rollups) register a listener in
`EVENT_LISTENERS` from their `AppConfig.ready()`; it runs in the same transaction, so the
figures change exactly when the case does. Cases know nothing of those apps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from gridlink.cases.models import Case, CaseEvent, CasePhoto
from gridlink.outbox.services import outbox_put

if TYPE_CHECKING:
    from gridlink.accounts.models import User


EventListener = Callable[[Case, CaseEvent], None]
EVENT_LISTENERS: list[EventListener] = []


def case_snapshot(case: Case) -> dict[str, Any]:
    """What an event records of the case after the change (see `CaseEvent.snapshot`)."""
    return {
        "stage": case.stage,
        "deadline_at": case.deadline_at.isoformat() if case.deadline_at else None,
        "level": case.level,
        "dept": case.unit_department_id,
        "area": case.unit_area_id,
        "handled_by": case.handled_by_id,
        "suspended": case.suspended_at is not None,
        "supervised": case.supervised,
        "card": case.card,
    }


def _not_before_last(case: Case, at: dt.datetime) -> dt.datetime:
    """`at`, or the time of the case's latest event when that is later (the time rule)."""
    latest = (
        CaseEvent.objects.filter(case_id=case.pk)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return latest if latest is not None and latest > at else at


def event_payload(case: Case, event: CaseEvent) -> dict[str, Any]:
    return {
        "case_id": case.pk,
        "event_id": event.pk,
        "event": event.kind,
        "from_state": event.from_state,
        "state": case.state,
        "version": case.version,
        "level": case.level,
        "unit_department_id": case.unit_department_id,
        "unit_area_id": case.unit_area_id,
        "category": case.category.code,
        "grid_id": case.grid_id,
        "supervised": case.supervised,
        "card": case.card,
        "public": event.public,
        "at": event.created_at.isoformat(),
    }


def event_record(
    *,
    case: Case,
    kind: str,
    actor: User | None,
    actor_role: str = "",
    actor_unit: str = "",
    from_state: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
    public: bool = True,
    photos: Sequence[CasePhoto] = (),
    at: dt.datetime | None = None,
) -> CaseEvent:
    """Append one timeline event for `case` (already saved in its new state) and its outbox
    entry. Call inside the transaction that changed the case.

    `at` is the service clock of the step (the `now` the service was given); no event of a
    case is dated before an earlier one: an `at` before the case's latest event (a clock
    behind another server's, a caller's stale `now`) is raised to that event's time."""
    event = CaseEvent.objects.create(
        case=case,
        kind=kind,
        actor=actor,
        actor_role=actor_role,
        actor_unit=actor_unit[:100],
        from_state=from_state,
        to_state=case.state,
        reason=reason,
        data=data or {},
        public=public,
        snapshot=case_snapshot(case),
        created_at=_not_before_last(case, at or timezone.now()),
    )
    if photos:
        CasePhoto.objects.filter(pk__in=[p.pk for p in photos]).update(event=event)
    # Only the reporter's own e-mail names the tracking code; with no address, no text.
    emails = [case.reporter_email] if public and case.reporter_email else []
    state = case.get_state_display()
    outbox_put(
        topic=f"case.{kind}",
        payload=event_payload(case, event),
        emails=emails,
        email_subject=f"[gridlink] {case.tracking_code}: {state}" if emails else "",
        email_body=f"{case.tracking_code} {case.title}\n{state}\n{reason}".strip()
        if emails
        else "",
    )
    for listener in EVENT_LISTENERS:
        listener(case, event)
    return event
