"""The case API: intake, lists with filters and keyset paging, detail with ETag and
`allowed_actions`, transitions with a version check, joint-handling tasks, uploads, and the
public tracking endpoints (no sign-in; the tracking code follows a case, the rating key
rates it).

Staff responses name a case by its number (`id`, `number`); the tracking code appears only
in answers to its reporter (the create response, the reporter's own cases, the tracking
endpoints), never in a staff list, detail, duplicate offer or merged-case link.

Every write goes through `gridlink.cases.services`; reads through the scoped selectors, so a
case outside the caller's scope is a 404.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from django.db.models import Q
from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse
from ninja import File, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile

from gridlink.accounts.models import User
from gridlink.accounts.roles import Role
from gridlink.api_base import BearerToken, SessionCookie, json_response
from gridlink.cases.case_schemas import (
    ActionIn,
    CaseIn,
    CaseListOut,
    CaseOut,
    FeedbackIn,
    PublicCaseOut,
    TaskActionIn,
    UnmaskIn,
    UploadOut,
)
from gridlink.cases.models import PUBLIC_CHANNELS, Card, Case, CasePhoto, CaseTask
from gridlink.cases.permissions import case_roles, sees_tracking_code
from gridlink.cases.photos import photo_open
from gridlink.cases.selectors import (
    case_by_tracking_code,
    case_events_for,
    case_get_visible,
    case_list_visible_to,
    case_public_events,
)
from gridlink.cases.services.intake import Report, case_create, duplicates_of, photo_upload
from gridlink.cases.services.joint import task_complete, task_rate, task_report_in
from gridlink.cases.services.reporter import case_reporter_unmask, reporter_masked
from gridlink.cases.services.transitions import case_allowed_actions, case_transition
from gridlink.cases.workflow import Action, State
from gridlink.core.audit import client_ip
from gridlink.core.errors import DomainError
from gridlink.core.idempotency import idempotent
from gridlink.core.inputs import date_parse
from gridlink.core.ratelimit import client_key, rate_hit
from gridlink.geo.models import Area

router = Router(tags=["cases"])
PAGE_MAX = 100


def _anyone(request: HttpRequest) -> bool:
    """Public endpoints: signed-in callers act as themselves, others anonymously."""
    return True


def _public_auth() -> list[Any]:
    """A bearer token, else the session (only with its cookie, then with CSRF), else
    anonymous."""
    return [BearerToken(), SessionCookie(), _anyone]


def _iso(at: dt.datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _staff(request: HttpRequest) -> User:
    """The signed-in caller of an authenticated endpoint."""
    user = request.user
    if not isinstance(user, User):
        raise HttpError(401, "Authentication required.")
    return user


def _user(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _limited(request: HttpRequest, limit: str) -> None:
    """Count the request against `limit` for its client: the account, else the address
    (429 with the true Retry-After beyond it; `gridlink.core.ratelimit`)."""
    rate_hit(limit, client=client_key(actor=_user(request), ip=client_ip(request.META)))


# --- Output ----------------------------------------------------------------------------------


def case_out(case: Case, actor: Any, *, detail: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": case.pk,
        "number": case.number,
        "tracking_code": case.tracking_code if sees_tracking_code(actor, case) else None,
        "version": case.version,
        "state": case.state,
        "state_label": str(case.get_state_display()),
        "channel": case.channel,
        "external_number": case.external_number,
        "category_code": case.category.code,
        "category_name": case.category.name_zh,
        "taxonomy_version": case.taxonomy_version.code,
        "title": case.title,
        "description": case.description,
        "urgency": case.urgency,
        "attributes": case.attributes,
        "lat": case.lat,
        "lon": case.lon,
        "address": case.address,
        "grid_id": case.grid_id,
        "grid": case.grid.name_zh,
        "level": case.level,
        "unit_department_id": case.unit_department_id,
        "unit_area_id": case.unit_area_id,
        "unit": case.unit_name,
        "routing_reason": case.routing_reason,
        "whistled": case.whistled,
        "supervised": case.supervised,
        "card": case.card,
        "stage": case.stage,
        "deadline_at": _iso(case.deadline_at),
        "yellow_at": _iso(case.yellow_at),
        "extension_count": case.extension_count,
        "return_count": case.return_count,
        "verify_fail_count": case.verify_fail_count,
        "dissatisfied_count": case.dissatisfied_count,
        "satisfaction": case.satisfaction,
        "solved": case.solved,
        "parent_id": case.parent_id,
        "reporter": reporter_masked(case),
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "closed_at": _iso(case.closed_at),
        "allowed_actions": case_allowed_actions(actor, case),
    }
    if detail:
        out["tasks"] = [_task_out(t) for t in case.tasks.select_related("department")]
        out["photos"] = [_photo_out(p) for p in case.photos.all()]
        staff = actor is not None and (
            actor.is_superuser or bool(case_roles(actor, case) - {Role.RESIDENT})
        )
        out["events"] = [_event_out(e, staff=staff) for e in case_events_for(actor, case)]
    return out


def _task_out(t: CaseTask) -> dict[str, Any]:
    return {
        "id": t.pk,
        "department_id": t.department_id,
        "department": t.department.name_zh,
        "is_lead": t.is_lead,
        "state": t.state,
        "instructions": t.instructions,
        "report_in_due_at": t.report_in_due_at.isoformat(),
        "reported_in_at": _iso(t.reported_in_at),
        "reported_in_late": t.reported_in_late,
        "deadline_at": t.deadline_at.isoformat(),
        "own_deadline": t.own_deadline,
        "card": t.card,
        "done_at": _iso(t.done_at),
        "result": t.result,
        "rating": t.rating,
    }


def _photo_out(p: CasePhoto) -> dict[str, Any]:
    return {
        "key": p.key,
        "stage": p.stage,
        "content_type": p.content_type,
        "width": p.width,
        "height": p.height,
        "url": reverse("api:case_photo", kwargs={"key": p.key}),
    }


def _event_out(e: Any, *, staff: bool) -> dict[str, Any]:
    """Staff see who took each step; a reporter sees roles and units only."""
    return {
        "id": e.pk,
        "kind": e.kind,
        "actor": e.actor.username if staff and e.actor_id and e.actor else "",
        "actor_role": e.actor_role,
        "actor_unit": e.actor_unit,
        "from_state": e.from_state,
        "to_state": e.to_state,
        "reason": e.reason,
        "data": e.data,
        "public": e.public,
        "created_at": e.created_at.isoformat(),
    }


def _with_etag(request: HttpRequest, case: Case, status: int = 200) -> HttpResponse:
    response = json_response(request, case_out(case, _user(request)), status=status)
    response["ETag"] = case.etag
    return response


def _visible(request: HttpRequest, case_id: int) -> Case:
    case = case_get_visible(request.user, case_id)
    if case is None:
        raise HttpError(404, "No such case, or it is outside your scope.")
    return case


# --- Intake ----------------------------------------------------------------------------------


@router.post("/uploads", response={201: UploadOut}, auth=_public_auth(), url_name="upload")
def upload(request: HttpRequest, file: File[UploadedFile]) -> Status[dict[str, Any]]:
    """Upload one photo (JPEG, PNG or WebP); name its `key` in a report or a result."""
    _limited(request, "photo.upload")
    photo = photo_upload(actor=_user(request), upload=file)
    return Status(
        201,
        {
            "key": photo.key,
            "content_type": photo.content_type,
            "width": photo.width,
            "height": photo.height,
            "size": photo.size,
        },
    )


@router.get("/photos/{key}", url_name="case_photo")
def photo(request: HttpRequest, key: str) -> FileResponse:
    """A photo of a case you may see."""
    p = CasePhoto.objects.filter(key=key[:32], case__isnull=False).first()
    if p is None or p.case_id is None or case_get_visible(request.user, p.case_id) is None:
        raise HttpError(404, "No such photo.")
    return FileResponse(photo_open(name=p.file), content_type=p.content_type)


@router.post("/cases", response={201: CaseOut}, auth=_public_auth(), url_name="case_create")
def create(
    request: HttpRequest,
    body: CaseIn,
) -> HttpResponse:
    """Report a problem. Anyone may report through `resident_web` (also anonymously, with
    contact details or `anonymous: true`); `open311` only through the Open311 interface with
    an application key; the other channels need their role (403 naming `channel`). Each
    channel has its rate limit (429 with `Retry-After`). Send an `Idempotency-Key` to make
    retries safe."""

    actor = _user(request)
    created = case_create(
        actor=actor,
        report=Report(**body.dict()),
        ip=client_ip(request.META),
        idempotency_key=request.headers.get("Idempotency-Key", "").strip(),
    )
    case = Case.objects.select_related("grid", "category", "taxonomy_version").get(
        pk=created.case.pk
    )
    body_out = case_out(case, actor)
    # The poster is the reporter on a public channel: they get the code, and the rating key
    # once (not on a replay: only its hash is kept). Staff channels get neither.
    public = case.channel in PUBLIC_CHANNELS
    body_out["tracking_code"] = case.tracking_code if public else None
    body_out["rating_key"] = created.rating_key or None
    body_out["possible_duplicates"] = [
        {"id": d.pk, "number": d.number, "title": d.title,
         "distance_m": getattr(d, "distance_m", None), "state": d.state}
        for d in created.duplicates
    ]  # fmt: skip
    response = json_response(request, body_out, status=201)
    response["ETag"] = case.etag
    response["Location"] = reverse("api:case_detail", kwargs={"case_id": case.pk})
    if created.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


# --- Reading ---------------------------------------------------------------------------------


class CaseFilters(Schema):
    state: list[str] = []
    level: str = ""
    unit_department: int | None = None
    category: str = ""
    area: int | None = None
    channel: str = ""
    overdue: bool | None = None
    supervised: bool | None = None
    callback_due: bool | None = None
    card: str = ""
    since: str = ""
    until: str = ""
    q: str = ""
    cursor: str = ""
    limit: int = 50


def _cursor_decode(raw: str) -> int:
    try:
        value = int(base64.urlsafe_b64decode(raw.encode() + b"==").decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise DomainError("The cursor is not one this API gave out.", field="cursor") from None
    return value


def _cursor_encode(case_id: int) -> str:
    return base64.urlsafe_b64encode(str(case_id).encode()).decode().rstrip("=")


def _filtered(request: HttpRequest, f: CaseFilters) -> Any:
    qs = case_list_visible_to(request.user)
    bad = [s for s in f.state if s not in State.values]
    if bad:
        raise DomainError(f"Unknown state '{bad[0][:30]}'.", field="state")
    if f.state:
        qs = qs.filter(state__in=f.state)
    if f.level:
        qs = qs.filter(level=f.level)
    if f.unit_department is not None:
        qs = qs.filter(unit_department_id=f.unit_department)
    if f.category:
        qs = qs.filter(category__code__startswith=f.category.strip().upper()[:5])
    if f.area is not None:
        area = Area.objects.filter(pk=f.area).only("path").first()
        if area is None:
            raise DomainError("No such area.", code="not_found", field="area")
        qs = qs.filter(grid__path__startswith=area.path)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.overdue is not None:
        qs = qs.overdue() if f.overdue else qs.exclude(card=Card.RED)
    if f.supervised is not None:
        qs = qs.filter(supervised=f.supervised)
    if f.card:
        qs = qs.filter(card=f.card)
    if f.callback_due is not None:  # 回访: closed hotline cases waiting for the callback
        qs = qs.filter(callback_due_at__isnull=not f.callback_due)
    for name, lookup in (("since", "gte"), ("until", "lt")):
        raw = getattr(f, name)
        if raw:
            day = date_parse(raw)
            if day is None:
                raise DomainError(f"'{name}' is a date (YYYY-MM-DD, years 1900–2999).", field=name)
            qs = qs.filter(**{f"created_at__date__{lookup}": day})
    if f.q.strip():
        text = f.q.strip()[:100]
        number = text.removeprefix("#")
        by_number = Q(pk=int(number)) if number.isdigit() and len(number) < 12 else Q(pk__in=[])
        qs = qs.filter(Q(title__icontains=text) | Q(description__icontains=text) | by_number)
    return qs


@router.get("/cases", response=CaseListOut, url_name="case_list")
def case_list(request: HttpRequest, filters: Query[CaseFilters]) -> dict[str, Any]:
    """Cases in your scope, newest first; page with `cursor` (keyset: stable while cases
    are added)."""
    if not 1 <= filters.limit <= PAGE_MAX:
        raise DomainError(f"'limit' is between 1 and {PAGE_MAX}.", field="limit")
    qs = (
        _filtered(request, filters)
        .select_related("category", "unit_department", "unit_area")
        .order_by("-id")
    )
    if filters.cursor:
        qs = qs.filter(id__lt=_cursor_decode(filters.cursor))
    page = list(qs[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    return {
        "items": [
            {
                "id": c.pk,
                "number": c.number,
                "tracking_code": c.tracking_code if sees_tracking_code(request.user, c) else None,
                "version": c.version,
                "state": c.state,
                "title": c.title,
                "category_code": c.category.code,
                "channel": c.channel,
                "grid_id": c.grid_id,
                "level": c.level,
                "unit": c.unit_name,
                "supervised": c.supervised,
                "card": c.card,
                "deadline_at": _iso(c.deadline_at),
                "created_at": c.created_at.isoformat(),
            }
            for c in page
        ],
        "next_cursor": _cursor_encode(page[-1].pk) if more and page else None,
    }


@router.get("/cases/{case_id}", response=CaseOut, url_name="case_detail")
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    """One case with its timeline, tasks, photos and the actions you may take now. The
    `ETag` header carries the version: send it back as `If-Match` on a transition."""
    return _with_etag(request, _visible(request, case_id))


@router.get("/cases/{case_id}/duplicates", url_name="case_duplicates")
def case_duplicates(request: HttpRequest, case_id: int) -> list[dict[str, Any]]:
    """Open cases of the same sub-class nearby with similar text (merge candidates)."""
    case = _visible(request, case_id)
    return [
        {"id": d.pk, "number": d.number, "title": d.title, "state": d.state,
         "distance_m": getattr(d, "distance_m", None)}
        for d in duplicates_of(case, visible_to=_staff(request))
    ]  # fmt: skip


@router.post("/cases/{case_id}/reporter/unmask", url_name="case_reporter_unmask")
def reporter_unmask(request: HttpRequest, case_id: int, body: UnmaskIn) -> dict[str, str]:
    """The reporter's name, phone and e-mail in full, for a stated `purpose` (e.g. a callback);
    needs the unmask permission over the case's grid (or the case's hotline operator) and is
    written to the access log either way."""
    case = _visible(request, case_id)
    return case_reporter_unmask(
        actor=_staff(request), case=case, purpose=body.purpose, ip=client_ip(request.META)
    )


# --- Writing ---------------------------------------------------------------------------------


def _version(if_match: str, body_version: int | None) -> tuple[int | None, bool]:
    """The version the caller saw: from If-Match ("<id>-<version>" ETag) or the body."""
    raw = if_match.strip()
    if raw:
        tag = raw.removeprefix("W/").strip('"')
        _id, _sep, version = tag.rpartition("-")
        if not version.isdigit():
            raise DomainError("If-Match must be the case's ETag.", field="If-Match")
        return int(version), True
    return body_version, False


@router.post("/cases/{case_id}/actions/{action}", response=CaseOut, url_name="case_action")
def case_action(
    request: HttpRequest,
    case_id: int,
    action: str,
    body: ActionIn,
) -> HttpResponse:
    """Take `action` (one of the case's `allowed_actions`). State the version you saw in
    `If-Match` (412 when stale) or `version` (409 when stale). Send an `Idempotency-Key` to
    make retries safe: a retry gets the first answer again."""
    from gridlink.cases.services.transitions import StaleVersion

    case = _visible(request, case_id)
    if action not in Action.values:
        raise DomainError(f"Unknown action '{action[:40]}'.", code="unknown", field="action")
    version, from_header = _version(request.headers.get("If-Match", ""), body.version)
    inputs = body.dict(exclude={"version"})

    def run() -> HttpResponse:
        try:
            updated = case_transition(
                actor=_staff(request), case_id=case.pk, action=action, version=version,
                inputs=inputs,
            )  # fmt: skip
        except StaleVersion as exc:
            current = case_get_visible(request.user, case.pk) or exc.case
            response = json_response(
                request,
                {
                    "detail": exc.message,
                    "errors": [exc.as_dict()],
                    "current": case_out(current, _user(request), detail=False),
                },
                status=412 if from_header else 409,
            )
            response["ETag"] = current.etag
            return response
        return _with_etag(request, _visible(request, updated.pk))

    return idempotent(request, payload=body.dict(), run=run)


@router.post("/tasks/{task_id}/{step}", response=CaseOut, url_name="task_action")
def task_action(
    request: HttpRequest,
    task_id: int,
    step: str,
    body: TaskActionIn,
) -> HttpResponse:
    """Joint handling: `report-in`, `complete` (with `result`) or `rate` (with `rating`),
    naming the case version you saw. Send an `Idempotency-Key` to make retries safe."""
    task = CaseTask.objects.filter(pk=task_id).only("case_id").first()
    if task is None or case_get_visible(request.user, task.case_id) is None:
        raise HttpError(404, "No such task, or it is outside your scope.")
    if step not in ("report-in", "complete", "rate"):
        raise DomainError("The step is report-in, complete or rate.", field="step")
    version, _from_header = _version(request.headers.get("If-Match", ""), body.version)
    actor = _staff(request)

    def run() -> HttpResponse:
        if step == "report-in":
            task_report_in(actor=actor, task_id=task_id, version=version)
        elif step == "complete":
            task_complete(actor=actor, task_id=task_id, version=version, result=body.result)
        else:
            task_rate(actor=actor, task_id=task_id, version=version,
                      rating=body.rating if body.rating is not None else 0,
                      note=body.note)  # fmt: skip
        return _with_etag(request, _visible(request, task.case_id))

    return idempotent(request, payload=body.dict(), run=run)


# --- Public tracking -------------------------------------------------------------------------


def public_case_out(case: Case) -> dict[str, Any]:
    followed = case.parent if case.parent_id else None
    shown = followed or case
    return {
        "tracking_code": case.tracking_code,
        "state": shown.state,
        "state_label": str(shown.get_state_display()),
        "category_name": case.category.name_zh,
        "title": case.title,
        "address": case.address,
        "created_at": case.created_at.isoformat(),
        "closed_at": _iso(shown.closed_at),
        "merged_into": followed.number if followed else None,  # never another reporter's code
        "can_rate": shown.state == State.CLOSED and followed is None,
        "satisfaction": case.satisfaction,
        "timeline": [
            {
                "kind": e.kind,
                "to_state": e.to_state,
                "reason": e.reason if e.kind in ("invalidate", "reopen") else "",
                "at": e.created_at.isoformat(),
                "merged_case": e.case_id != case.pk,
            }
            for e in case_public_events(case)
        ],
    }


def _tracked(code: str) -> Case:
    case = case_by_tracking_code(code)
    if case is None:
        raise HttpError(404, "No case has this tracking code.")
    return case


@router.get("/track/{code}", response=PublicCaseOut, auth=None, url_name="track")
def track(request: HttpRequest, code: str) -> dict[str, Any]:
    """The public view of a case by tracking code: state and public timeline only."""
    _limited(request, "track.lookup")
    return public_case_out(_tracked(code))


@router.post("/track/{code}/feedback", response=PublicCaseOut, auth=None,
             url_name="track_feedback")  # fmt: skip
def track_feedback(request: HttpRequest, code: str, body: FeedbackIn) -> dict[str, Any]:
    """The reporter rates a closed case: satisfaction and whether it was solved, with the
    `rating_key` they were given when they reported (the tracking code alone is not enough)."""
    _limited(request, "track.feedback")
    case = _tracked(code)
    inputs = body.dict()
    key = str(inputs.pop("rating_key", "")).strip()
    if not key:
        raise DomainError(
            "Give the rating key you were given when you reported.",
            code="required",
            field="rating_key",
        )
    case_transition(
        actor=None,
        case_id=case.pk,
        action=Action.RATE,
        version=case.version,
        inputs=inputs,
        rating_key=key,
    )
    return public_case_out(_tracked(code))
