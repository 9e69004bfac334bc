"""The queues of the case loop: the dispatcher console, the grid worker's patrol page
(mobile first) and the department inbox. Each row links to the case page
(`cases_staff.case_detail`), where the actions are."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import messages
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from gridlink.accounts.permissions import area_roles, department_roles
from gridlink.accounts.roles import DEPARTMENT_ROLES, Role
from gridlink.cases.models import Card, Case, CaseTask
from gridlink.cases.permissions import actor_departments
from gridlink.cases.services.intake import case_create
from gridlink.cases.services.transitions import case_transition
from gridlink.cases.workflow import Action, State
from gridlink.core.audit import client_ip
from gridlink.core.errors import DomainError
from gridlink.geo.geometry import centroid_latlon
from gridlink.geo.models import Area, Department
from gridlink.web import selectors
from gridlink.web.case_forms import PatrolForm
from gridlink.web.views.cases_public import pin_map, put_errors, report_form_for, upload_photos
from gridlink.web.views.cases_staff import BOARD_ROLES, PAGE, listed, page, roles_required
from gridlink.web.views.common import retry_after_set

if TYPE_CHECKING:
    from gridlink.accounts.models import User
    from gridlink.web.views.common import AuthedRequest

BOARD_ROWS = 50


# --- The dispatcher console --------------------------------------------------------------------


@require_GET
@roles_required(BOARD_ROLES)
def case_board(request: AuthedRequest) -> HttpResponse:
    cases = listed(request.user).order_by("-id")
    boards = [
        ("intake", _("Intake queue"), cases.filter(state__in=[State.REPORTED, State.ACCEPTED])),
        ("filed", _("Filed, to dispatch"), cases.filter(state=State.FILED)),
        ("returned", _("Returned"), cases.filter(state=State.RETURNED)),
        ("escalated", _("Escalated"), cases.filter(state=State.ESCALATED)),
        ("requests", _("Extension and suspension requests"),
         cases.filter(state__in=[State.EXTENSION_REQUESTED, State.SUSPENSION_REQUESTED,
                                 State.EXTENSION_ENDORSED, State.SUSPENSION_ENDORSED])),
        ("verify", _("Handled, to verify or close"),
         cases.filter(state__in=[State.HANDLED, State.VERIFIED])),
        ("cards", _("Yellow and red cards, supervised"),
         cases.open().filter(Q(card__in=[Card.YELLOW, Card.RED]) | Q(supervised=True))),
    ]  # fmt: skip
    sections = [
        {"key": key, "title": title, "rows": list(qs[:BOARD_ROWS]), "count": qs.count()}
        for key, title, qs in boards
    ]
    return page(request, "web/cases/board.html", {"sections": sections})


# --- The grid worker's patrol page -------------------------------------------------------------


def _my_grids(user: User) -> list[Area]:
    paths = [path for role, path in area_roles(user) if role == Role.GRID_WORKER]
    ids = [int(p.strip("/").split("/")[-1]) for p in paths if p.strip("/")]
    return list(Area.objects.filter(pk__in=ids).order_by("code"))


@require_http_methods(["GET", "POST"])
@roles_required(frozenset({Role.GRID_WORKER}))
def case_patrol(request: AuthedRequest) -> HttpResponse:
    grids = _my_grids(request.user)
    initial: dict[str, Any] = {}
    if grids and grids[0].geometry:
        lat, lon = centroid_latlon(grids[0].geometry)
        initial = {"lat": round(lat, 6), "lon": round(lon, 6)}
    form, category = report_form_for(request, PatrolForm, initial=initial)
    status, refusal = 200, None
    if request.method == "POST" and form.is_valid():
        case, status, refusal = _patrol_intake(request, cast(PatrolForm, form))
        if case is not None:
            messages.success(request, _("Reported: case #%(number)s.") % {"number": case.number})
            return redirect("web:case_detail", case_id=case.pk)
    point = None
    data = form.cleaned_data if form.is_bound and hasattr(form, "cleaned_data") else form.initial
    if isinstance(data.get("lat"), float) and isinstance(data.get("lon"), float):
        point = (data["lat"], data["lon"])
    pin = None
    if grids:
        shown, parent = selectors.map_children(grids[0])
        pin = pin_map(shown, parent=parent, point=point)
    visible = listed(request.user)
    paths = [g.path for g in grids]
    in_grids = Q()
    for path in paths:
        in_grids |= Q(grid__path__startswith=path)
    context = {
        "form": form,
        "category": category,
        "pin": pin,
        "grids": grids,
        "to_verify": list(visible.filter(state=State.VERIFYING, verifier=request.user)[:PAGE]),
        "in_grid": list(visible.open().filter(in_grids).order_by("-id")[:PAGE]) if paths else [],
    }
    return retry_after_set(page(request, "web/cases/patrol.html", context, status), refusal)


def _patrol_intake(
    request: AuthedRequest, form: PatrolForm
) -> tuple[Case | None, int, DomainError | None]:
    """The case reported, or None with the status to answer and the refusal (a rate limit
    is a 429, with `Retry-After` from the refusal)."""
    data = form.cleaned_data
    on_the_spot = bool(data.get("on_the_spot"))
    if on_the_spot and not data.get("evidence"):
        form.add_error("evidence", _("Add a photo of the result to handle it on the spot."))
        return None, 200, None
    try:
        keys = upload_photos(request, data.get("photos") or [], "photos")
        case = case_create(actor=request.user, report=form.report(keys),
                           ip=client_ip(request.META)).case  # fmt: skip
    except DomainError as exc:
        put_errors(form, exc)
        return None, exc.status if exc.status in (403, 429) else 200, exc
    try:
        if on_the_spot:
            evidence = upload_photos(request, data.get("evidence") or [], "evidence")
            case_transition(actor=request.user, case_id=case.pk, version=case.version,
                            action=Action.HANDLE_ON_THE_SPOT,
                            inputs={"evidence": evidence})  # fmt: skip
        else:
            case_transition(actor=request.user, case_id=case.pk, version=case.version,
                            action=Action.FILE_DIRECTLY)  # fmt: skip
    except DomainError as exc:
        messages.warning(request, exc.message)  # the report stands; the case page goes on
    return case, 201, None


# --- The department inbox ----------------------------------------------------------------------

HEAD_PENDING_STATES = (State.EXTENSION_REQUESTED, State.SUSPENSION_REQUESTED)


@require_GET
@roles_required(frozenset(DEPARTMENT_ROLES))
def case_inbox(request: AuthedRequest) -> HttpResponse:
    departments = actor_departments(request.user)
    visible = listed(request.user)
    cases = visible.open().filter(unit_department_id__in=departments).order_by("-id")
    tasks = (
        CaseTask.objects.filter(department_id__in=departments, case__in=visible.open())
        .select_related("case", "department", "case__category")
        .order_by("-case_id")
    )
    # Two-step approval: the requests of a head's own department wait for their endorsement.
    headed = sorted({d for r, d in department_roles(request.user) if r == Role.DEPT_HEAD})
    approvals = cases.filter(unit_department_id__in=headed, state__in=HEAD_PENDING_STATES)
    context = {
        "departments": Department.objects.filter(pk__in=departments).order_by("code"),
        "approvals": list(approvals[:BOARD_ROWS]),
        "is_head": bool(headed),
        "waiting": list(cases.filter(state=State.DISPATCHED)[:BOARD_ROWS]),
        "handling": list(cases.exclude(state=State.DISPATCHED)[:BOARD_ROWS]),
        "tasks": list(tasks[:BOARD_ROWS]),
    }
    return page(request, "web/cases/inbox.html", context)
