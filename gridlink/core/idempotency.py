"""`Idempotency-Key` for API writes that a client may retry after a lost answer: opening a
supervision order, case actions and joint-handling task steps (case intake keeps its own
record, `gridlink.cases.services.intake`).

`idempotent(request, payload=..., run=...)`: without the header, `run()` is just called.
With it, the caller (owner "user:<id>") and the key pick a stored `IdempotentResponse`:

- none yet: `run()` acts and answers; a 2xx answer is stored in the same transaction as the
  change, so either both are written or neither is;
- one with the same fingerprint (sha256 of method, path, `If-Match` and the body): its status,
  body and ETag are sent again with `Idempotent-Replayed: true`, and nothing is done;
- one with another fingerprint: 400 naming `Idempotency-Key`.

Two requests with one key at once: the second waits on the row lock of what it changes (or
on the key's unique index) and then answers as a replay of the first. Refusals (4xx) are not
stored: a retry after one is tried afresh.

Stored answers (and case intake's `IdempotencyRecord`) are kept for
`GRIDLINK_IDEMPOTENCY_RETENTION_HOURS` (48 by default) and then deleted by the periodic
`purge_idempotency_keys` (`idempotency_purge`): a retry inside that window replays, a request
after it with an old key acts as a new one (docs/security.md, "Retries and races").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from gridlink.core.errors import DomainError
from gridlink.core.models import IdempotentResponse

HEADER = "Idempotency-Key"
KEY_MAX = 100
# Every table holding answers to Idempotency-Key requests, with its time column; named, so
# that core does not import the apps that keep their own (case intake).
KEPT_ANSWERS = (
    ("core.IdempotentResponse", "created_at"),
    ("cases.IdempotencyRecord", "created_at"),
)


def _key(request: HttpRequest) -> str:
    key = request.headers.get(HEADER, "").strip()
    if len(key) > KEY_MAX or not key.isprintable():
        raise DomainError(
            _("The Idempotency-Key must be at most %(max)d printable characters.")
            % {"max": KEY_MAX},
            field=HEADER,
        )
    return key


def _owner(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise DomainError(_("Authentication required."), code="unauthenticated")
    return f"user:{user.pk}"


def fingerprint(request: HttpRequest, payload: Any) -> str:
    canonical = json.dumps(
        {
            "method": request.method,
            "path": request.path,
            "if_match": request.headers.get("If-Match", "").strip(),
            "body": payload,
        },
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(owner: str, key: str, fp: str) -> HttpResponse | None:
    record = IdempotentResponse.objects.filter(owner=owner, key=key).first()
    if record is None:
        return None
    if record.fingerprint != fp:
        raise DomainError(
            _("This Idempotency-Key was already used for a different request."),
            code="idempotency_key_reused",
            field=HEADER,
        )
    response = HttpResponse(
        record.body, status=record.status, content_type="application/json; charset=utf-8"
    )
    if record.etag:
        response["ETag"] = record.etag
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(
    request: HttpRequest, *, payload: Any, run: Callable[[], HttpResponse]
) -> HttpResponse:
    """Answer `request` by `run()`, or by the stored answer to an earlier request with the
    same `Idempotency-Key` (see the module docstring)."""
    key = _key(request)
    if not key:
        return run()
    owner = _owner(request)
    fp = fingerprint(request, payload)
    replay = _replay(owner, key, fp)
    if replay is not None:
        return replay
    try:
        with transaction.atomic():
            response = run()
            if 200 <= response.status_code < 300:
                IdempotentResponse.objects.create(
                    owner=owner, key=key, fingerprint=fp, status=response.status_code,
                    body=response.content.decode(), etag=response.get("ETag", ""),
                )  # fmt: skip
    except (DomainError, IntegrityError):
        # A twin with the same key may have won while this one waited: answer as its replay.
        replay = _replay(owner, key, fp)
        if replay is None:
            raise
        return replay
    if not 200 <= response.status_code < 300:
        replay = _replay(owner, key, fp)
        if replay is not None:
            return replay
    return response


def idempotency_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete the stored answers older than `GRIDLINK_IDEMPOTENCY_RETENTION_HOURS`; return how
    many per table. After that a retry with the same key is a new request."""
    before = (now or timezone.now()) - dt.timedelta(
        hours=settings.GRIDLINK_IDEMPOTENCY_RETENTION_HOURS
    )
    deleted: dict[str, int] = {}
    for label, column in KEPT_ANSWERS:
        model = apps.get_model(label)
        count, _by_model = model.objects.filter(**{f"{column}__lt": before}).delete()
        deleted[label] = count
    return deleted


def honours_idempotency_key(view: Callable[..., Any]) -> bool:
    """Whether an API view takes `Idempotency-Key`: it calls `idempotent()` or reads the
    header itself (case intake). Read from the compiled function, so a new view that calls
    `idempotent()` is found without being listed anywhere."""
    import inspect

    code = getattr(inspect.unwrap(view), "__code__", None)
    if code is None:
        return False
    return "idempotent" in code.co_names or HEADER in code.co_consts
