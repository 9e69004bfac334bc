"""Reads and writes with side effects on the base registry: unmasking and identifier
lookups, each with a stated purpose and an access-log entry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gridlink.accounts.permissions import can_in_area, has_capability, scope_q
from gridlink.accounts.roles import Cap
from gridlink.core.audit import access_record
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.core.validators import normalise_id_number, validate_id_number, validate_mobile
from gridlink.registry.masking import MASKED_FIELDS
from gridlink.registry.models import Organisation, Resident
from gridlink.registry.selectors import residents_visible_to

if TYPE_CHECKING:
    from gridlink.accounts.models import User

PURPOSE_MIN, PURPOSE_MAX = 4, 200


def clean_purpose(purpose: str) -> str:
    purpose = (purpose or "").strip()
    if "\x00" in purpose:
        raise DomainError(_("The purpose contains a NUL character."), code="nul", field="purpose")
    if len(purpose) < PURPOSE_MIN:
        raise DomainError(
            _("State the purpose (a case number or a task), at least %(n)d characters.")
            % {"n": PURPOSE_MIN},
            code="purpose_required",
            field="purpose",
        )
    if len(purpose) > PURPOSE_MAX:
        raise DomainError(
            _("The purpose may have at most %(n)d characters.") % {"n": PURPOSE_MAX},
            code="purpose_too_long",
            field="purpose",
        )
    return purpose


def record_unmask(
    *,
    actor: User,
    record: Resident | Organisation,
    fields: Iterable[str] | None,
    purpose: str,
    ip: str | None,
) -> dict[str, str]:
    """Reveal masked fields of one record to `actor`, logging the access either way.

    The caller has already fetched `record` through a scoped selector, so it is visible;
    this checks the stronger unmask capability and the purpose.
    """
    kind = "resident" if isinstance(record, Resident) else "organisation"
    maskable = MASKED_FIELDS[kind]
    wanted = list(fields) if fields else list(maskable)
    unknown = [f for f in wanted if f not in maskable]
    if unknown:
        raise DomainError(
            _("These fields cannot be unmasked: %(fields)s. Choose from: %(allowed)s.")
            % {"fields": ", ".join(unknown), "allowed": ", ".join(maskable)},
            code="unknown_field",
            field="fields",
        )
    purpose = clean_purpose(purpose)
    allowed = can_in_area(actor, Cap.REGISTRY_UNMASK, record.grid)
    with transaction.atomic():
        access_record(
            actor=actor,
            kind="unmask",
            subject_type=kind,
            subject_ids=[record.pk],
            fields=wanted,
            purpose=purpose,
            ip=ip,
            outcome="success" if allowed else "denied",
        )
    if not allowed:
        raise NotPermitted(_("Your role may not unmask personal data here."), code="unmask_denied")
    return {name: str(getattr(record, name)) for name in wanted}


def resident_lookup(
    *,
    actor: User,
    purpose: str,
    ip: str | None,
    id_number: str = "",
    phone: str = "",
) -> list[Resident]:
    """Find residents by an exact ID number or phone: allowed where the actor may unmask.

    Knowing who owns an identifier is as revealing as unmasking it, so a lookup needs the
    unmask capability and a purpose, searches only where the actor may unmask, and writes
    an access-log entry (kind "lookup") whether or not anything is found or allowed.
    """
    id_number = normalise_id_number(id_number or "")
    phone = (phone or "").strip()
    field = "id_number" if id_number else "phone"
    if not has_capability(actor, Cap.REGISTRY_UNMASK):
        # Refused before any validation, so every attempt by such a user is logged.
        with transaction.atomic():
            access_record(
                actor=actor,
                kind="lookup",
                subject_type="resident",
                subject_ids=[],
                fields=[field],
                purpose=(purpose or "").strip().replace("\x00", "")[:PURPOSE_MAX],
                ip=ip,
                outcome="denied",
            )
        raise NotPermitted(
            _("Your role may not look people up by ID number or phone."), code="lookup_denied"
        )
    if bool(id_number) == bool(phone):
        raise DomainError(
            _("Give either an ID number or a mobile number."),
            code="one_identifier",
            field="id_number",
        )
    try:
        if id_number:
            validate_id_number(id_number)
        else:
            validate_mobile(phone)
    except ValidationError as exc:
        raise DomainError(exc.messages[0], code="invalid", field=field) from None
    purpose = clean_purpose(purpose)
    qs = residents_visible_to(actor).filter(scope_q(actor, Cap.REGISTRY_UNMASK))
    found = list(qs.filter(**{field: id_number or phone}).prefetch_related("tags")[:20])
    with transaction.atomic():
        access_record(
            actor=actor,
            kind="lookup",
            subject_type="resident",
            subject_ids=[r.pk for r in found],
            fields=[field],
            purpose=purpose,
            ip=ip,
        )
    return found
