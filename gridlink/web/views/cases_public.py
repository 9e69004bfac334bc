"""Case pages anyone may use: the resident's report form and the public tracking page.

The report goes through `case_create` (channel `resident_web`), its photos one by one
through `photo_upload`; the rating on the tracking page through `case_transition` with the
reporter's rating key (or as the signed-in reporter). The tracking code and the rating key
are shown once, on the done page; possible duplicates are never shown here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from gridlink.accounts.models import User
from gridlink.cases.models import Case, CategoryAttribute
from gridlink.cases.selectors import (
    case_by_tracking_code,
    case_public_events,
    subclass_detail,
    subclasses_of,
    taxonomy_current,
)
from gridlink.cases.services.intake import InvalidFields, case_create, photo_upload
from gridlink.cases.services.transitions import StaleVersion, case_transition
from gridlink.cases.workflow import Action, State
from gridlink.core.audit import client_ip
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.core.ratelimit import RateLimited, client_key, rate_hit
from gridlink.geo.models import Area, Level
from gridlink.web.case_forms import CategorySearchForm, RateForm, ReportForm, TrackForm
from gridlink.web.maps import Projection, SvgMap, area_map, polygons_of

if TYPE_CHECKING:
    from gridlink.cases.models import Category

REPORT_DONE_KEY = "web.reported_case"
REPORT_KEY_KEY = "web.reported_rating_key"

# Timeline events that are not actions of the workflow table.
EVENT_LABELS = {
    "reported": gettext_lazy("Reported"),
    "merged_in": gettext_lazy("A duplicate report was merged in"),
    "task_reported_in": gettext_lazy("A department reported in"),
    "task_done": gettext_lazy("A department finished its task"),
    "task_rated": gettext_lazy("A department's participation was rated"),
    "yellow_card": gettext_lazy("Yellow card"),
    "red_card": gettext_lazy("Red card"),
    "task_yellow_card": gettext_lazy("Yellow card on a co-handler's task"),
    "task_red_card": gettext_lazy("Red card on a co-handler's task"),
}


def labelled(events: Any) -> list[Any]:
    """Timeline events with `label` (the event) and `state_label` (the state it led to)."""
    out = []
    for event in events:
        if event.kind in Action.values:
            event.label = str(Action(event.kind).label)
        else:
            event.label = str(EVENT_LABELS.get(event.kind, event.kind))
        event.state_label = (
            str(State(event.to_state).label) if event.to_state in State.values else ""
        )
        out.append(event)
    return out


# --- The map to pin a point on ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PinMap:
    """A map to click on, and the linear inverse of its projection for `pin.js`:
    lon = (x - x0) / kx, lat = (y - y0) / ky."""

    svg: SvgMap
    x0: float
    kx: float
    y0: float
    ky: float


def pin_map(areas: list[Area], *, parent: Area | None = None, point: Any = None) -> PinMap | None:
    svg = area_map(areas, parent=parent, point=point)
    if svg is None:
        return None
    lons, lats = [], []
    for area in [*areas, *([parent] if parent is not None else [])]:
        for polygon in polygons_of(area.geometry):
            for ring in polygon:
                lons += [float(p[0]) for p in ring]
                lats += [float(p[1]) for p in ring]
    projection = Projection(min(lons), min(lats), max(lons), max(lats))
    x0, y0 = projection.xy(0.0, 0.0)
    x1, y1 = projection.xy(1.0, 1.0)
    return PinMap(svg, x0=x0, kx=x1 - x0, y0=y0, ky=y1 - y0)


def district_pin_map(point: Any = None) -> PinMap | None:
    """Every current grid of the district, with the district as the backdrop."""
    grids = list(Area.objects.current().filter(level=Level.GRID).order_by("code"))
    districts = list(Area.objects.current().filter(level=Level.DISTRICT)[:2])
    parent = districts[0] if len(districts) == 1 else None
    return pin_map(grids, parent=parent, point=point)


# --- Reporting ---------------------------------------------------------------------------------


def _category(code: str) -> Category | None:
    version = taxonomy_current()
    if version is None or not code:
        return None
    return subclass_detail(version, code.strip().upper())


def _attributes_of(category: Category | None) -> list[CategoryAttribute]:
    if category is None:
        return []
    return [a for a in category.attributes.all() if a.variable]


def report_form_for(
    request: HttpRequest, form_class: type[ReportForm], **kwargs: Any
) -> tuple[ReportForm, Category | None]:
    """A bound (POST) or initial form whose extra fields follow the chosen category."""
    source = request.POST if request.method == "POST" else request.GET
    category = _category(str(source.get("category_code") or source.get("category") or ""))
    attributes = _attributes_of(category)
    if request.method == "POST":
        form = form_class(request.POST, request.FILES, attributes=attributes, **kwargs)
    else:
        initial = kwargs.pop("initial", {})
        if category is not None:
            initial["category_code"] = category.code
        form = form_class(attributes=attributes, initial=initial, **kwargs)
    return form, category


def put_errors(form: ReportForm, exc: DomainError) -> None:
    """Every field error of an intake refusal onto the form."""
    items = exc.errors if isinstance(exc, InvalidFields) else [
        {"field": exc.field, "message": exc.message}
    ]  # fmt: skip
    for item in items:
        form.add_error(form.service_field(item.get("field")), str(item.get("message")))


def upload_photos(request: HttpRequest, files: list[Any], field_name: str) -> list[str]:
    """Store each uploaded photo (`photo_upload`), each counted against the client's upload
    limit; the keys go to the service."""
    actor = request.user if request.user.is_authenticated else None
    keys = []
    for f in files:
        rate_hit("photo.upload", client=client_key(actor=actor, ip=client_ip(request.META)))
        keys.append(photo_upload(actor=actor, upload=f, field_name=field_name).key)
    return keys


def limited_page(request: HttpRequest, limit: str, code: str = "") -> HttpResponse | None:
    """Count a public tracking request against `limit`; beyond it, the tracking form with
    the refusal, 429 and the true Retry-After."""
    try:
        rate_hit(limit, client=client_key(actor=request.user, ip=client_ip(request.META)))
    except RateLimited as exc:
        form = TrackForm({"code": code or request.GET.get("code", "")})
        form.is_valid()
        form.add_error(None, exc.message)
        response = render(request, "web/cases/track.html", {"form": form}, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    return None


def intake(request: HttpRequest, form: ReportForm) -> tuple[Case | None, int, int | None]:
    """Run a valid report form through the intake: the case, or None, a status and (for
    429) the seconds to wait. The rating key goes to the session for the done page (it is
    stored only hashed)."""
    try:
        keys = upload_photos(request, form.cleaned_data.get("photos") or [], "photos")
        created = case_create(
            actor=request.user if request.user.is_authenticated else None,
            report=form.report(keys),
            ip=client_ip(request.META),
        )
    except RateLimited as exc:
        form.add_error(None, exc.message)
        return None, 429, exc.retry_after
    except DomainError as exc:
        put_errors(form, exc)
        return None, exc.status if exc.status == 403 else 200, None
    request.session[REPORT_KEY_KEY] = created.rating_key
    return created.case, 201, None


@never_cache
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    form, category = report_form_for(request, ReportForm)
    status, wait = 200, None
    if request.method == "POST" and form.is_valid():
        case, status, wait = intake(request, form)
        if case is not None:
            request.session[REPORT_DONE_KEY] = case.pk
            return redirect("web:report_done")
    point = _point(form)
    context = {
        "form": form,
        "category": category,
        "search_form": CategorySearchForm(),
        "pin": district_pin_map(point),
    }
    response = render(request, "web/cases/report.html", context, status=status)
    if wait is not None:
        response["Retry-After"] = str(wait)
    return response


def _point(form: ReportForm) -> tuple[float, float] | None:
    data = form.cleaned_data if form.is_bound and hasattr(form, "cleaned_data") else form.initial
    lat, lon = data.get("lat"), data.get("lon")
    if isinstance(lat, float | int) and isinstance(lon, float | int):
        return float(lat), float(lon)
    return None


@never_cache
@require_GET
def report_done(request: HttpRequest) -> HttpResponse:
    case_id = request.session.get(REPORT_DONE_KEY)
    case = Case.objects.select_related("category").filter(pk=case_id).first() if case_id else None
    if case is None:
        return redirect("web:report")
    rating_key = request.session.get(REPORT_KEY_KEY) or ""
    return render(request, "web/cases/report_done.html", {"case": case, "rating_key": rating_key})


@require_GET
def report_categories(request: HttpRequest) -> HttpResponse:
    """htmx: the sub-classes matching the search words (code, names, keywords)."""
    form = CategorySearchForm(request.GET)
    version = taxonomy_current()
    q = form.cleaned_data["category_q"].strip() if form.is_valid() else ""
    found = subclasses_of(version, q=q)[:20] if version is not None and q else []
    target = request.GET.get("for", "report")
    return render(
        request,
        "web/cases/report.html#category-results",
        {"found": found, "q": q, "target": "web:patrol" if target == "patrol" else "web:report"},
    )


@require_GET
def report_category(request: HttpRequest, code: str) -> HttpResponse:
    """htmx: the chosen sub-class, its hidden code and its extra fields."""
    category = _category(code)
    if category is None:
        raise Http404(_("No such category."))
    form = ReportForm(attributes=_attributes_of(category), initial={"category_code": category.code})
    return render(
        request, "web/cases/report.html#category-reply", {"form": form, "category": category}
    )


# --- Tracking ----------------------------------------------------------------------------------


@require_GET
def track(request: HttpRequest) -> HttpResponse:
    form = TrackForm(request.GET or None)
    if form.is_bound and (refused := limited_page(request, "track.lookup")):
        return refused
    if form.is_valid():
        code = form.cleaned_data["code"].strip().upper()
        if case_by_tracking_code(code) is not None:
            return redirect("web:track_case", code=code)
        form.add_error("code", _("No case has this tracking code. Check it and try again."))
    return render(request, "web/cases/track.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def track_case(request: HttpRequest, code: str) -> HttpResponse:
    limit = "track.feedback" if request.method == "POST" else "track.lookup"
    if refused := limited_page(request, limit, code):
        return refused
    case = case_by_tracking_code(code)
    if case is None:
        raise Http404(_("No case has this tracking code."))
    shown = case.parent if case.parent_id and case.parent else case
    can_rate = shown.state == State.CLOSED and case.parent_id is None
    rate_form = RateForm(request.POST or None) if can_rate else None
    # The signed-in reporter rates as themselves; anyone else needs the rating key.
    by_account = request.user.is_authenticated and case.reporter_id == request.user.pk
    if rate_form is not None and by_account:
        del rate_form.fields["rating_key"]
    status = 200
    if request.method == "POST":
        if rate_form is None:
            status = 409
            messages.error(request, _("This case cannot be rated now."))
        elif rate_form.is_valid():
            try:
                key = None if by_account else rate_form.cleaned_data["rating_key"]
                reporter = request.user if isinstance(request.user, User) and by_account else None
                case_transition(actor=reporter, case_id=case.pk,
                                action=Action.RATE, version=case.version,
                                inputs=rate_form.inputs(), rating_key=key)  # fmt: skip
            except StaleVersion:
                status = 409
                messages.error(request, _("The case changed meanwhile; here it is reloaded."))
            except DomainError as exc:
                field = exc.field if exc.field in rate_form.fields else None
                rate_form.add_error(field, exc.message)
                status = 403 if isinstance(exc, NotPermitted) else 200
            else:
                messages.success(request, _("Thank you for your feedback."))
                return redirect(reverse("web:track_case", kwargs={"code": case.tracking_code}))
    context = {
        "case": case,
        "shown": shown,
        "events": labelled(case_public_events(case)),
        "rate_form": rate_form,
    }
    return render(request, "web/cases/track_case.html", context, status=status)
