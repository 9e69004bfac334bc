"""Writes of the Open311 interface: client application keys, and service requests, which
enter the normal intake of the case workflow (channel "open311") with its validation,
duplicate check and Idempotency-Key."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridlink.cases.attributes import attribute_value_from_text
from gridlink.cases.models import CasePhoto, CategoryAttribute, Channel
from gridlink.cases.photos import photo_delete
from gridlink.cases.selectors import taxonomy_current
from gridlink.cases.services.intake import Created, Report, case_create, photo_upload
from gridlink.core.audit import audit_record
from gridlink.core.errors import DomainError
from gridlink.core.ratelimit import RateLimited, named_client, rate_hit, rate_peek
from gridlink.open311.models import KEY_PREFIX, ClientApplication
from gridlink.open311.params import NewRequest

if TYPE_CHECKING:
    from gridlink.accounts.models import User

DEMO_APPLICATION_NAME = "演示区居民应用 (demo)"
REQUEST_CREATED = "open311.request_created"


# --- Client applications ----------------------------------------------------------------------


@transaction.atomic
def client_application_create(*, actor: User | None, name: str) -> tuple[ClientApplication, str]:
    """Issue an API key for a new client application; return it and the key (shown once)."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise DomainError(
            _("An application needs a name of 1–100 characters."), code="name", field="name"
        )
    key_id, secret, api_key = ClientApplication.new_key()
    application = ClientApplication(name=name, key_id=key_id)
    application.set_secret(secret)
    application.save()
    audit_record(
        actor=actor,
        action="open311.key_created",
        target_type="open311_application",
        target_id=key_id,
        data={"name": name},
    )
    return application, api_key


@transaction.atomic
def client_application_revoke(
    *, actor: User | None, application: ClientApplication
) -> ClientApplication:
    """Revoke the application's key; a revoked key stays on record and never works again."""
    if application.revoked_at is None:
        application.revoked_at = timezone.now()
        application.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="open311.key_revoked",
            target_type="open311_application",
            target_id=application.key_id,
        )
    return application


# The demo district's application has a fixed, published key (like the demo password), so
# `make run` can print it every time. Never use it outside the demo.
DEMO_KEY_ID = "demo01"
DEMO_SECRET = "gridlink-demo-open311"  # noqa: S105  (published on purpose, demo only)
DEMO_API_KEY = f"{KEY_PREFIX}_{DEMO_KEY_ID}_{DEMO_SECRET}"


@transaction.atomic
def client_application_ensure_demo() -> tuple[ClientApplication, str]:
    """The demo district's client application and its (published) key; idempotent."""
    existing = ClientApplication.objects.filter(key_id=DEMO_KEY_ID).first()
    if existing is not None:
        return existing, DEMO_API_KEY
    application = ClientApplication(name=DEMO_APPLICATION_NAME, key_id=DEMO_KEY_ID)
    application.set_secret(DEMO_SECRET)
    application.save()
    audit_record(
        actor=None,
        action="open311.key_created",
        target_type="open311_application",
        target_id=DEMO_KEY_ID,
        data={"name": DEMO_APPLICATION_NAME, "demo": True},
    )
    return application, DEMO_API_KEY


# --- Service requests ---------------------------------------------------------------------------


def _typed_attributes(service_code: str, given: dict[str, list[str]]) -> dict[str, Any]:
    """Open311 sends every attribute as text; the intake checks typed values."""
    version = taxonomy_current()
    datatypes = dict(
        CategoryAttribute.objects.filter(
            category__version=version, category__code=service_code.upper()
        ).values_list("code", "datatype")
    )
    return {
        code: attribute_value_from_text(datatypes.get(code), values)
        for code, values in given.items()
    }


def service_request_create(
    *,
    application: ClientApplication,
    new: NewRequest,
    media: Any = None,
    ip: str | None = None,
    idempotency_key: str = "",
    now: dt.datetime | None = None,
) -> Created:
    """Create a case from an Open311 `POST requests` on behalf of `application` (the actor:
    no signed-in user). The request counts against the application's limit
    (`GRIDLINK_OPEN311_RATE_PER_HOUR`, through the intake's channel rule), a photo also
    against its upload limit. `media` is an uploaded photo (the multipart extension). A given
    `media_url` is kept as the description's last line: gridlink stores only photos whose
    bytes it has checked itself, and does not fetch other servers' URLs."""
    now = now or timezone.now()
    description = new.description
    if new.media_url:
        description = f"{description}\n{new.media_url}" if description else new.media_url
    photo: CasePhoto | None = None
    if media is not None:
        client = named_client(f"open311:{application.key_id}")
        wait = rate_peek("intake.open311", client=client)
        if wait is not None:  # no photo is decoded for a request the intake would refuse
            raise RateLimited(wait)
        rate_hit("photo.upload", client=client)
        photo = photo_upload(actor=None, upload=media, field_name="media")
    report = Report(
        channel=Channel.OPEN311,
        category_code=new.service_code,
        description=description,
        lat=new.lat,
        lon=new.lon,
        address=new.address_string,
        building_code=new.address_id,
        attributes=_typed_attributes(new.service_code, new.attributes),
        photo_keys=[photo.key] if photo is not None else [],
        reporter_name=" ".join(p for p in (new.first_name, new.last_name) if p)[:50],
        reporter_phone=new.phone,
        reporter_email=new.email,
        anonymous=not (new.email or new.phone or new.first_name or new.last_name),
    )
    try:
        created = case_create(
            actor=None,
            report=report,
            ip=ip,
            idempotency_key=idempotency_key,
            application=application.key_id,
            now=now,
        )
    except Exception:
        if photo is not None:  # nothing is kept of a refused request
            photo_delete(name=photo.file)
            photo.delete()
        raise
    if not created.replayed:
        audit_record(
            actor=None,
            action=REQUEST_CREATED,
            target_type="open311_application",
            target_id=application.key_id,
            data={"case": created.case.pk},
            ip=ip,
        )
    ClientApplication.objects.filter(pk=application.pk).update(last_used_at=now)
    return created
