"""Reads of the taxonomy. The taxonomy is reference data: every signed-in user may read it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from gridlink.accounts.roles import Role
from gridlink.cases.models import (
    Case,
    CaseEvent,
    CaseQuerySet,
    Category,
    CategoryAttribute,
    TaxonomyVersion,
)
from gridlink.cases.permissions import case_roles, case_visibility_q

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser


def taxonomy_current() -> TaxonomyVersion | None:
    """The current published version (the one new cases are filed under), if any."""
    return TaxonomyVersion.objects.filter(is_current=True).first()


def taxonomy_version(code: str) -> TaxonomyVersion | None:
    return TaxonomyVersion.objects.filter(code=code).first()


def taxonomy_tree(version: TaxonomyVersion) -> list[Category]:
    """The major classes of `version` (components first), each with `.subclasses` loaded."""
    subclasses = Category.objects.order_by("order", "code")
    return list(
        version.categories.majors()
        .prefetch_related(Prefetch("subclasses", queryset=subclasses))
        .order_by("kind", "order", "code")  # "component" < "event": components first
    )


def subclasses_of(
    version: TaxonomyVersion, *, kind: str | None = None, q: str = ""
) -> list[Category]:
    """Sub-classes of `version` with their major class, optionally of one kind and
    matching `q` (in the code, Chinese or English name or keywords of the sub-class or of
    its major class). Each row carries `has_attributes`."""
    qs = (
        version.categories.subclasses()
        .select_related("parent")
        .annotate(
            has_attributes=Exists(CategoryAttribute.objects.filter(category_id=OuterRef("pk")))
        )
    )
    if kind:
        qs = qs.filter(kind=kind)
    for word in q.split():
        match = Q()
        for field in ("name_zh", "name_en", "keywords_zh", "keywords_en"):
            match |= Q(**{f"{field}__icontains": word}) | Q(**{f"parent__{field}__icontains": word})
        match |= Q(code__iexact=word) | Q(parent__code__iexact=word)
        qs = qs.filter(match)
    return list(qs.order_by("code"))


def subclass_detail(version: TaxonomyVersion, code: str) -> Category | None:
    """One sub-class of `version` with its major class and its attributes loaded."""
    attributes = CategoryAttribute.objects.order_by("order", "code")
    return (
        version.categories.subclasses()
        .select_related("parent")
        .prefetch_related(Prefetch("attributes", queryset=attributes))
        .filter(code=code)
        .first()
    )


# --- Cases -----------------------------------------------------------------------------------


def case_list_visible_to(actor: AnyUser) -> CaseQuerySet:
    """Cases `actor` may see (`gridlink.cases.permissions.case_visibility_q`)."""
    return Case.objects.filter(case_visibility_q(actor))


def case_get_visible(actor: AnyUser, case_id: int) -> Case | None:
    return (
        case_list_visible_to(actor)
        .select_related(
            "grid", "category__parent", "unit_department", "unit_area", "handled_by", "parent"
        )
        .filter(pk=case_id)
        .first()
    )


def case_by_tracking_code(code: str) -> Case | None:
    code = code.strip().upper()
    if not code or len(code) > 16:
        return None
    return (
        Case.objects.select_related("category", "grid", "parent", "unit_department", "unit_area")
        .filter(tracking_code=code)
        .first()
    )


def case_public_events(case: Case) -> QuerySet[CaseEvent]:
    """The public timeline: the case's own, then (once merged) its parent's."""
    q = Q(case=case)
    if case.parent_id is not None:
        q |= Q(case_id=case.parent_id)
    return CaseEvent.objects.filter(q, public=True).order_by("created_at", "id")


def case_events_for(actor: AnyUser | None, case: Case) -> QuerySet[CaseEvent]:
    """Staff see the whole timeline; a reporter only the public one."""
    if actor is not None and (case_roles(actor, case) - {Role.RESIDENT} or actor.is_superuser):
        return case.events.select_related("actor").order_by("id")
    return case_public_events(case)
