"""Parse and check the query parameters of the GET methods (pure functions, no database).

Every problem is collected, so one response lists them all (the spec's `<errors>`). Limits:
`start_date`/`end_date` span at most 90 days (the default window is the last 90 days);
datetimes must be W3C with an offset; `page_size` is 1–1000.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from gridlink.core.errors import DomainError
from gridlink.core.inputs import datetime_in_range

WINDOW = dt.timedelta(days=90)
PAGE_SIZE_DEFAULT = 1000  # the spec's "first 1000 requests"
PAGE_SIZE_MAX = 1000
RADIUS_DEFAULT_M = 1000
RADIUS_MAX_M = 50_000
IDS_MAX = 100
PARAM_MAX = 4000  # no query parameter is longer than the longest field
_W3C = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$",
    re.IGNORECASE | re.ASCII,
)
_DIGITS = re.compile(r"^[0-9]{1,9}$")
STATUSES = ("open", "closed")


class BadRequest(DomainError):
    """One or more problems with the request; `errors` are (HTTP code, description)."""

    def __init__(self, errors: list[tuple[int, str]], *, status: int = 400) -> None:
        super().__init__(errors[0][1], code=str(status))
        self.errors = errors
        self.status = status


class Problems:
    def __init__(self) -> None:
        self.items: list[tuple[int, str]] = []

    def add(self, name: str, message: str, code: int = 400) -> None:
        self.items.append((code, f"{name}: {message}"))

    def raise_if_any(self) -> None:
        if self.items:
            raise BadRequest(self.items, status=max(code for code, _m in self.items))


def w3c_parse(value: str) -> dt.datetime | None:
    """A W3C datetime with an offset (`Z` or `±HH:MM`) between the years 1900 and 2999 in
    UTC (`core.inputs.datetime_in_range`), else None."""
    value = value.strip()
    if not _W3C.match(value):
        return None
    try:
        at = dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:  # e.g. 2026-02-30 or an offset of 25 hours
        return None
    return at if datetime_in_range(at) else None


def _datetime(query: QueryDict, name: str, problems: Problems) -> dt.datetime | None:
    raw = query.get(name, "")
    if not raw:
        return None
    at = w3c_parse(raw)
    if at is None:
        problems.add(
            name,
            _(
                "a W3C date and time with its offset, between the years 1900 and 2999, is"
                " expected, e.g. 2026-01-31T09:30:00+08:00."
            ),
        )
    return at


def _int(query: QueryDict, name: str, problems: Problems, default: int, lo: int, hi: int) -> int:
    raw = query.get(name, "").strip()
    if not raw:
        return default
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    if not _DIGITS.match(raw) or not lo <= int(raw) <= hi:
        problems.add(
            name, _("a whole number from %(lo)s to %(hi)s is expected.") % {"lo": lo, "hi": hi}
        )
        return default
    return int(raw)


def _float(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _codes(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def check_lengths(query: QueryDict, problems: Problems) -> None:
    for name, values in query.lists():
        if len(name) > 100 or any(len(v) > PARAM_MAX for v in values):
            problems.add(name[:100], _("at most %(max)s characters.") % {"max": PARAM_MAX})


@dataclass
class Window:
    start: dt.datetime
    end: dt.datetime


def date_window(query: QueryDict, problems: Problems, now: dt.datetime) -> Window | None:
    """`start_date`/`end_date`: at most 90 days apart; the default is the last 90 days."""
    start = _datetime(query, "start_date", problems)
    end = _datetime(query, "end_date", problems)
    if start is None and end is None:
        return Window(now - WINDOW, now)
    if start is None:
        start = end - WINDOW if end is not None else now - WINDOW
    if end is None:
        end = start + WINDOW
    if start > end:
        problems.add("end_date", _("it must not be before start_date."))
        return None
    if end - start > WINDOW:
        problems.add("end_date", _("start_date and end_date may be at most 90 days apart."))
        return None
    return Window(start, end)


@dataclass
class Area:
    lat: float | None = None
    lon: float | None = None
    radius_m: float = RADIUS_DEFAULT_M
    bbox: tuple[float, float, float, float] | None = None  # min lon, min lat, max lon, max lat


def _area(query: QueryDict, problems: Problems) -> Area:
    area = Area()
    lat_raw, lon_raw = query.get("lat", "").strip(), query.get("long", "").strip()
    if bool(lat_raw) != bool(lon_raw):
        problems.add("lat" if lon_raw else "long", _("lat and long must be given together."))
    elif lat_raw:
        lat, lon = _float(lat_raw), _float(lon_raw)
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            problems.add("lat", _("lat and long must be numbers on the globe."))
        else:
            area.lat, area.lon = lat, lon
    radius_raw = query.get("radius", "").strip()
    if radius_raw:
        radius = _float(radius_raw)
        if not lat_raw:
            problems.add("radius", _("radius needs lat and long."))
        elif radius is None or not 0 < radius <= RADIUS_MAX_M:
            problems.add(
                "radius", _("metres, more than 0 and at most %(max)s.") % {"max": RADIUS_MAX_M}
            )
        else:
            area.radius_m = radius
    bbox_raw = query.get("bbox", "").strip()
    if bbox_raw:
        parts = [_float(p) for p in bbox_raw.split(",")]
        numbers = [p for p in parts if p is not None]
        if len(parts) != 4 or len(numbers) != 4:
            problems.add("bbox", _("four numbers are expected: min_long,min_lat,max_long,max_lat."))
        else:
            w, s, e, n = numbers
            if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
                problems.add(
                    "bbox",
                    _("the box must lie on the globe, west before east, south before north."),
                )
            else:
                area.bbox = (w, s, e, n)
    return area


def _flag(query: QueryDict, name: str, problems: Problems) -> bool:
    raw = query.get(name, "").strip().lower()
    if raw in ("", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    problems.add(name, _("true or false is expected."))
    return False


@dataclass
class RequestFilters:
    ids: list[str] = field(default_factory=list)  # overrides everything else
    service_codes: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    window: Window | None = None
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    area: Area = field(default_factory=Area)
    page: int = 1
    page_size: int = PAGE_SIZE_DEFAULT
    extensions: bool = False


def request_filters(query: QueryDict, *, now: dt.datetime | None = None) -> RequestFilters:
    """The filters of `GET requests` (and `servicerequestupdates`); raises BadRequest."""
    now = now or timezone.now()
    problems = Problems()
    check_lengths(query, problems)
    problems.raise_if_any()
    filters = RequestFilters()
    filters.ids = _codes(query.get("service_request_id", ""))
    if len(filters.ids) > IDS_MAX:
        problems.add("service_request_id", _("at most %(max)s ids at once.") % {"max": IDS_MAX})
    filters.service_codes = [c.upper() for c in _codes(query.get("service_code", ""))]
    filters.statuses = [s.lower() for s in _codes(query.get("status", ""))]
    for status in filters.statuses:
        if status not in STATUSES:
            problems.add("status", _("open or closed is expected."))
            break
    filters.window = date_window(query, problems, now)
    filters.updated_after = _datetime(query, "updated_after", problems)
    filters.updated_before = _datetime(query, "updated_before", problems)
    filters.area = _area(query, problems)
    filters.page = _int(query, "page", problems, 1, 1, 1_000_000)
    filters.page_size = _int(query, "page_size", problems, PAGE_SIZE_DEFAULT, 1, PAGE_SIZE_MAX)
    filters.extensions = _flag(query, "extensions", problems)
    problems.raise_if_any()
    return filters


# --- POST requests ------------------------------------------------------------------------------

_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_.-]{1,40})\](\[\])?$")
_HTML = re.compile(r"<\s*/?\s*[A-Za-z!?]")
TEXT_PARAMS = ("description", "address_string", "first_name", "last_name")
MEDIA_URL_MAX = 500


@dataclass
class NewRequest:
    """A `POST requests` body, checked for shape (the intake checks the meaning)."""

    service_code: str
    description: str
    lat: float | None = None
    lon: float | None = None
    address_string: str = ""
    address_id: str = ""
    attributes: dict[str, list[str]] = field(default_factory=dict)
    email: str = ""
    phone: str = ""
    first_name: str = ""
    last_name: str = ""
    media_url: str = ""


def _media_url(raw: str, problems: Problems) -> str:
    from django.core.exceptions import ValidationError
    from django.core.validators import URLValidator

    if not raw:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(raw)
    except ValidationError:
        problems.add("media_url", _("an http or https URL is expected."))
        return ""
    if len(raw) > MEDIA_URL_MAX:
        problems.add("media_url", _("at most %(max)s characters.") % {"max": MEDIA_URL_MAX})
    return raw


def new_request(form: QueryDict) -> NewRequest:
    """Parse a form-encoded (or multipart) `POST requests`; raises BadRequest listing every
    problem of shape: lengths, HTML, a half location, no location, no service_code."""
    problems = Problems()
    check_lengths(form, problems)
    problems.raise_if_any()
    text = {name: form.get(name, "").strip() for name in TEXT_PARAMS}
    for name, value in text.items():
        if _HTML.search(value):
            problems.add(name, _("HTML or code is not accepted; send plain text."))
    service_code = form.get("service_code", "").strip()
    if not service_code:
        problems.add("service_code", _("required."))
    elif len(service_code) > 20:
        problems.add("service_code", _("unknown service."))
    lat_raw, lon_raw = form.get("lat", "").strip(), form.get("long", "").strip()
    lat = lon = None
    if bool(lat_raw) != bool(lon_raw):
        problems.add("lat" if lon_raw else "long", _("lat and long must be given together."))
    elif lat_raw:
        lat, lon = _float(lat_raw), _float(lon_raw)
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            problems.add("lat", _("lat and long must be numbers on the globe."))
    address_id = form.get("address_id", "").strip()
    if not lat_raw and not lon_raw and not text["address_string"] and not address_id:
        problems.add(
            "lat", _("a location is required: lat and long, address_string or address_id.")
        )
    attributes: dict[str, list[str]] = {}
    for key, values in form.lists():
        match = _ATTRIBUTE.match(key)
        if match:
            attributes.setdefault(match.group(1), []).extend(v.strip() for v in values)
            for value in values:
                if _HTML.search(value):
                    problems.add(key, _("HTML or code is not accepted; send plain text."))
        elif key.startswith("attribute"):
            problems.add(
                key[:60], _("attributes are sent as attribute[CODE] or attribute[CODE][].")
            )
    media_url = _media_url(form.get("media_url", "").strip(), problems)
    problems.raise_if_any()
    return NewRequest(
        service_code=service_code,
        description=text["description"],
        lat=lat,
        lon=lon,
        address_string=text["address_string"],
        address_id=address_id,
        attributes=attributes,
        email=form.get("email", "").strip(),
        phone=form.get("phone", "").strip(),
        first_name=text["first_name"],
        last_name=text["last_name"],
        media_url=media_url,
    )
