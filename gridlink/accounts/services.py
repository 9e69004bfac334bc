"""Writes on users, roles and API tokens; each one is audited."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from gridlink.accounts.models import ApiToken, RoleAssignment, User
from gridlink.core.audit import audit_record
from gridlink.core.errors import DomainError, changes_apply


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


# --- Accounts and role assignments through the API (superusers, like the admin) ----------

USER_FIELDS = ("display_name", "phone", "email", "is_active")


def _clean_user(user: User, *, exclude: list[str] | None = None) -> None:
    from django.core.exceptions import ValidationError

    try:
        user.full_clean(exclude=["password", *(exclude or [])])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(str(messages[0]), code="invalid", field=field) from None


def _check_phone(phone: str) -> None:
    from django.core.exceptions import ValidationError

    from gridlink.core.validators import validate_mobile

    if phone:
        try:
            validate_mobile(phone)
        except ValidationError as exc:
            raise DomainError(exc.messages[0], code="invalid", field="phone") from None


def _check_password(password: str, user: User) -> None:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), code="weak_password", field="password") from None


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    display_name: str = "",
    phone: str = "",
    email: str = "",
    password: str | None = None,
    is_active: bool = True,
) -> User:
    """Create a staff or resident account. Without a password the account cannot sign in
    with one (it can still hold API tokens). Raises `DomainError` naming the field."""
    user = User(
        username=username.strip(),
        display_name=display_name.strip(),
        phone=phone.strip(),
        email=email.strip(),
        is_active=is_active,
    )
    _check_phone(user.phone)
    _clean_user(user)
    if password is None:
        user.set_unusable_password()
    else:
        _check_password(password, user)
        user.set_password(password)
    user.save()
    user_change_audit(
        actor=actor,
        user=user,
        changed_fields=["username", "password", *[f for f in USER_FIELDS if getattr(user, f)]],
        created=True,
    )
    return user


@transaction.atomic
def user_update(*, actor: User | None, user: User, changes: dict[str, object]) -> User:
    """Change the fields of `USER_FIELDS` given in `changes` (others are refused)."""
    changed = changes_apply(user, changes, USER_FIELDS)
    if not changed:
        return user
    _check_phone(user.phone)
    _clean_user(user, exclude=["username"])
    user.save(update_fields=changed)
    user_change_audit(actor=actor, user=user, changed_fields=changed, created=False)
    return user


@transaction.atomic
def role_grant(
    *,
    actor: User | None,
    user: User,
    role: str,
    area_code: str | None = None,
    department_code: str | None = None,
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
) -> RoleAssignment:
    """Give `user` a role within one area subtree or one department (the scope the role
    needs: department roles a department, the others an area)."""
    from django.core.exceptions import ValidationError

    from gridlink.accounts.roles import DEPARTMENT_ROLES, Role
    from gridlink.geo.models import Area, Department

    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}.", code="unknown", field="role")
    if bool(area_code) == bool(department_code):
        raise DomainError(
            "A role is held in exactly one area or one department.", code="scope", field="area"
        )
    if role in DEPARTMENT_ROLES and not department_code:
        raise DomainError("This role is held in a department.", code="scope", field="department")
    if role not in DEPARTMENT_ROLES and not area_code:
        raise DomainError("This role is held in an area.", code="scope", field="area")
    area = department = None
    if area_code:
        area = Area.objects.filter(code=area_code).first()
        if area is None:
            raise DomainError(f"No area {area_code!r}.", code="not_found", field="area")
    if department_code:
        department = Department.objects.filter(code=department_code).first()
        if department is None:
            raise DomainError(
                f"No department {department_code!r}.", code="not_found", field="department"
            )
    start = valid_from or timezone.localdate()
    if valid_to is not None and valid_to < start:
        raise DomainError("The role ends before it starts.", code="range", field="valid_to")
    # The model's unique constraint never fires (one scope column is always NULL, and NULLs
    # are distinct), and an ended role may be granted again later: refuse an overlap here.
    overlapping = RoleAssignment.objects.filter(
        user=user, role=role, area=area, department=department
    ).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=start))
    if valid_to is not None:
        overlapping = overlapping.filter(valid_from__lte=valid_to)
    if overlapping.exists():
        raise DomainError(
            "The user already holds this role in this scope for these dates.",
            code="duplicate",
            field="role",
        )
    assignment = RoleAssignment(
        user=user, role=role, area=area, department=department, valid_from=start, valid_to=valid_to
    )
    try:
        assignment.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        field = "role" if field == "__all__" else field
        raise DomainError(str(messages[0]), code="invalid", field=field) from None
    assignment.save()
    role_assignment_audit(actor=actor, assignment=assignment, action="role.granted")
    return assignment


@transaction.atomic
def role_end(
    *, actor: User | None, assignment: RoleAssignment, valid_to: dt.date | None = None
) -> RoleAssignment:
    """End a role on `valid_to` (default today); the assignment stays as history."""
    end = valid_to or timezone.localdate()
    if end < assignment.valid_from:
        raise DomainError("The role would end before it started.", code="range", field="valid_to")
    if assignment.valid_to is not None and assignment.valid_to <= end:
        return assignment
    assignment.valid_to = end
    assignment.save(update_fields=["valid_to"])
    role_assignment_audit(actor=actor, assignment=assignment, action="role.ended")
    return assignment
