"""Writes with side effects on the base registry: unmasking with purpose."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from gridlink.accounts.permissions import can_in_area
from gridlink.accounts.roles import Cap
from gridlink.core.audit import access_record
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.registry.masking import MASKED_FIELDS
from gridlink.registry.models import Organisation, Resident

if TYPE_CHECKING:
    from gridlink.accounts.models import User

PURPOSE_MIN, PURPOSE_MAX = 4, 200


def clean_purpose(purpose: str) -> str:
    purpose = (purpose or "").strip()
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
