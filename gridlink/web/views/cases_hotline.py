"""The hotline operator's pages (12345 热线): entering a work order, and the callbacks (回访).

The entry form goes through `hotline_order_enter` (the hotline channel of `case_create`; the
demo seed enters orders the same way), then shows the case page — where, if the district
lets the operator dispatch (`GRIDLINK_HOTLINE_DISPATCH=operator`), the accept, file and
dispatch actions wait for them; otherwise the order waits for the dispatcher. Staff never
see a tracking code (`sees_tracking_code`): the pages show the case number.

The callback queue lists the closed hotline cases waiting for their callback
(`callback_due_at`); the callback page unmasks the reporter's number for a stated purpose
(`case_reporter_unmask`, logged) and records the rating as the operator (`rate`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from gridlink.accounts.roles import Role
from gridlink.cases.models import Case, Channel
from gridlink.cases.selectors import case_get_visible, subclasses_of, taxonomy_current
from gridlink.cases.services.hotline import hotline_order_enter
from gridlink.cases.services.reporter import reporter_masked
from gridlink.cases.services.transitions import (
    StaleVersion,
    case_allowed_actions,
    case_transition,
)
from gridlink.cases.workflow import Action, State
from gridlink.core.audit import client_ip
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.core.ratelimit import RateLimited
from gridlink.web.case_forms import CallbackForm, CategorySearchForm, HotlineForm, UnmaskForm
from gridlink.web.views.cases_public import (
    _attributes_of,
    _category,
    _point,
    district_pin_map,
    put_errors,
    report_form_for,
)
from gridlink.web.views.cases_staff import PAGE, listed, page, reporter_unmask_step, roles_required

if TYPE_CHECKING:
    from gridlink.web.views.common import AuthedRequest

OPERATOR = frozenset({Role.HOTLINE_OPERATOR})
operator_required = roles_required(OPERATOR)


# --- Entering a work order ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@operator_required
def hotline_entry(request: AuthedRequest) -> HttpResponse:
    form, category = report_form_for(request, HotlineForm)
    form = cast(HotlineForm, form)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            case = hotline_order_enter(actor=request.user, order=form.order(),
                                       ip=client_ip(request.META))  # fmt: skip
        except RateLimited as exc:
            form.add_error(None, exc.message)
            status = 429
        except DomainError as exc:
            put_errors(form, exc)
            status = 403 if exc.status == 403 else 200
        else:
            messages.success(request, _("Entered: case #%(number)s.") % {"number": case.number})
            if case_allowed_actions(request.user, case):  # GRIDLINK_HOTLINE_DISPATCH=operator
                messages.info(request, _("Accept, file and dispatch it below, or leave it to "
                                         "the dispatcher."))  # fmt: skip
            return redirect("web:case_detail", case_id=case.pk)
    recent = listed(request.user).filter(channel=Channel.HOTLINE, reporter=request.user)
    context = {
        "form": form,
        "category": category,
        "search_form": CategorySearchForm(),
        "pin": district_pin_map(_point(form)),
        "recent": list(recent.order_by("-id")[:PAGE]),
    }
    return page(request, "web/cases/hotline.html", context, status)


@require_GET
@operator_required
def hotline_categories(request: AuthedRequest) -> HttpResponse:
    """htmx: the sub-classes matching the search words."""
    form = CategorySearchForm(request.GET)
    version = taxonomy_current()
    q = form.cleaned_data["category_q"].strip() if form.is_valid() else ""
    found = subclasses_of(version, q=q)[:20] if version is not None and q else []
    return page(request, "web/cases/hotline.html#category-results", {"found": found, "q": q})


@require_GET
@operator_required
def hotline_category(request: AuthedRequest, code: str) -> HttpResponse:
    """htmx: the chosen sub-class, its hidden code and its extra fields (not the order
    number attribute: the order number fills it)."""
    category = _category(code)
    if category is None:
        raise Http404(_("No such category."))
    form = HotlineForm(
        attributes=_attributes_of(category), initial={"category_code": category.code}
    )
    return page(
        request, "web/cases/report.html#category-reply", {"form": form, "category": category}
    )


# --- Callbacks (回访) ---------------------------------------------------------------------------


def callbacks_due(request: AuthedRequest) -> Any:
    """Closed cases in the operator's scope whose callback is due, soonest first."""
    return (
        listed(request.user)
        .filter(state=State.CLOSED, callback_due_at__isnull=False)
        .order_by("callback_due_at", "id")
    )


@require_GET
@operator_required
def hotline_callbacks(request: AuthedRequest) -> HttpResponse:
    due = callbacks_due(request)
    context = {"rows": list(due[: PAGE * 2]), "count": due.count()}
    return page(request, "web/cases/hotline_callbacks.html", context)


def _callback_case(request: AuthedRequest, case_id: int) -> Case:
    case = case_get_visible(request.user, case_id)
    if case is None:
        raise Http404(_("No such case."))
    if case.state != State.CLOSED or case.callback_due_at is None:
        raise Http404(_("This case is not waiting for a callback."))
    return case


@require_http_methods(["GET", "POST"])
@operator_required
def hotline_callback(request: AuthedRequest, case_id: int) -> HttpResponse:
    """One callback: unmask the reporter's number (step "unmask"), then record what they
    said (step "rate", the `rate` action as the operator)."""
    case = _callback_case(request, case_id)
    step = request.POST.get("step", "") if request.method == "POST" else ""
    purpose = _("Callback (回访) on case #%(number)s") % {"number": case.number}
    unmask_form = UnmaskForm(request.POST if step == "unmask" else None,
                             initial={"purpose": purpose})  # fmt: skip
    rate_form = CallbackForm(request.POST if step == "rate" else None,
                             initial={"version": case.version})  # fmt: skip
    context: dict[str, Any] = {"case": case, "reporter": reporter_masked(case)}
    status = 200
    if step == "unmask":
        status = reporter_unmask_step(request, case, unmask_form, context)
    elif step == "rate":
        if rate_form.is_valid():
            try:
                case_transition(actor=request.user, case_id=case.pk, action=Action.RATE,
                                version=rate_form.cleaned_data["version"],
                                inputs=rate_form.inputs())  # fmt: skip
            except StaleVersion:
                messages.warning(request, _("The case changed meanwhile; here it is reloaded."))
                return redirect("web:hotline_callback", case_id=case.pk)
            except DomainError as exc:
                field = exc.field if exc.field in rate_form.fields else None
                rate_form.add_error(field, exc.message)
                status = 403 if isinstance(exc, NotPermitted) else 200
            else:
                messages.success(request, _("Callback recorded on case #%(number)s.")
                                 % {"number": case.number})  # fmt: skip
                return redirect("web:hotline_callbacks")
        else:
            status = 400
    elif request.method == "POST":
        raise Http404(_("No such step."))
    context.update(unmask_form=unmask_form, rate_form=rate_form)
    return page(request, "web/cases/hotline_callback.html", context, status)
