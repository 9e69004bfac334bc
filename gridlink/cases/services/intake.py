"""Intake (信息收集): create a case from any channel.

`case_create` checks everything before writing anything — channel and the caller's right to
use it, the sub-class (current taxonomy), its extra attributes, the text, the location (a
point or a building's standard address → the grid), the photos, the contact details — then
writes the case, its first timeline event and outbox entry in one transaction.

Each channel has one rule in `CHANNEL_RULES`: who may report through it (anyone, an Open311
client application, or staff with a role over the grid), what it needs of the reporter's
contact details, whether it needs the other system's order number, and its rate limit. A
caller who may not use the channel is refused first (403, field `channel`), before anything
is counted or checked; then the request counts against the channel's limit (429 with the
seconds to wait, `gridlink.core.ratelimit`), so a refused report counts too.

`Idempotency-Key`: a retried create with the same key and the same body returns the first
case and writes nothing (and counts nothing); the same key with a different body is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from gridlink.accounts.permissions import roles_of
from gridlink.accounts.roles import Role
from gridlink.cases.attributes import attribute_value_problem
from gridlink.cases.models import PUBLIC_CHANNELS as PUBLIC_CHANNELS
from gridlink.cases.models import (
    Case,
    CasePhoto,
    Category,
    CategoryAttribute,
    Channel,
    IdempotencyRecord,
    PhotoStage,
    rating_key_digest,
)
from gridlink.cases.permissions import case_roles
from gridlink.cases.photos import photo_delete, photo_store
from gridlink.cases.selectors import taxonomy_current
from gridlink.cases.services.effects import photos_claim
from gridlink.cases.services.events import event_record
from gridlink.cases.workflow import State
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.core.ratelimit import RateLimited as RateLimited  # re-exported for the callers
from gridlink.core.ratelimit import client_key, named_client, rate_hit
from gridlink.core.validators import validate_mobile
from gridlink.geo.locator import PointOutsideGrids, locator
from gridlink.geo.models import Area, Level

if TYPE_CHECKING:
    from gridlink.accounts.models import User

DESCRIPTION_MAX = 4000  # Open311 GeoReport v2 allows 4,000
TITLE_MAX = 100
TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
TRACKING_LENGTH = 12  # 60 random bits: the code is the reporter's only key to the case


class Caller(models.TextChoices):
    """Who may report through a channel (`ChannelRule.caller`)."""

    ANYONE = "anyone", _lazy("anyone, also anonymously")
    APPLICATION = "application", _lazy("an Open311 client application, through /open311/")
    STAFF = "staff", _lazy("a signed-in account with one of the roles over the grid")


class Contact(models.TextChoices):
    """What a report must say about its reporter (`ChannelRule.contact`)."""

    # Not signed in: a phone or e-mail address, or `anonymous: true` said explicitly.
    PHONE_OR_EMAIL_OR_ANONYMOUS = "phone_or_email_or_anonymous"
    OPTIONAL = "optional"  # contact details may be given; none → the report is anonymous
    STAFF = "staff"  # the signed-in account reports; contact details are the caller's note


@dataclass(frozen=True)
class ChannelRule:
    caller: Caller
    roles: frozenset[str] = frozenset()  # for Caller.STAFF: one of these over the grid
    contact: Contact = Contact.STAFF
    external_number: bool = False  # the other system's order number is required
    # The order number is entered once: at most one case per number on the channel, and it
    # fills this attribute where the sub-class has it (e.g. the 12345 work-order number).
    unique_number: bool = False
    number_attribute: str = ""
    limit: str = "intake.staff"  # the rate limit (gridlink.core.ratelimit.LIMITS)


# The one table of intake channels: who may use each, what contact it needs, its limit.
CHANNEL_RULES: dict[str, ChannelRule] = {
    Channel.RESIDENT_WEB: ChannelRule(
        Caller.ANYONE, contact=Contact.PHONE_OR_EMAIL_OR_ANONYMOUS, limit="intake.public"
    ),
    Channel.OPEN311: ChannelRule(
        Caller.APPLICATION, contact=Contact.OPTIONAL, limit="intake.open311"
    ),
    Channel.GRID_PATROL: ChannelRule(Caller.STAFF, frozenset({Role.GRID_WORKER})),
    Channel.HOTLINE: ChannelRule(
        Caller.STAFF,
        frozenset({Role.HOTLINE_OPERATOR}),
        external_number=True,
        unique_number=True,
        number_attribute="hotline_order_no",
    ),
    Channel.HIGHER_AUTHORITY: ChannelRule(
        Caller.STAFF, frozenset({Role.DISPATCHER}), external_number=True
    ),
    Channel.SENSOR: ChannelRule(Caller.STAFF, frozenset({Role.DISPATCHER}), external_number=True),
    Channel.MEDIA: ChannelRule(Caller.STAFF, frozenset({Role.DISPATCHER, Role.HOTLINE_OPERATOR})),
}
RATING_KEY_LENGTH = 16  # 80 random bits, same alphabet; kept only as a hash
NEEDS_EXTERNAL_NUMBER = frozenset(c for c, r in CHANNEL_RULES.items() if r.external_number)


class InvalidFields(DomainError):
    """Several field errors at once; the API lists them all."""

    status = 400

    def __init__(self, errors: list[dict[str, str | None]]) -> None:
        first = errors[0]
        super().__init__(str(first["message"]), code=str(first["code"]), field=first["field"])
        self.errors = errors


@dataclass
class Report:
    """What a reporter sends. Exactly one of (lat, lon) or building/address locates it."""

    channel: str
    category_code: str
    description: str
    title: str = ""
    lat: float | None = None
    lon: float | None = None
    address: str = ""
    building_code: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    photo_keys: list[str] = field(default_factory=list)
    external_number: str = ""
    anonymous: bool = False
    reporter_name: str = ""
    reporter_phone: str = ""
    reporter_email: str = ""

    def fingerprint(self) -> str:
        body = json.dumps(self.__dict__, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass
class Created:
    case: Case
    replayed: bool  # True: an earlier request with the same Idempotency-Key made it
    duplicates: list[Case]
    # The reporter's rating key (public channels), in clear only here; a replay draws a new one.
    rating_key: str = ""


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, str | None]] = []

    def add(self, field_name: str, message: str, code: str = "invalid") -> None:
        self.items.append({"code": code, "field": field_name, "message": message})

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidFields(self.items)


def tracking_code_new() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))


def rating_key_new() -> str:
    """A reporter's rating key: shown to them once, stored only as `rating_key_digest`."""
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(RATING_KEY_LENGTH))


def case_create(
    *,
    actor: User | None,
    report: Report,
    ip: str | None = None,
    idempotency_key: str = "",
    application: str | None = None,
    now: dt.datetime | None = None,
) -> Created:
    """Create a case in state `reported` (see the module docstring).

    `application` is the key id of the Open311 client application the caller has
    authenticated (`gridlink.open311.services`): the only way to report through the
    "open311" channel, and the client its rate limit and idempotency keys belong to.
    """
    now = now or timezone.now()
    actor = actor if actor is not None and actor.is_authenticated else None
    rule = _channel_rule(report.channel, actor, application)
    if application is not None:
        client = named_client(f"open311:{application}")
    else:
        client = client_key(actor=actor, ip=ip)
    owner = f"user:{actor.pk}" if actor is not None else f"anon:{client}"
    fingerprint = report.fingerprint()
    if idempotency_key:
        replay = _replay(owner, idempotency_key, fingerprint)
        if replay is not None:
            return _replayed(replay)
    rate_hit(rule.limit, client=client, now=now)
    category, grid, building, attributes = _checked(report, actor, rule)
    rating_key = rating_key_new() if report.channel in PUBLIC_CHANNELS else ""
    try:
        with transaction.atomic():
            case = _write(report, actor, category, grid, building, attributes, client, now,
                          rating_key)  # fmt: skip
            if idempotency_key:
                IdempotencyRecord.objects.create(
                    owner=owner, key=idempotency_key, fingerprint=fingerprint, case=case
                )
    except IntegrityError:
        # Two requests with one key raced; the other one won. Answer as a replay.
        replay = _replay(owner, idempotency_key, fingerprint) if idempotency_key else None
        if replay is None:
            raise
        return _replayed(replay)
    return Created(case=case, replayed=False, duplicates=duplicates_of(case), rating_key=rating_key)


def _channel_rule(channel: str, actor: User | None, application: str | None) -> ChannelRule:
    """The channel's rule, if this caller may use the channel at all (the grid is checked
    later, with the location)."""
    rule = CHANNEL_RULES.get(channel)
    if rule is None:
        raise InvalidFields(
            [{"code": "unknown", "field": "channel", "message": _("Unknown channel.")}]
        )
    label = Channel(channel).label
    if rule.caller == Caller.APPLICATION and application is None:
        raise NotPermitted(
            _(
                "Reports through '%(channel)s' come only through the Open311 interface "
                "(/open311/v2/requests) with an application's api_key."
            )
            % {"channel": label},
            code="channel_not_permitted",
            field="channel",
        )
    if rule.caller == Caller.STAFF and (actor is None or not (roles_of(actor) & rule.roles)):
        raise NotPermitted(
            _("Reporting through '%(channel)s' needs one of these roles: %(roles)s.")
            % {"channel": label, "roles": _role_labels(rule.roles)},
            code="channel_not_permitted",
            field="channel",
        )
    return rule


def _role_labels(roles: frozenset[str]) -> str:
    return ", ".join(str(Role(r).label) for r in sorted(roles))


def _replayed(case: Case) -> Created:
    """The answer to a retried request: the same case. Its rating key was shown only in the
    answer the client may never have received, and is kept only as a hash, so a public case
    gets a new key and the earlier one stops working (the newest key given out rates)."""
    rating_key = ""
    if case.rating_key_hash:
        rating_key = rating_key_new()
        Case.objects.filter(pk=case.pk).update(rating_key_hash=rating_key_digest(rating_key))
        case.rating_key_hash = rating_key_digest(rating_key)
    return Created(case=case, replayed=True, duplicates=[], rating_key=rating_key)


def _replay(owner: str, key: str, fingerprint: str) -> Case | None:
    if len(key) > 100 or not key.isprintable():
        raise DomainError(
            _("The Idempotency-Key must be at most 100 printable characters."),
            field="Idempotency-Key",
        )
    record = IdempotencyRecord.objects.filter(owner=owner, key=key).select_related("case").first()
    if record is None:
        return None
    if record.fingerprint != fingerprint:
        raise DomainError(
            _("This Idempotency-Key was already used for a different request."),
            code="idempotency_key_reused",
            field="Idempotency-Key",
        ) from None
    return record.case


def _checked(
    report: Report, actor: User | None, rule: ChannelRule
) -> tuple[Category, Area, Any, dict[str, Any]]:
    errors = _Errors()
    category = _category(report.category_code, errors)
    description = report.description.strip()
    if not description:
        errors.add("description", _("Describe the problem."), "required")
    elif len(description) > DESCRIPTION_MAX:
        errors.add(
            "description",
            _("The description is too long: %(n)s characters, at most %(max)s.")
            % {"n": len(description), "max": DESCRIPTION_MAX},
            "too_long",
        )
    if len(report.title.strip()) > TITLE_MAX:
        errors.add("title", _("The title is at most %(max)s characters.") % {"max": TITLE_MAX},
                   "too_long")  # fmt: skip
    if rule.external_number and not report.external_number.strip():
        errors.add("external_number", _("This channel needs the external order number."),
                   "required")  # fmt: skip
    if len(report.external_number) > 64:
        errors.add("external_number", _("At most 64 characters."), "too_long")
    number = report.external_number.strip()
    if (
        rule.unique_number
        and number
        and Case.objects.filter(channel=report.channel, external_number=number).exists()
    ):
        errors.add(
            "external_number",
            _("A case with this order number was already entered; find it in the work list."),
            "duplicate",
        )
    _contact(report, actor, rule, errors)
    grid, building = _location(report, errors)
    values = _numbered(report, rule, category, errors)
    attributes = _attributes(category, values, errors) if category else {}
    errors.raise_if_any()
    if category is None or grid is None or report.lat is None or report.lon is None:
        raise DomainError(_("The report is incomplete."))  # unreachable: errors raised above
    _channel_permission(report.channel, rule, actor, grid)
    return category, grid, building, attributes


def _numbered(
    report: Report, rule: ChannelRule, category: Category | None, errors: _Errors
) -> dict[str, Any]:
    """The attribute values, with the order number filled into `rule.number_attribute` where
    the sub-class has that attribute (entered once); a different value there is refused."""
    code, number = rule.number_attribute, report.external_number.strip()
    if not (code and number and category is not None and isinstance(report.attributes, dict)):
        return report.attributes
    values = dict(report.attributes)
    if not CategoryAttribute.objects.filter(category=category, code=code).exists():
        return values
    given = values.get(code)
    if given not in (None, "") and str(given).strip() != number:
        errors.add(f"attributes.{code}", _("This is the order number: it must match it."),
                   "mismatch")  # fmt: skip
    values[code] = number
    return values


def _category(code: str, errors: _Errors) -> Category | None:
    version = taxonomy_current()
    if version is None:
        errors.add("category_code", _("No taxonomy has been published yet."), "unavailable")
        return None
    category = (
        Category.objects.filter(
            version=version, code=str(code).strip().upper(), parent__isnull=False
        )
        .select_related("version", "parent")
        .first()
    )
    if category is None:
        errors.add(
            "category_code",
            _("Unknown category '%(code)s': use a sub-class code of the current taxonomy.")
            % {"code": str(code)[:20]},
            "unknown",
        )
    return category


def _contact(report: Report, actor: User | None, rule: ChannelRule, errors: _Errors) -> None:
    if len(report.reporter_name) > 50:
        errors.add("reporter_name", _("At most 50 characters."), "too_long")
    if report.reporter_phone:
        try:
            validate_mobile(report.reporter_phone)
        except ValidationError as exc:
            errors.add("reporter_phone", " ".join(exc.messages), "invalid")
    if report.reporter_email:
        try:
            validate_email(report.reporter_email)
        except ValidationError:
            errors.add("reporter_email", _("Enter a valid e-mail address."), "invalid")
    public = rule.contact == Contact.PHONE_OR_EMAIL_OR_ANONYMOUS and actor is None
    if public and not report.anonymous and not (report.reporter_phone or report.reporter_email):
        errors.add(
            "reporter_phone",
            _("Give a phone number or e-mail address, or report anonymously."),
            "required",
        )


def _location(report: Report, errors: _Errors) -> tuple[Area | None, Any]:
    from gridlink.registry.models import Building

    building = None
    lat, lon = report.lat, report.lon
    if report.building_code or (report.address and lat is None):
        lookup = Building.objects.select_related("grid")
        if report.building_code:
            building = lookup.filter(address_code=report.building_code.strip()).first()
        else:
            building = lookup.filter(address=report.address.strip()).first()
        if building is None:
            errors.add("address", _("No building has this standard address."), "unknown")
            return None, None
        lat, lon = building.lat, building.lon
    if lat is None or lon is None:
        errors.add("lat", _("Give the location: latitude and longitude, or a standard address."),
                   "required")  # fmt: skip
        return None, None
    if not (isinstance(lat, int | float) and isinstance(lon, int | float)) or not (
        -90 <= lat <= 90 and -180 <= lon <= 180 and math.isfinite(lat) and math.isfinite(lon)
    ):
        errors.add("lat", _("Latitude and longitude must be numbers on the globe."), "invalid")
        return None, None
    try:
        chain = locator.locate(float(lat), float(lon))
    except PointOutsideGrids:
        errors.add("lat", _("The point (%(lat)s, %(lon)s) is outside the district's grids.")
                   % {"lat": lat, "lon": lon}, "outside")  # fmt: skip
        return None, None
    grid_ref = next((ref for ref in chain if ref.level == Level.GRID), chain[-1])
    report.lat, report.lon = float(lat), float(lon)
    return Area.objects.get(pk=grid_ref.id), building


def _attributes(category: Category, given: Any, errors: _Errors) -> dict[str, Any]:
    if not isinstance(given, dict):
        errors.add("attributes", _("Attributes are an object of code → value."))
        return {}
    defined = {a.code: a for a in CategoryAttribute.objects.filter(category=category)}
    for code in given:
        if code not in defined:
            errors.add(f"attributes.{str(code)[:40]}",
                       _("This category has no attribute '%(code)s'.") % {"code": str(code)[:40]},
                       "unknown")  # fmt: skip
    clean: dict[str, Any] = {}
    for code, attribute in defined.items():
        value = given.get(code)
        if value in (None, "", []):
            if attribute.required and attribute.variable:
                errors.add(f"attributes.{code}",
                           _("'%(name)s' is required for this category.")
                           % {"name": _localised(attribute.name_zh, attribute.name_en)},
                           "required")  # fmt: skip
            continue
        problem = attribute_value_problem(attribute, value)
        if problem:
            errors.add(f"attributes.{code}", problem)
        else:
            clean[code] = value
    return clean


def _localised(zh: str, en: str) -> str:
    return zh if (get_language() or "zh").startswith("zh") else en


def _channel_permission(channel: str, rule: ChannelRule, actor: User | None, grid: Area) -> None:
    """Staff channels: one of the rule's roles over the report's grid."""
    needed = rule.roles
    if rule.caller != Caller.STAFF:
        return
    probe = Case(grid=grid, reporter_id=None)
    if actor is None or not case_roles(actor, probe) & needed:
        raise NotPermitted(
            _("Reporting through '%(channel)s' needs one of these roles over this grid: %(roles)s.")
            % {
                "channel": Channel(channel).label,
                "roles": _role_labels(needed),
            },
            code="channel_not_permitted",
            field="channel",
        )


def _write(
    report: Report,
    actor: User | None,
    category: Category,
    grid: Area,
    building: Any,
    attributes: dict[str, Any],
    client: str,
    now: dt.datetime,
    rating_key: str,
) -> Case:
    photos = photos_claim(report.photo_keys, field_name="photo_keys")
    description = report.description.strip()
    anonymous = report.anonymous and report.channel in PUBLIC_CHANNELS
    reporter = None if anonymous else actor
    case = Case.objects.create(
        tracking_code=_unique_tracking_code(),
        rating_key_hash=rating_key_digest(rating_key) if rating_key else "",
        channel=report.channel,
        external_number=report.external_number.strip(),
        taxonomy_version=category.version,
        category=category,
        attributes=attributes,
        title=(report.title.strip() or f"{category.name_zh}：{description[:40]}")[:TITLE_MAX],
        description=description,
        urgency=category.urgency or "normal",
        lat=float(report.lat or 0),
        lon=float(report.lon or 0),
        address=(report.address.strip() or (building.address if building else ""))[:200],
        building=building,
        grid=grid,
        reporter=reporter,
        reporter_name=report.reporter_name.strip(),
        reporter_phone=report.reporter_phone.strip(),
        reporter_email=report.reporter_email.strip(),
        anonymous=anonymous,
        intake_client=client,
        state=State.REPORTED,
        created_at=now,
    )
    CasePhoto.objects.filter(pk__in=[p.pk for p in photos]).update(
        case=case, stage=PhotoStage.REPORT
    )
    event_record(case=case, kind="reported", actor=reporter, actor_role=_reporter_role(report),
                 data={"channel": report.channel, "photos": [p.key for p in photos]},
                 photos=photos, at=now)  # fmt: skip
    return case


def _reporter_role(report: Report) -> str:
    roles: dict[str, str] = {
        Channel.GRID_PATROL: Role.GRID_WORKER,
        Channel.HOTLINE: Role.HOTLINE_OPERATOR,
        Channel.HIGHER_AUTHORITY: Role.DISPATCHER,
        Channel.SENSOR: Role.DISPATCHER,
        Channel.MEDIA: Role.DISPATCHER,
    }
    return roles.get(report.channel, Role.RESIDENT)


def _unique_tracking_code() -> str:
    for _attempt in range(5):
        code = tracking_code_new()
        if not Case.objects.filter(tracking_code=code).exists():
            return code
    raise RuntimeError("could not draw a free tracking code")  # 60 bits: never in practice


# --- Duplicates ------------------------------------------------------------------------------

_EARTH_M = 6_371_000.0
SIMILARITY_MIN = 0.2


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_M * math.asin(math.sqrt(a))


def _grams(text: str) -> set[str]:
    """Character bigrams (works for Chinese, which has no spaces) of the letters and digits."""
    kept = "".join(ch.lower() for ch in text if ch.isalnum())
    return {kept[i : i + 2] for i in range(len(kept) - 1)} or ({kept} if kept else set())


def text_similarity(a: str, b: str) -> float:
    """Jaccard similarity of character bigrams, 0..1."""
    ga, gb = _grams(a), _grams(b)
    if not ga or not gb:
        return 0.0
    return len(ga & gb) / len(ga | gb)


def duplicates_of(
    case: Case, *, radius_m: float | None = None, visible_to: User | None = None
) -> list[Case]:
    """Open cases of the same sub-class within the radius and with similar text, nearest
    first (SPEC §3 "Duplicates"). With `visible_to`, only cases that user may see: the
    visibility rule is part of the query (`case_visibility_q`), never a list of ids."""
    from gridlink.cases.permissions import case_visibility_q

    radius = float(radius_m if radius_m is not None else settings.GRIDLINK_DUPLICATE_RADIUS_M)
    dlat = radius / 111_320.0
    dlon = radius / (111_320.0 * max(math.cos(math.radians(case.lat)), 0.01))
    visible = (
        Case.objects.all()
        if visible_to is None
        else Case.objects.filter(case_visibility_q(visible_to))
    )
    candidates = (
        visible.open()
        .filter(category__code=case.category.code, parent__isnull=True)
        .filter(lat__range=(case.lat - dlat, case.lat + dlat))
        .filter(lon__range=(case.lon - dlon, case.lon + dlon))
        .exclude(pk=case.pk)
        .exclude(state=State.REPORTED, pk__gt=case.pk)
        .select_related("category")[:50]
    )
    text = f"{case.title} {case.description}"
    found = []
    for other in candidates:
        d = distance_m(case.lat, case.lon, other.lat, other.lon)
        if (
            d <= radius
            and text_similarity(text, f"{other.title} {other.description}") >= SIMILARITY_MIN
        ):
            other.distance_m = round(d, 1)  # type: ignore[attr-defined]
            found.append(other)
    found.sort(key=lambda c: c.distance_m)  # type: ignore[attr-defined]
    return found


# --- Photos ----------------------------------------------------------------------------------


def photo_upload(*, actor: User | None, upload: Any, field_name: str = "file") -> CasePhoto:
    """Check and store one photo (`gridlink.cases.photos`); it waits, unattached, under a
    random key until a report or a result names it."""
    stored = photo_store(upload=upload, field=field_name)
    try:
        return CasePhoto.objects.create(
            key=secrets.token_hex(16),
            file=stored.name,
            content_type=stored.content_type,
            width=stored.width,
            height=stored.height,
            size=stored.size,
            sha256=stored.sha256,
            uploaded_by=actor if actor is not None and actor.is_authenticated else None,
        )
    except Exception:
        photo_delete(name=stored.name)  # no orphan file when the row cannot be written
        raise


def photos_purge_unattached(*, older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete uploads no report or result claimed within `older_than`."""
    stale = CasePhoto.objects.filter(case__isnull=True, created_at__lt=timezone.now() - older_than)
    count = 0
    for photo in stale.iterator():
        photo_delete(name=photo.file)
        photo.delete()
        count += 1
    return count
