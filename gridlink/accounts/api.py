"""Accounts and role assignments through the API (`/api/v1/admin/…`).

Like the admin's user pages, these are for superusers only: granting a role decides what
someone may see of residents' data. Every write goes through `accounts.services` and is
audited there; bad input is a 400 naming the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field

from gridlink.accounts.models import RoleAssignment, User
from gridlink.accounts.services import role_end, role_grant, user_create, user_update
from gridlink.core.errors import NotPermitted

router = Router(tags=["configuration"])


def require_superuser(request: HttpRequest) -> User:
    """The signed-in (or token) user, if a superuser; otherwise a 403."""
    user = request.user
    if not (isinstance(user, User) and user.is_active and user.is_superuser):
        raise NotPermitted("Only a superuser may change accounts, roles and webhooks.")
    return user


class RoleOut(Schema):
    id: int
    role: str
    area: str | None
    department: str | None
    valid_from: dt.date
    valid_to: dt.date | None
    active: bool


class UserOut(Schema):
    username: str
    display_name: str
    phone: str
    email: str
    is_active: bool
    is_superuser: bool
    roles: list[RoleOut]


class UserPage(Schema):
    items: list[UserOut]
    next_after: str | None


class UserIn(Schema):
    username: str = Field(min_length=1, max_length=150)
    display_name: str = Field("", max_length=100)
    phone: str = Field("", max_length=20)
    email: str = Field("", max_length=254)
    password: str | None = Field(None, min_length=1, max_length=128)
    is_active: bool = True


class UserPatch(Schema):
    display_name: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=20)
    email: str | None = Field(None, max_length=254)
    is_active: bool | None = None


class RoleIn(Schema):
    role: str = Field(min_length=1, max_length=32)
    area: str | None = Field(None, max_length=30, description="area code, for area roles")
    department: str | None = Field(None, max_length=30, description="department code")
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


class RoleEndIn(Schema):
    valid_to: dt.date | None = Field(None, description="last day of the role; default today")


class UserQuery(Schema):
    after: str = Field("", max_length=150, description="username to continue after")
    limit: int = Field(50, ge=1, le=200)


def role_out(a: RoleAssignment) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "id": a.pk,
        "role": a.role,
        "area": a.area.code if a.area else None,
        "department": a.department.code if a.department else None,
        "valid_from": a.valid_from,
        "valid_to": a.valid_to,
        "active": a.valid_from <= today and (a.valid_to is None or a.valid_to >= today),
    }


def user_out(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "phone": user.phone,
        "email": user.email,
        "is_active": user.is_active,
        "is_superuser": user.is_superuser,
        "roles": [role_out(a) for a in user.role_assignments.all()],
    }


def _users() -> Any:
    return User.objects.prefetch_related(
        "role_assignments__area", "role_assignments__department"
    ).order_by("username")


@router.get("/admin/users", response=UserPage)
def users_list(request: HttpRequest, page: Query[UserQuery]) -> dict[str, Any]:
    """Accounts in username order, with their role assignments (keyset paging)."""
    require_superuser(request)
    users = list(_users().filter(username__gt=page.after)[: page.limit + 1])
    more = len(users) > page.limit
    users = users[: page.limit]
    return {
        "items": [user_out(u) for u in users],
        "next_after": users[-1].username if more and users else None,
    }


@router.post("/admin/users", response={201: UserOut})
def users_create(request: HttpRequest, body: UserIn) -> Status[dict[str, Any]]:
    """Create an account (without `password` it signs in only through tokens or SSO)."""
    actor = require_superuser(request)
    user = user_create(actor=actor, **body.dict())
    return Status(201, user_out(_users().get(pk=user.pk)))


@router.get("/admin/users/{username}", response=UserOut)
def users_detail(request: HttpRequest, username: str) -> dict[str, Any]:
    require_superuser(request)
    return user_out(get_object_or_404(_users(), username=username))


@router.patch("/admin/users/{username}", response=UserOut)
def users_update(request: HttpRequest, username: str, body: UserPatch) -> dict[str, Any]:
    """Change display name, phone, e-mail or whether the account is active."""
    actor = require_superuser(request)
    user = get_object_or_404(User, username=username)
    user_update(actor=actor, user=user, changes=body.dict(exclude_none=True))
    return user_out(_users().get(pk=user.pk))


@router.post("/admin/users/{username}/roles", response={201: RoleOut})
def roles_grant(request: HttpRequest, username: str, body: RoleIn) -> Status[dict[str, Any]]:
    """Grant a role within an area subtree (`area`) or a department (`department`)."""
    actor = require_superuser(request)
    user = get_object_or_404(User, username=username)
    assignment = role_grant(
        actor=actor,
        user=user,
        role=body.role,
        area_code=body.area,
        department_code=body.department,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
    )
    return Status(201, role_out(assignment))


@router.post("/admin/roles/{assignment_id}/end", response=RoleOut)
def roles_end(request: HttpRequest, assignment_id: int, body: RoleEndIn) -> dict[str, Any]:
    """End a role assignment (it stays on record as history)."""
    actor = require_superuser(request)
    assignment = get_object_or_404(
        RoleAssignment.objects.select_related("user", "area", "department"), pk=assignment_id
    )
    return role_out(role_end(actor=actor, assignment=assignment, valid_to=body.valid_to))
