"""Rate limits shared by every app server: one table of limits, one atomic statement.

Each limit (`LIMITS`) allows `count` requests per client per window. A client's window
starts with its first request and lasts `window` seconds (a fixed window per client); the
count lives in one `RateBucket` row in the database, so all gunicorn processes and threads
share it. A request is counted with a single statement, on SQLite and PostgreSQL alike:

    INSERT … ON CONFLICT (key) DO UPDATE SET hits = hits + 1 (or 1 in a new window)
    RETURNING hits, window_ends_at

The database serialises concurrent statements on the one row, so each request sees its own
count and exactly `count` of them pass, however many arrive at once. A refused request is
counted too (harmlessly: the window does not move), and its `Retry-After` is the true number
of seconds until the window ends. Rows of ended windows are removed by the periodic
`purge_rate_buckets` job (`core/tasks.py`).

Clients are named by `client_key`: a keyed hash of the account or the address, so no raw IP
or username is stored. The statement runs in the caller's transaction if there is one; the
callers count before they open theirs, so a refused or failed request still counts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gridlink.core.errors import DomainError
from gridlink.core.models import RateBucket

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


@dataclass(frozen=True)
class Limit:
    """`count()` requests per client every `window()` seconds (read from settings at call
    time); `message` is the refusal, with `%(s)s` for the seconds to wait."""

    count: Callable[[], int]
    window: Callable[[], int]
    message: Promise


def _setting(name: str, factor: int = 1) -> Callable[[], int]:
    return lambda: int(getattr(settings, name)) * factor


def _fixed(seconds: int) -> Callable[[], int]:
    return lambda: seconds


HOUR = 3600
_TRY_AGAIN = _("Too many requests from this client; try again in %(s)s seconds.")

# Every rate limit of gridlink, by name. Who counts as "the client" is the caller's choice:
# the account when signed in, else the address (`client_key`), or an Open311 application.
LIMITS: dict[str, Limit] = {
    # Case intake, one limit per channel (see CHANNEL_RULES in cases/services/intake.py).
    "intake.public": Limit(
        _setting("GRIDLINK_INTAKE_RATE_PER_HOUR"),
        _fixed(HOUR),
        _("Too many reports from this client; try again in %(s)s seconds."),
    ),
    "intake.open311": Limit(_setting("GRIDLINK_OPEN311_RATE_PER_HOUR"), _fixed(HOUR), _TRY_AGAIN),
    "intake.staff": Limit(
        _setting("GRIDLINK_STAFF_INTAKE_RATE_PER_HOUR"), _fixed(HOUR), _TRY_AGAIN
    ),
    # Public tracking: looking a case up by its code, and rating it.
    "track.lookup": Limit(_setting("GRIDLINK_TRACK_RATE_PER_HOUR"), _fixed(HOUR), _TRY_AGAIN),
    "track.feedback": Limit(_setting("GRIDLINK_FEEDBACK_RATE_PER_HOUR"), _fixed(HOUR), _TRY_AGAIN),
    # Photo uploads (each photo counts once), on every path that decodes one.
    "photo.upload": Limit(_setting("GRIDLINK_UPLOAD_RATE_PER_HOUR"), _fixed(HOUR), _TRY_AGAIN),
    # Registry creates refused as outside the caller's scope (they may reveal a record).
    "registry.refusal": Limit(
        _setting("GRIDLINK_REGISTRY_REFUSALS_PER_HOUR"), _fixed(HOUR), _TRY_AGAIN
    ),
    # Failed sign-ins per username, and five times as many per address.
    "login.username": Limit(
        _setting("GRIDLINK_LOGIN_MAX_FAILURES"),
        _setting("GRIDLINK_LOGIN_LOCK_SECONDS"),
        _TRY_AGAIN,
    ),
    "login.address": Limit(
        _setting("GRIDLINK_LOGIN_MAX_FAILURES", 5),
        _setting("GRIDLINK_LOGIN_LOCK_SECONDS"),
        _TRY_AGAIN,
    ),
}


class RateLimited(DomainError):
    """429: the client used up `limit`; `retry_after` is the seconds until its window ends."""

    status = 429

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(
            message or gettext(str(_TRY_AGAIN)) % {"s": retry_after}, code="rate_limited"
        )
        self.retry_after = retry_after


def client_key(
    *, actor: AbstractBaseUser | AnonymousUser | None = None, ip: str | None = None
) -> str:
    """A keyed hash naming the client: the account when signed in, else the address."""
    raw = f"user:{actor.pk}" if actor is not None and actor.is_authenticated else f"ip:{ip}"
    return named_client(raw)


def named_client(raw: str) -> str:
    """A keyed hash of any client name (e.g. "open311:<key id>", "username:<name>")."""
    return hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()[:32]


def _key(limit: str, client: str) -> str:
    if limit not in LIMITS:
        raise KeyError(f"unknown rate limit {limit!r}")
    return f"{limit}:{client}"[:120]


def _aware(value: Any) -> dt.datetime:
    """A datetime as the database returned it (SQLite: text in UTC) → an aware datetime."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        parsed = parse_datetime(str(value))
        if parsed is None:
            raise ValueError(f"not a datetime: {value!r}")
        moment = parsed
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=dt.UTC)


def _wait(ends_at: dt.datetime, now: dt.datetime) -> int:
    return max(1, math.ceil((ends_at - now).total_seconds()))


def rate_count(limit: str, *, client: str, now: dt.datetime | None = None) -> tuple[int, int]:
    """Count one request of `client` against `limit` (one atomic statement); return
    (requests in the window including this one, seconds until the window ends)."""
    now = now or timezone.now()
    ends_at = now + dt.timedelta(seconds=LIMITS[limit].window())
    table = connection.ops.quote_name(RateBucket._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    key, hits, ends = (connection.ops.quote_name(c) for c in ("key", "hits", "window_ends_at"))
    # Identifiers are our own; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({key}, {hits}, {ends}) VALUES (%s, 1, %s) "  # noqa: S608  # nosec B608
        f"ON CONFLICT ({key}) DO UPDATE SET "
        f"{hits} = CASE WHEN {table}.{ends} <= %s THEN 1 ELSE {table}.{hits} + 1 END, "
        f"{ends} = CASE WHEN {table}.{ends} <= %s THEN excluded.{ends} ELSE {table}.{ends} END "
        f"RETURNING {hits}, {ends}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_key(limit, client), adapt(ends_at), adapt(now), adapt(now)])
        count, window_ends_at = cursor.fetchone()
    return int(count), _wait(_aware(window_ends_at), now)


def rate_hit(limit: str, *, client: str, now: dt.datetime | None = None) -> None:
    """Count one request; raise `RateLimited` (429, true `Retry-After`) beyond the limit."""
    hits, wait = rate_count(limit, client=client, now=now)
    if hits > LIMITS[limit].count():
        raise RateLimited(wait, gettext(str(LIMITS[limit].message)) % {"s": wait})


def rate_peek(limit: str, *, client: str, now: dt.datetime | None = None) -> int | None:
    """Seconds to wait if `client` has used up `limit` now, else None (counts nothing)."""
    now = now or timezone.now()
    bucket = RateBucket.objects.filter(key=_key(limit, client), window_ends_at__gt=now).first()
    if bucket is None or bucket.hits < LIMITS[limit].count():
        return None
    return _wait(bucket.window_ends_at, now)


def rate_refund(limit: str, *, client: str, now: dt.datetime | None = None) -> None:
    """Give back one counted request (e.g. a sign-in that turned out right)."""
    now = now or timezone.now()
    RateBucket.objects.filter(key=_key(limit, client), window_ends_at__gt=now, hits__gt=0).update(
        hits=F("hits") - 1
    )


def rate_buckets_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the buckets whose window has ended; return how many."""
    now = now or timezone.now()
    deleted, _by_model = RateBucket.objects.filter(window_ends_at__lte=now).delete()
    return deleted
