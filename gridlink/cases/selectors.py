"""Reads of the taxonomy. The taxonomy is reference data: every signed-in user may read it."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q

from gridlink.cases.models import Category, CategoryAttribute, TaxonomyVersion


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
