"""The Open311 GeoReport v2 endpoint (plain function views: the spec's XML is no fit for
ninja). Each view: check the format and `jurisdiction_id`, parse, call a selector or the
service, render. Every refusal is the spec's error document (`formats.render_errors`).

See docs/open311.md for the mapping of states, fields and extensions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from gridlink.cases.models import Case, CaseEvent, Category
from gridlink.cases.photos import photo_open
from gridlink.cases.selectors import taxonomy_current
from gridlink.cases.services.intake import InvalidFields, RateLimited
from gridlink.cases.workflow import State
from gridlink.core.audit import client_ip
from gridlink.core.errors import DomainError
from gridlink.open311 import selectors
from gridlink.open311.formats import FORMATS, render, render_errors
from gridlink.open311.params import BadRequest, new_request, request_filters
from gridlink.open311.services import service_request_create

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# Intake field names → the Open311 parameter a client sent.
PARAMETER_OF = {
    "category_code": "service_code",
    "lon": "long",
    "address": "address_string",
    "building_code": "address_id",
    "reporter_phone": "phone",
    "reporter_email": "email",
    "reporter_name": "first_name",
    "photo_keys": "media",
    "file": "media",
}

View = Callable[..., HttpResponse]


def _parameter(field: str | None) -> str:
    if not field:
        return "request"
    if field.startswith("attributes."):
        return f"attribute[{field.removeprefix('attributes.')}]"
    return PARAMETER_OF.get(field, field)


def _jurisdiction(request: HttpRequest) -> None:
    """Single jurisdiction (0 or 1 configured): `jurisdiction_id` optional, but a configured
    one must match. Several: required. Unknown: 404."""
    known: list[str] = list(settings.GRIDLINK_OPEN311_JURISDICTIONS)
    given = (
        request.GET.get("jurisdiction_id") or request.POST.get("jurisdiction_id") or ""
    ).strip()
    if not given:
        if len(known) > 1:
            raise BadRequest(
                [
                    (
                        400,
                        "jurisdiction_id: "
                        + _("required: this server serves several jurisdictions."),
                    )
                ]
            )
        return
    if known and given not in known:
        raise BadRequest([(404, "jurisdiction_id: " + _("unknown jurisdiction."))], status=404)


def open311(*methods: str) -> Callable[[View], View]:
    """Format check, allowed methods, jurisdiction, and errors rendered the spec's way."""

    def wrap(view: View) -> View:
        @functools.wraps(view)
        def inner(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            fmt = fmt.lower()
            if fmt not in FORMATS:
                return render_errors(
                    "xml", [(404, _("Unknown format: use .xml or .json."))], status=404
                )
            if request.method not in methods:
                response = render_errors(fmt, [(405, _("Method not allowed."))], status=405)
                response["Allow"] = ", ".join(methods)
                return response
            try:
                _jurisdiction(request)
                return view(request, fmt, **kwargs)
            except BadRequest as exc:
                return render_errors(fmt, exc.errors, status=exc.status)
            except InvalidFields as exc:
                errors = [(400, f"{_parameter(e['field'])}: {e['message']}") for e in exc.errors]
                return render_errors(fmt, errors, status=400)
            except RateLimited as exc:
                response = render_errors(fmt, [(429, exc.message)], status=429)
                response["Retry-After"] = str(exc.retry_after)
                return response
            except DomainError as exc:
                status = exc.status if 400 <= exc.status < 500 else 400
                return render_errors(
                    fmt, [(status, f"{_parameter(exc.field)}: {exc.message}")], status=status
                )

        return csrf_exempt(inner)

    return wrap


def _english() -> bool:
    return (translation.get_language() or "").startswith("en")


def _name(obj: Any) -> str:
    return str(obj.name_en if _english() and obj.name_en else obj.name_zh)


# --- Discovery and services ----------------------------------------------------------------------


@open311("GET")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    version = taxonomy_current()
    changeset = version.published_at if version is not None else None
    endpoint = {
        "specification": SPECIFICATION,
        "url": request.build_absolute_uri(reverse("open311:root")).rstrip("/"),
        "changeset": changeset,
        "type": "production",
        "formats": ["text/xml", "application/json"],
    }
    body = {
        "changeset": changeset,
        "contact": _("The district's city-management command centre."),
        "key_service": _("Ask the district's administrator for an API key (docs/open311.md)."),
        "endpoints": [endpoint],
    }
    return render(fmt, "discovery", body)


def _condition(category: Category) -> str:
    """The filing condition says what the service is for (and when a report is taken up)."""
    text = category.filing_condition_en if _english() else category.filing_condition_zh
    return str(text or category.filing_condition_zh)


def _keywords(category: Category) -> str:
    text = category.keywords_en if _english() else category.keywords_zh
    return ", ".join(Category.split_keywords(text))


@open311("GET")
def services(request: HttpRequest, fmt: str) -> HttpResponse:
    items = [
        {
            "service_code": c.code,
            "service_name": _name(c),
            "description": _condition(c) or _name(c),
            "metadata": bool(getattr(c, "has_attributes", False)),
            "type": "realtime",
            "keywords": _keywords(c),
            "group": _name(c.parent) if c.parent is not None else "",
        }
        for c in selectors.services_current()
    ]
    return render(fmt, "services", items)


@open311("GET")
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    category = selectors.service_current(code)
    if category is None:
        raise BadRequest([(404, "service_code: " + _("unknown service."))], status=404)
    attributes = [
        {
            "variable": a.variable,
            "code": a.code,
            "datatype": a.datatype,
            "required": a.required,
            "datatype_description": str((a.help_en if _english() else a.help_zh) or "") or None,
            "order": a.order,
            "description": _name(a),
            **(
                {"values": [{"key": v["key"], "name": _name_of_value(v)} for v in a.values]}
                if a.datatype in ("singlevaluelist", "multivaluelist")
                else {}
            ),
        }
        for a in category.attributes.all()
    ]
    return render(
        fmt, "service_definition", {"service_code": category.code, "attributes": attributes}
    )


def _name_of_value(value: dict[str, str]) -> str:
    name = value.get("name_en") if _english() else value.get("name_zh")
    return str(name or value.get("name_zh") or value["key"])


# --- Service requests ----------------------------------------------------------------------------


def _media_url(request: HttpRequest, case: Case) -> str | None:
    photos = getattr(case, "report_photos", [])
    if not photos or case.state == State.INVALID:
        return None
    return request.build_absolute_uri(reverse("open311:media", args=[photos[0].key]))


def _history(case: Case) -> list[CaseEvent]:
    return list(getattr(case, "public_events", []))


def request_out(request: HttpRequest, case: Case, *, extensions: bool) -> dict[str, Any]:
    """One service request; only public fields and the public timeline."""
    status = selectors.open311_status(case.state)
    history = _history(case)
    notes = [n for n in (selectors.event_note(e) for e in history) if n]
    out: dict[str, Any] = {
        "service_request_id": str(case.pk),
        "status": status,
        "status_notes": notes[-1] if notes else None,
        "service_name": _name(case.category),
        "service_code": case.category.code,
        "description": case.description,
        "agency_responsible": case.unit_name or None,
        "service_notice": None,
        "requested_datetime": case.created_at,
        "updated_datetime": getattr(case, "public_updated_at", case.created_at),
        "expected_datetime": case.deadline_at if status == "open" else None,
        "address": case.address or None,
        "address_id": case.building.address_code if case.building is not None else None,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": _media_url(request, case),
    }
    if extensions:
        out["extended_attributes"] = {
            "detailed_status": case.state,
            "detailed_status_name": str(case.get_state_display()),
            "status_history": [
                {
                    "updated_datetime": e.created_at,
                    "status": selectors.open311_status(e.to_state),
                    "detailed_status": e.to_state,
                    "description": selectors.event_note(e) or None,
                }
                for e in history
            ],
        }
    return out


def _page(qs: QuerySet[Any], page: int, size: int) -> tuple[list[Any], dict[str, str]]:
    paginator = Paginator(qs, size, allow_empty_first_page=True)
    total = paginator.count
    items = list(paginator.page(page).object_list) if page <= paginator.num_pages else []
    headers = {
        "X-Total-Count": str(total),
        "X-Page": str(page),
        "X-Page-Size": str(size),
        "X-Total-Pages": str(paginator.num_pages if total else 0),
    }
    return items, headers


@open311("GET", "POST")
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _request_create(request, fmt)
    filters = request_filters(request.GET)
    items, headers = _page(selectors.requests_filtered(filters), filters.page, filters.page_size)
    response = render(
        fmt,
        "service_requests",
        [request_out(request, c, extensions=filters.extensions) for c in items],
    )
    for name, value in headers.items():
        response[name] = value
    return response


def _request_create(request: HttpRequest, fmt: str) -> HttpResponse:
    application = selectors.client_application_by_key(
        request.POST.get("api_key") or request.GET.get("api_key", "")
    )
    if application is None:
        raise BadRequest(
            [(403, "api_key: " + _("missing, unknown or revoked API key."))], status=403
        )
    new = new_request(request.POST)
    created = service_request_create(
        application=application,
        new=new,
        media=request.FILES.get("media"),
        ip=client_ip(request.META),
        idempotency_key=request.headers.get("Idempotency-Key", "").strip(),
    )
    case = created.case
    body = [
        {
            "service_request_id": str(case.pk),
            "token": case.tracking_code,
            "service_notice": _(
                "Tracking code %(code)s: the reporter's key to follow this request. Rating key "
                "%(key)s: give it only to the reporter; it is needed to rate the outcome and "
                "is shown only now."
            )
            % {"code": case.tracking_code, "key": created.rating_key}
            if created.rating_key
            else _("Tracking code %(code)s: the reporter's key to follow this request.")
            % {"code": case.tracking_code},
            "account_id": None,
        }
    ]
    response = render(fmt, "service_requests", body, status=200 if created.replayed else 201)
    if created.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@open311("GET")
def request_detail(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    case = selectors.request_get(request_id)
    if case is None:
        raise BadRequest([(404, "service_request_id: " + _("no such request."))], status=404)
    extensions = request.GET.get("extensions", "").lower() in ("true", "1")
    return render(fmt, "service_requests", [request_out(request, case, extensions=extensions)])


@open311("GET")
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    case = None if token.isdigit() else selectors.request_get(token)
    if case is None:
        raise BadRequest([(404, "token: " + _("no such token."))], status=404)
    return render(
        fmt, "service_requests", [{"service_request_id": str(case.pk), "token": case.tracking_code}]
    )


@open311("GET")
def request_updates(request: HttpRequest, fmt: str) -> HttpResponse:
    filters = request_filters(request.GET)
    events, headers = _page(selectors.request_updates(filters), filters.page, filters.page_size)
    items = []
    for event in events:
        photos = getattr(event, "report_photos", [])
        shown = photos and event.case.state != State.INVALID
        items.append(
            {
                "update_id": str(event.pk),
                "service_request_id": str(event.case_id),
                "status": selectors.open311_status(event.to_state),
                "updated_datetime": event.created_at,
                "description": selectors.event_note(event)
                or str(State(event.to_state).label if event.to_state in State.values else ""),
                "media_url": request.build_absolute_uri(
                    reverse("open311:media", args=[photos[0].key])
                )
                if shown
                else None,
            }
        )
    response = render(fmt, "service_request_updates", items)
    for name, value in headers.items():
        response[name] = value
    return response


def media(request: HttpRequest, key: str) -> HttpResponseBase:
    """A report photo of a service request (the public `media_url`)."""
    photo = selectors.media_photo(key) if request.method in ("GET", "HEAD") else None
    if photo is None:
        return render_errors("xml", [(404, _("No such media."))], status=404)
    try:
        handle = photo_open(name=photo.file)
    except DomainError:
        return render_errors("xml", [(404, _("No such media."))], status=404)
    response = FileResponse(handle, content_type=photo.content_type)
    response["Cache-Control"] = "public, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def root(request: HttpRequest) -> HttpResponse:
    """`/open311/v2/`: points to the discovery document."""
    return render_errors("xml", [(404, _("See discovery.xml or discovery.json."))], status=404)
