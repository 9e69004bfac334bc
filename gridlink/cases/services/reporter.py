"""The reporter's contact details: shown masked everywhere (`reporter_masked`), revealed only
through `case_reporter_unmask` — with the permission and a stated purpose, logged in the
access log exactly like the registry's unmask (`gridlink.registry.services.record_unmask`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from gridlink.cases.permissions import can_unmask_reporter
from gridlink.core.audit import access_record
from gridlink.core.errors import NotPermitted
from gridlink.registry.masking import mask_email, mask_name, mask_phone
from gridlink.registry.services import clean_purpose

if TYPE_CHECKING:
    from gridlink.accounts.models import User
    from gridlink.cases.models import Case

REPORTER_FIELDS = ("reporter_name", "reporter_phone", "reporter_email")


def reporter_masked(case: Case) -> dict[str, Any]:
    """The reporter as every view, export and API response shows them (masked)."""
    if case.anonymous:
        return {"anonymous": True, "name": "", "phone": "", "email": "", "has_email": False}
    return {
        "anonymous": False,
        "name": mask_name(case.reporter_name),
        "phone": mask_phone(case.reporter_phone),
        "email": mask_email(case.reporter_email),
        "has_email": bool(case.reporter_email),
    }


def case_reporter_unmask(
    *, actor: User, case: Case, purpose: str, ip: str | None
) -> dict[str, str]:
    """Reveal the reporter's name, phone and e-mail of `case` (already fetched through a
    scoped selector) to `actor`, logging the access either way (kind "unmask", subject
    "case_reporter")."""
    purpose = clean_purpose(purpose)
    allowed = can_unmask_reporter(actor, case)
    with transaction.atomic():
        access_record(
            actor=actor,
            kind="unmask",
            subject_type="case_reporter",
            subject_ids=[case.pk],
            fields=list(REPORTER_FIELDS),
            purpose=purpose,
            ip=ip,
            outcome="success" if allowed else "denied",
        )
    if not allowed:
        raise NotPermitted(
            _("Your role may not unmask a reporter's contact details on this case."),
            code="unmask_denied",
            field="purpose",
        )
    return {
        "name": case.reporter_name,
        "phone": case.reporter_phone,
        "email": case.reporter_email,
    }
