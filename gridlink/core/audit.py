"""Write entries to the audit log and the personal-data access log."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings

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
            ip=canonical_ip(ip),
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
            ip=canonical_ip(ip),
            outcome=outcome,
        )
    )


def canonical_ip(value: str | None) -> str | None:
    """An IP address in the form the database stores it, or None if it is not one."""
    if not value:
        return None
    try:
        return ipaddress.ip_address(value.strip()).compressed
    except ValueError:
        return None


def client_ip(meta: dict[str, Any]) -> str | None:
    """The caller's address.

    `REMOTE_ADDR`, unless it is one of `GRIDLINK_TRUSTED_PROXIES`: then the right-most
    address in X-Forwarded-For that is not itself a trusted proxy.
    """
    remote = canonical_ip(str(meta.get("REMOTE_ADDR") or ""))
    trusted = [ipaddress.ip_network(n, strict=False) for n in settings.GRIDLINK_TRUSTED_PROXIES]

    def is_trusted(addr: str) -> bool:
        ip = ipaddress.ip_address(addr)
        return any(ip in net for net in trusted)

    if remote is None or not trusted or not is_trusted(remote):
        return remote
    hops = [canonical_ip(h) for h in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    for hop in reversed(hops):
        if hop is None:
            return remote  # a malformed hop: trust nothing beyond the proxy
        if not is_trusted(hop):
            return hop
    return remote
