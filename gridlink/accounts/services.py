"""Writes on users, roles and API tokens; each one is audited."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from gridlink.accounts.models import ApiToken, RoleAssignment, User
from gridlink.core.audit import audit_record
from gridlink.core.errors import DomainError


@transaction.atomic
def api_token_create(
    *, actor: User | None, user: User, name: str, days: int | None = None
) -> tuple[ApiToken, str]:
    """Issue a token for `user`; return it and the full secret string (shown once)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise DomainError("A token needs a name of 1–100 characters.", code="name", field="name")
    days = settings.GRIDLINK_API_TOKEN_DAYS if days is None else days
    if days < 1 or days > 3650:
        raise DomainError("A token lives 1–3650 days.", code="days", field="days")
    key_id, secret, full = ApiToken.new_key()
    token = ApiToken(
        user=user, name=name, key_id=key_id, expires_at=timezone.now() + dt.timedelta(days=days)
    )
    token.set_secret(secret)
    token.save()
    audit_record(
        actor=actor,
        action="token.created",
        target_type="api_token",
        target_id=key_id,
        data={"user": user.username, "name": name, "days": days},
    )
    return token, full


@transaction.atomic
def api_token_revoke(*, actor: User | None, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor, action="token.revoked", target_type="api_token", target_id=token.key_id
        )
    return token


def role_assignment_audit(*, actor: User | None, assignment: RoleAssignment, action: str) -> None:
    """Record a grant/change/removal of a role (called by the admin and commands)."""
    audit_record(
        actor=actor,
        action=action,
        target_type="role_assignment",
        target_id=assignment.pk or "",
        data={
            "user": assignment.user.username,
            "role": assignment.role,
            "area": assignment.area.code if assignment.area else None,
            "department": assignment.department.code if assignment.department else None,
            "valid_from": assignment.valid_from.isoformat() if assignment.valid_from else None,
            "valid_to": assignment.valid_to.isoformat() if assignment.valid_to else None,
        },
    )


SECURITY_FIELDS = frozenset(
    {"is_active", "is_staff", "is_superuser", "groups", "user_permissions", "password", "username"}
)


def user_change_audit(
    *, actor: User | None, user: User, changed_fields: list[str], created: bool
) -> None:
    """Record a change to a user account; security-relevant fields are named, never values."""
    audit_record(
        actor=actor,
        action="user.created" if created else "user.changed",
        target_type="user",
        target_id=user.pk,
        data={
            "username": user.username,
            "fields": sorted(changed_fields),
            "security_fields": sorted(SECURITY_FIELDS.intersection(changed_fields)),
            "is_superuser": user.is_superuser,
            "is_staff": user.is_staff,
            "is_active": user.is_active,
        },
    )
