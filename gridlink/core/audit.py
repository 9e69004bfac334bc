"""Write entries to the audit log and the personal-data access log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from gridlink.core.ledger import chain_append
from gridlink.core.models import AccessRecord, AuditEvent

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


def _who(actor: AbstractBaseUser | AnonymousUser | None) -> tuple[int | None, str]:
    if actor is None or not actor.is_authenticated:
        return None, ""
    return int(actor.pk), actor.get_username()


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    target_type: str = "",
    target_id: str | int = "",
    data: dict[str, Any] | None = None,
    ip: str | None = None,
    outcome: str = "success",
) -> AuditEvent:
    actor_id, username = _who(actor)
    return chain_append(
        AuditEvent(
            actor_id=actor_id,
            actor_username=username,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            data=data or {},
            ip=ip,
            outcome=outcome,
        )
    )


def access_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    kind: str,
    subject_type: str,
    subject_ids: Iterable[int],
    fields: Iterable[str],
    purpose: str,
    ip: str | None,
    outcome: str = "success",
) -> AccessRecord:
    actor_id, username = _who(actor)
    return chain_append(
        AccessRecord(
            actor_id=actor_id,
            actor_username=username,
            kind=kind,
            subject_type=subject_type,
            subject_ids=sorted(int(i) for i in subject_ids),
            fields=sorted(fields),
            purpose=purpose,
            ip=ip,
            outcome=outcome,
        )
    )


def client_ip(meta: dict[str, Any]) -> str | None:
    """The caller's address as the server saw it (no proxy headers are trusted)."""
    addr = meta.get("REMOTE_ADDR")
    return str(addr) if addr else None
