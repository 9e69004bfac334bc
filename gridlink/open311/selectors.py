"""Reads behind the Open311 interface: services from the current taxonomy, and the public
view of cases as service requests.

Only cases reported through the public channels (the resident web and Open311) are service
requests; of a case only public fields and public timeline events are read. The
`service_request_id` is the case's number, not its tracking code: the tracking code is the
anonymous reporter's only key (it lets the holder rate the case), so a public list must
never show it.
"""

from __future__ import annotations

import math

from django.db.models import (
    F,
    FloatField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Power
from django.utils.translation import gettext as _

from gridlink.cases.models import Case, CaseEvent, CasePhoto, Category, PhotoStage
from gridlink.cases.selectors import subclass_detail, subclasses_of, taxonomy_current
from gridlink.cases.services.intake import PUBLIC_CHANNELS
from gridlink.cases.workflow import State
from gridlink.cases.workflow_table import FINAL_STATES
from gridlink.open311.models import ClientApplication
from gridlink.open311.params import Area, RequestFilters

_M_PER_DEGREE = 111_320.0
# Kinds of public events whose text is meant for the reporter (as on the tracking page,
# plus the handling result the unit reports back).
_NOTE_FROM_REASON = frozenset({"invalidate", "reopen"})


# --- Client applications ----------------------------------------------------------------------


def client_application_by_key(api_key: str) -> ClientApplication | None:
    """The active application whose api_key this is, else None."""
    parts = ClientApplication.split_key(api_key)
    if parts is None:
        return None
    app = ClientApplication.objects.filter(key_id=parts[0]).first()
    if app is None or not app.is_active or not app.matches(parts[1]):
        return None
    return app


# --- Services ---------------------------------------------------------------------------------


def services_current() -> list[Category]:
    """The sub-classes of the current published taxonomy (with `has_attributes`)."""
    version = taxonomy_current()
    return subclasses_of(version) if version is not None else []


def service_current(code: str) -> Category | None:
    """One sub-class of the current taxonomy with its attributes loaded."""
    version = taxonomy_current()
    if version is None or len(code) > 20:
        return None
    return subclass_detail(version, code.strip().upper())


# --- Service requests ---------------------------------------------------------------------------


def open311_status(state: str) -> str:
    return "closed" if state in FINAL_STATES else "open"


def event_note(event: CaseEvent) -> str:
    """The public text of a public event, or "" (internal reasons never)."""
    if not event.public:
        return ""
    if event.kind in _NOTE_FROM_REASON:
        return event.reason
    if event.kind == "submit_result":
        return str(event.data.get("result") or "")
    if event.kind == "merge" and event.case.parent_id is not None:
        return _("Merged into request %(id)s.") % {"id": event.case.parent_id}
    return ""


def _public_events() -> QuerySet[CaseEvent]:
    return CaseEvent.objects.filter(public=True).order_by("created_at", "id")


def requests_public() -> QuerySet[Case]:
    """Service requests with what rendering them needs: `public_updated_at` (the latest
    public event, else the report time), `public_events` and `report_photos`."""
    latest = (
        CaseEvent.objects.filter(case=OuterRef("pk"), public=True)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    return (
        Case.objects.filter(channel__in=PUBLIC_CHANNELS)
        .select_related("category__parent", "unit_department", "unit_area", "building")
        .annotate(public_updated_at=Coalesce(Subquery(latest), F("created_at")))
        .prefetch_related(
            Prefetch("events", queryset=_public_events(), to_attr="public_events"),
            Prefetch(
                "photos",
                queryset=CasePhoto.objects.filter(stage=PhotoStage.REPORT).order_by("id"),
                to_attr="report_photos",
            ),
        )
    )


def _numbers(ids: list[str]) -> list[int]:
    return [int(i) for i in ids if i.isascii() and i.isdigit() and len(i) <= 12]


def request_get(request_id: str) -> Case | None:
    """One request by its service_request_id (or the tracking code its reporter holds)."""
    request_id = request_id.strip()
    if request_id.isascii() and request_id.isdigit() and len(request_id) <= 12:
        return requests_public().filter(pk=int(request_id)).first()
    if 0 < len(request_id) <= 16:
        return requests_public().filter(tracking_code=request_id.upper()).first()
    return None


def _near(qs: QuerySet[Case], area: Area) -> QuerySet[Case]:
    if area.lat is not None and area.lon is not None:
        # Equirectangular distance: exact enough within the 50 km a radius may span.
        k_lon = _M_PER_DEGREE * max(math.cos(math.radians(area.lat)), 0.01)
        dy = (F("lat") - Value(area.lat)) * Value(_M_PER_DEGREE)
        dx = (F("lon") - Value(area.lon)) * Value(k_lon)
        qs = qs.annotate(
            distance2=Power(dy, 2, output_field=FloatField())
            + Power(dx, 2, output_field=FloatField())
        ).filter(distance2__lte=area.radius_m**2)
    if area.bbox is not None:
        west, south, east, north = area.bbox
        qs = qs.filter(lon__gte=west, lon__lte=east, lat__gte=south, lat__lte=north)
    return qs


def requests_filtered(filters: RequestFilters) -> QuerySet[Case]:
    """`GET requests`: newest first. `service_request_id` overrides the other filters."""
    qs = requests_public()
    if filters.ids:
        return qs.filter(pk__in=_numbers(filters.ids)).order_by("-created_at", "-id")
    if filters.service_codes:
        qs = qs.filter(category__code__in=filters.service_codes)
    statuses = set(filters.statuses)
    if statuses == {"open"}:
        qs = qs.exclude(state__in=FINAL_STATES)
    elif statuses == {"closed"}:
        qs = qs.filter(state__in=FINAL_STATES)
    if filters.window is not None:
        qs = qs.filter(created_at__gte=filters.window.start, created_at__lte=filters.window.end)
    if filters.updated_after is not None:
        qs = qs.filter(Q(public_updated_at__gt=filters.updated_after))  # an annotation
    if filters.updated_before is not None:
        qs = qs.filter(Q(public_updated_at__lt=filters.updated_before))
    return _near(qs, filters.area).order_by("-created_at", "-id")


def request_updates(filters: RequestFilters) -> QuerySet[CaseEvent]:
    """`GET servicerequestupdates`: public events of service requests, newest first, in the
    date window (on the update time); `service_request_id` narrows to those requests."""
    qs = (
        CaseEvent.objects.filter(public=True, case__channel__in=PUBLIC_CHANNELS)
        .select_related("case")
        .prefetch_related(
            Prefetch(
                "photos",
                queryset=CasePhoto.objects.filter(stage=PhotoStage.REPORT).order_by("id"),
                to_attr="report_photos",
            )
        )
    )
    if filters.ids:
        qs = qs.filter(case_id__in=_numbers(filters.ids))
    elif filters.window is not None:
        qs = qs.filter(created_at__gte=filters.window.start, created_at__lte=filters.window.end)
    if filters.updated_after is not None:
        qs = qs.filter(created_at__gt=filters.updated_after)
    if filters.updated_before is not None:
        qs = qs.filter(created_at__lt=filters.updated_before)
    return qs.order_by("-created_at", "-id")


def media_photo(key: str) -> CasePhoto | None:
    """A report photo of a service request, public unless the report was not accepted."""
    if not key.isalnum() or len(key) > 32:
        return None
    return (
        CasePhoto.objects.filter(
            key=key,
            stage=PhotoStage.REPORT,
            case__isnull=False,
            case__channel__in=PUBLIC_CHANNELS,
        )
        .exclude(case__state=State.INVALID)
        .first()
    )
