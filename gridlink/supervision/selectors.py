"""Scoped reads of supervision orders, and the counts the assessment schemes use.

`orders_visible_to` is the one visibility rule: supervisors see orders on targets in their
area scope (and orders they opened); a unit sees the orders addressed to it — the same
people who may respond (`gridlink.supervision.permissions`). Superusers see all. An order
outside the caller's view is "not found".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gridlink.accounts.permissions import area_roles, department_roles
from gridlink.accounts.roles import DEPARTMENT_ROLES, Role
from gridlink.core.errors import DomainError
from gridlink.geo.models import Area, Department
from gridlink.supervision.models import OrderQuerySet, SupervisionOrder
from gridlink.supervision.permissions import AREA_UNIT_ROLES, CASE_UNIT_AREA_ROLES

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser

UNIT_KINDS = ("department", "area")


def _department_serves_q(paths: list[str]) -> Q:
    """Orders on a department serving an area inside one of `paths`."""
    if not paths:
        return Q(pk__in=[])
    inside = Q()
    for path in paths:
        inside |= Q(path__startswith=path)
    served = Area.objects.filter(inside, departments=OuterRef("department_id"))
    return Q(Exists(served))


def orders_visible_to(actor: AnyUser) -> OrderQuerySet:
    """The orders `actor` may see."""
    orders = SupervisionOrder.objects.all()
    if not actor.is_authenticated or not actor.is_active:
        return orders.none()
    if actor.is_superuser:
        return orders
    q = Q(opened_by_id=actor.pk)
    supervisor = [path for role, path in area_roles(actor) if role == Role.SUPERVISOR]
    for path in supervisor:
        q |= Q(case__grid__path__startswith=path) | Q(area__path__startswith=path)
    if supervisor:
        q |= _department_serves_q(supervisor)
    for role, path in area_roles(actor):
        if role in CASE_UNIT_AREA_ROLES:
            q |= Q(case__grid__path__startswith=path) | Q(case__unit_area__path__startswith=path)
        if role in AREA_UNIT_ROLES:
            q |= Q(area__path__startswith=path)
    departments = sorted({d for role, d in department_roles(actor) if role in DEPARTMENT_ROLES})
    if departments:
        q |= Q(department_id__in=departments) | Q(case__unit_department_id__in=departments)
    return orders.filter(q)


def order_get_visible(actor: AnyUser, order_id: int) -> SupervisionOrder | None:
    return (
        orders_visible_to(actor)
        .select_related(
            "case__grid",
            "case__unit_area",
            "department",
            "area",
            "opened_by",
            "responded_by",
            "closed_by",
        )
        .filter(pk=order_id)
        .first()
    )


def _instant(value: dt.date | dt.datetime) -> dt.datetime:
    """A date means the start of that day in local time."""
    if isinstance(value, dt.datetime):
        return value
    return timezone.make_aware(dt.datetime.combine(value, dt.time.min))


def order_counts_for_unit(
    *,
    unit_kind: str,
    unit_id: int,
    start: dt.date | dt.datetime,
    end: dt.date | dt.datetime,
    subtree: bool = False,
) -> dict[str, int]:
    """Orders held against one unit that were opened in [start, end) — `end` excluded; a
    date means the start of that local day — and how many of them went overdue and were
    escalated (by the time of the call). `unit_kind` is "department" or "area"; with
    `subtree`, an area's descendants count too. Orders on a case count against the unit that
    handled the case when the order was opened (see `SupervisionOrder`)."""
    if unit_kind not in UNIT_KINDS:
        raise DomainError(
            _("The unit kind is department or area."), code="invalid", field="unit_kind"
        )
    start_at, end_at = _instant(start), _instant(end)
    if start_at >= end_at:
        raise DomainError(_("The period ends before it starts."), code="invalid", field="end")
    orders = SupervisionOrder.objects.filter(opened_at__gte=start_at, opened_at__lt=end_at)
    if unit_kind == "department":
        if not Department.objects.filter(pk=unit_id).exists():
            raise DomainError(_("No such department."), code="not_found", field="unit_id")
        orders = orders.filter(accountable_department_id=unit_id)
    else:
        area = Area.objects.filter(pk=unit_id).only("path").first()
        if area is None:
            raise DomainError(_("No such area."), code="not_found", field="unit_id")
        if subtree:
            orders = orders.filter(accountable_area__path__startswith=area.path)
        else:
            orders = orders.filter(accountable_area_id=unit_id)
    counts = orders.aggregate(
        opened=Count("pk"),
        overdue=Count("pk", filter=Q(overdue=True)),
        escalated=Count("pk", filter=Q(escalated=True)),
    )
    return {key: int(counts[key] or 0) for key in ("opened", "overdue", "escalated")}


def order_counts_for_units(
    *,
    departments: Iterable[int],
    areas: Iterable[str],
    start: dt.date | dt.datetime,
    end: dt.date | dt.datetime,
) -> dict[str, dict[str, int]]:
    """`order_counts_for_unit` of many units in one query: departments by id (the orders
    held against them), areas by path (their whole subtree). Keyed `dept:<id>` and the area
    path."""
    start_at, end_at = _instant(start), _instant(end)
    wanted_departments = set(departments)
    wanted_areas = set(areas)
    counts: dict[str, dict[str, int]] = {}

    def bump(key: str, overdue: bool, escalated: bool) -> None:
        c = counts.setdefault(key, {"opened": 0, "overdue": 0, "escalated": 0})
        c["opened"] += 1
        c["overdue"] += int(overdue)
        c["escalated"] += int(escalated)

    rows = SupervisionOrder.objects.filter(opened_at__gte=start_at, opened_at__lt=end_at).values(
        "accountable_department_id", "accountable_area__path", "overdue", "escalated"
    )
    for row in rows:
        department = row["accountable_department_id"]
        if department in wanted_departments:
            bump(f"dept:{department}", row["overdue"], row["escalated"])
        path = str(row["accountable_area__path"] or "")
        parts = [p for p in path.strip("/").split("/") if p]
        for n in range(1, len(parts) + 1):
            prefix = "/" + "/".join(parts[:n]) + "/"
            if prefix in wanted_areas:
                bump(prefix, row["overdue"], row["escalated"])
    return counts
