"""Case pages for staff: the work list, the case page with one form per allowed action, the
dispatcher console, the grid worker's patrol page and the department inbox.

Every case is fetched through `case_get_visible` / `case_list_visible_to` (outside scope:
404). The action buttons are exactly `case_allowed_actions`; each form carries the case
version, and `case_transition` decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from gridlink.accounts.models import RoleAssignment
from gridlink.accounts.permissions import roles_of
from gridlink.accounts.roles import DEPARTMENT_ROLES, Role
from gridlink.cases.models import AREA_UNIT_LEVELS, Case, CaseTask, TaskState
from gridlink.cases.permissions import (
    AREA_CASE_ROLES,
    actor_departments,
    can_unmask_reporter,
    case_roles,
)
from gridlink.cases.routing import route_for
from gridlink.cases.selectors import case_events_for, case_get_visible, case_list_visible_to
from gridlink.cases.services.intake import duplicates_of
from gridlink.cases.services.joint import task_complete, task_rate, task_report_in
from gridlink.cases.services.reporter import case_reporter_unmask, reporter_masked
from gridlink.cases.services.transitions import StaleVersion, case_allowed_actions, case_transition
from gridlink.cases.workflow import TRANSITIONS, Action, Transition
from gridlink.core.audit import client_ip
from gridlink.core.errors import DomainError
from gridlink.geo.models import Area, Department
from gridlink.web import selectors
from gridlink.web.case_forms import ActionForm, CaseFilterForm, TaskForm, UnmaskForm
from gridlink.web.maps import area_map
from gridlink.web.views.cases_public import (
    labelled,
    upload_photos,
)
from gridlink.web.views.common import View, add_refusal, retry_after_set

if TYPE_CHECKING:
    from gridlink.accounts.models import User
    from gridlink.web.views.common import AuthedRequest

PAGE = 25
SCAN_LIMIT = 500  # cases looked at to fill one page of "my queue"
STAFF_ROLES = frozenset(AREA_CASE_ROLES | DEPARTMENT_ROLES)
STALE = gettext_lazy(
    "The case changed while you were looking at it; here it is reloaded. Check it and try again."
)
BY_ACTION: dict[str, Transition] = {str(t.action): t for t in TRANSITIONS}


def roles_required(roles: frozenset[str]) -> Callable[[View], View]:
    """Sign-in required, then 403 unless the user holds one of `roles` somewhere."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not (request.user.is_superuser or roles_of(request.user) & roles):
                raise PermissionDenied(_("Your roles do not include this page."))
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


staff_required = roles_required(STAFF_ROLES)
BOARD_ROLES = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})


def case_links(user: User) -> list[dict[str, str]]:
    """The case pages of the user's roles, for the tabs above them."""
    held = roles_of(user)
    links = []
    if user.is_superuser or held & BOARD_ROLES:
        links.append({"key": "board", "url": reverse("web:case_board"),
                      "label": _("Dispatcher console")})  # fmt: skip
    if Role.GRID_WORKER in held:
        links.append({"key": "patrol", "url": reverse("web:patrol"), "label": _("Patrol")})
    if Role.HOTLINE_OPERATOR in held:
        links.append({"key": "hotline", "url": reverse("web:hotline"),
                      "label": _("12345 work order")})  # fmt: skip
        links.append({"key": "callbacks", "url": reverse("web:hotline_callbacks"),
                      "label": _("Callbacks")})  # fmt: skip
    if held & DEPARTMENT_ROLES:
        links.append({"key": "inbox", "url": reverse("web:case_inbox"),
                      "label": _("Department inbox")})  # fmt: skip
    return links


def page(
    request: AuthedRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context["case_links"] = case_links(request.user)
    return render(request, template, context, status=status)


# --- The work list -----------------------------------------------------------------------------


def _actionable_states(user: User) -> set[str]:
    """States in which some row of the table names one of the user's roles."""
    held = roles_of(user) | {Role.RESIDENT}
    return {str(s) for t in TRANSITIONS if t.roles & held for s in t.sources}


def my_queue(user: User, cases: Any, after: int | None) -> tuple[list[Case], int | None]:
    """Cases the user may act on now (`case_allowed_actions`), newest first."""
    candidates = cases.filter(state__in=_actionable_states(user))
    if after:
        candidates = candidates.filter(pk__lt=after)
    rows: list[Case] = []
    last_scanned: int | None = None
    scanned = 0
    for case in candidates.order_by("-id")[:SCAN_LIMIT]:
        scanned, last_scanned = scanned + 1, case.pk
        actions = case_allowed_actions(user, case)
        if actions:
            case.action_labels = [str(Action(a).label) for a in actions]
            rows.append(case)
            if len(rows) > PAGE:
                return rows[:PAGE], rows[PAGE - 1].pk
    # Looked at as many as allowed without filling the page: let the user go on from there.
    return rows, (last_scanned if scanned >= SCAN_LIMIT else None)


def listed(user: User) -> Any:
    return case_list_visible_to(user).select_related(
        "category", "grid", "unit_department", "unit_area"
    )


@require_GET
@staff_required
def case_list(request: AuthedRequest) -> HttpResponse:
    form = CaseFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    cases = listed(request.user)
    if data.get("state"):
        cases = cases.filter(state=data["state"])
    if data.get("card"):
        cases = cases.filter(card=data["card"])
    if data.get("supervised"):
        cases = cases.filter(supervised=True)
    text = (data.get("q") or "").strip()
    if text:
        number = text.removeprefix("#")  # staff find a case by its number, not by a code
        by_number = Q(pk=int(number)) if number.isdigit() and len(number) < 12 else Q(pk__in=[])
        cases = cases.filter(by_number | Q(title__icontains=text) | Q(address__icontains=text))
    tab = data.get("tab") or "mine"
    after = data.get("after")
    if tab == "mine":
        rows, next_after = my_queue(request.user, cases, after)
    else:
        found = list((cases.filter(pk__lt=after) if after else cases).order_by("-id")[: PAGE + 1])
        rows, next_after = found[:PAGE], (found[PAGE - 1].pk if len(found) > PAGE else None)
    query = request.GET.copy()
    query.pop("after", None)
    context = {"form": form, "rows": rows, "tab": tab, "next_after": next_after,
               "query": query.urlencode(), "after": after}  # fmt: skip
    return page(request, "web/cases/list.html", context)


# --- The case page -----------------------------------------------------------------------------


@dataclass
class ActionPanel:
    action: str
    label: str
    transition: Transition
    form: ActionForm
    choices: dict[str, Any]


def unit_choices(case: Case) -> list[tuple[str, str]]:
    """ "auto", the case's grid, community and street, then the active departments."""
    ids = [*case.grid.ancestor_ids, case.grid.pk]
    areas = Area.objects.filter(pk__in=ids, level__in=AREA_UNIT_LEVELS.values()).order_by("level")
    out = [("auto", _("Automatic (routing rules)"))]
    out += [(f"area:{a.pk}", f"{a.name_zh} ({a.get_level_display()})") for a in areas]
    out += [(f"department:{d.pk}", d.name_zh) for d in _departments()]
    return out


def _departments() -> list[Department]:
    return list(Department.objects.filter(active=True).order_by("code"))


def eligible_verifiers(case: Case) -> list[User]:
    """Grid workers and supervisors whose assignment covers the case's grid, not the handler."""
    from gridlink.accounts.models import User

    ids = [*case.grid.ancestor_ids, case.grid.pk]
    user_ids = (
        RoleAssignment.objects.active()
        .filter(role__in=[Role.GRID_WORKER, Role.SUPERVISOR], area_id__in=ids)
        .values_list("user_id", flat=True)
    )
    users = User.objects.filter(pk__in=user_ids, is_active=True).order_by("username")
    return list(users.exclude(pk=case.handled_by_id) if case.handled_by_id else users)


def _choices_for(action: str, case: Case, user: User) -> dict[str, Any]:
    if action == Action.DISPATCH:
        try:
            decision = route_for(category=case.category, area=case.grid)
            suggestion = {"zh": decision.reason_zh, "en": decision.reason_en,
                          "unit": decision.unit.name_zh}  # fmt: skip
        except DomainError as exc:
            suggestion = {"error": exc.message}
        return {"units": unit_choices(case), "suggestion": suggestion}
    if action == Action.WHISTLE:
        return {"departments": _departments()}
    if action == Action.MERGE:
        return {"duplicates": duplicates_of(case, visible_to=user)}
    if action == Action.SEND_FOR_VERIFICATION:
        return {"verifiers": eligible_verifiers(case)}
    return {}


def case_context(
    request: AuthedRequest, case: Case, failed: ActionPanel | None = None
) -> dict[str, Any]:
    user = request.user
    panels = []
    for action in case_allowed_actions(user, case):
        if failed is not None and failed.action == action:
            panels.append(failed)
            continue
        form = ActionForm(initial={"version": case.version}, auto_id=f"id_{action}_%s")
        panels.append(ActionPanel(action, str(Action(action).label), BY_ACTION[action], form,
                                  _choices_for(action, case, user)))  # fmt: skip
    shown, parent = selectors.map_children(case.grid)
    tasks = list(case.tasks.select_related("department"))
    my_departments = set(actor_departments(user))
    rates = Role.DISPATCHER in case_roles(user, case)
    for task in tasks:
        mine = task.department_id in my_departments and case.whistled and case.is_open
        task.can_report_in = mine and task.state == TaskState.SUMMONED  # type: ignore[attr-defined]
        task.can_complete = mine and not task.is_lead and task.state != TaskState.DONE  # type: ignore[attr-defined]
        task.can_rate = rates and task.state == TaskState.DONE and task.rating is None  # type: ignore[attr-defined]
    return {
        "case": case,
        "panels": panels,
        "events": labelled(case_events_for(user, case)),
        "photos": list(case.photos.order_by("id")),
        "tasks": tasks,
        "task_form": TaskForm(initial={"version": case.version}),
        "map": area_map(shown, parent=parent, highlight=case.grid, point=(case.lat, case.lon)),
        "merged_cases": list(case.merged_cases.order_by("id")),
        "reporter": reporter_masked(case),
        "can_unmask": can_unmask_reporter(user, case),
        "unmask_form": UnmaskForm(),
    }


def _visible_case(request: AuthedRequest, case_id: int) -> Case:
    case = case_get_visible(request.user, case_id)
    if case is None:
        raise Http404(_("No such case."))
    return case


@require_GET
@staff_required
def case_detail(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = _visible_case(request, case_id)
    return page(request, "web/cases/detail.html", case_context(request, case))


@require_POST
@staff_required
def case_act(request: AuthedRequest, case_id: int, action: str) -> HttpResponse:
    case = _visible_case(request, case_id)
    if action not in BY_ACTION:
        raise Http404(_("No such action."))
    form = ActionForm(request.POST, request.FILES, auto_id=f"id_{action}_%s")
    panel = ActionPanel(action, str(Action(action).label), BY_ACTION[action], form,
                        _choices_for(action, case, request.user))  # fmt: skip
    status, refusal = 200, None
    if form.is_valid():
        try:
            keys = upload_photos(request, form.cleaned_data.get("evidence") or [], "evidence")
            inputs = form.inputs(action, BY_ACTION[action].requires, keys)
            case_transition(actor=request.user, case_id=case.pk, action=action,
                            version=form.cleaned_data["version"], inputs=inputs)  # fmt: skip
        except StaleVersion:
            messages.warning(request, STALE)
            fresh = _visible_case(request, case_id)
            return page(request, "web/cases/detail.html", case_context(request, fresh), 409)
        except DomainError as exc:
            status, refusal = add_refusal(form, exc), exc  # 429 with Retry-After if limited
        else:
            messages.success(request, _("Done: %(action)s.") % {"action": panel.label})
            fresh_case = case_get_visible(request.user, case_id)
            if fresh_case is None:  # e.g. dispatched away from the user's department
                return redirect("web:case_list")
            return redirect("web:case_detail", case_id=case_id)
    context = case_context(request, case, failed=panel)
    context["failed_action"] = action
    return retry_after_set(page(request, "web/cases/detail.html", context, status), refusal)


def reporter_unmask_step(
    request: AuthedRequest, case: Case, form: UnmaskForm, context: dict[str, Any]
) -> int:
    """Unmask the reporter's contact for the form's purpose (logged) into
    `context["unmasked"]`; the page's status (400 for a form error, the refusal's status)."""
    if not form.is_valid():
        return 400
    try:
        context["unmasked"] = case_reporter_unmask(
            actor=request.user, case=case, purpose=form.cleaned_data["purpose"],
            ip=client_ip(request.META),
        )  # fmt: skip
    except DomainError as exc:
        return add_refusal(form, exc)
    return 200


@require_POST
@staff_required
def case_reporter_unmask_view(request: AuthedRequest, case_id: int) -> HttpResponse:
    """The reporter's contact details in full, for a stated purpose (logged either way)."""
    case = _visible_case(request, case_id)
    form = UnmaskForm(request.POST)
    context = case_context(request, case)
    status = reporter_unmask_step(request, case, form, context)
    context["unmask_form"] = form
    return page(request, "web/cases/detail.html", context, status)


@require_POST
@staff_required
def task_act(request: AuthedRequest, case_id: int, task_id: int, step: str) -> HttpResponse:
    case = _visible_case(request, case_id)
    task = CaseTask.objects.filter(pk=task_id, case=case).first()
    if task is None or step not in ("report_in", "complete", "rate"):
        raise Http404(_("No such task."))
    form = TaskForm(request.POST)
    status = 200
    if form.is_valid():
        version, data = form.cleaned_data["version"], form.cleaned_data
        try:
            if step == "report_in":
                task_report_in(actor=request.user, task_id=task.pk, version=version)
            elif step == "complete":
                task_complete(actor=request.user, task_id=task.pk, version=version,
                              result=data.get("result") or "")  # fmt: skip
            else:
                task_rate(actor=request.user, task_id=task.pk, version=version,
                          rating=data.get("rating") or 0)  # fmt: skip
        except StaleVersion:
            messages.warning(request, STALE)
            status = 409
        except DomainError as exc:
            status = 403 if exc.status == 403 else 200
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("web:case_detail", case_id=case_id)
    else:
        messages.error(request, _("Check the form."))
    fresh = _visible_case(request, case_id)
    return page(request, "web/cases/detail.html", case_context(request, fresh), status)
