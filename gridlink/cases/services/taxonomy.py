"""Writes to the taxonomy: load a file as a version, publish a version.

`actor` is the acting user; None means the operator at the command line (`gridlink
taxonomy`), who is trusted like a superuser. Everyone else needs superuser status or the
reference.edit capability.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from gridlink.accounts.permissions import has_capability
from gridlink.accounts.roles import Cap
from gridlink.cases.models import STAGES, Category, CategoryAttribute, TaxonomyVersion
from gridlink.cases.taxonomy_file import (
    MajorIn,
    SubclassIn,
    TaxonomyFile,
    TaxonomyFileError,
    parse_taxonomy,
)
from gridlink.core.audit import audit_record
from gridlink.core.errors import DomainError, NotPermitted

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from gridlink.accounts.models import User

    Actor = User | AnonymousUser | None

SHIPPED_TAXONOMY = Path(__file__).resolve().parent.parent / "data" / "taxonomy-2027.1.json"


def may_edit_taxonomy(actor: Actor) -> bool:
    if actor is None:
        return True
    if not actor.is_authenticated or not actor.is_active:
        return False
    return actor.is_superuser or has_capability(actor, Cap.REFERENCE_EDIT)


def _require_editor(actor: Actor) -> None:
    if not may_edit_taxonomy(actor):
        raise NotPermitted("Editing the taxonomy needs the reference.edit capability.")


def read_taxonomy_file(path: Path) -> TaxonomyFile:
    """The checked contents of a taxonomy file (raises `TaxonomyFileError`)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TaxonomyFileError(
            [{"code": "taxonomy_invalid", "field": "file", "message": f"cannot read: {exc}"}]
        ) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TaxonomyFileError(
            [{"code": "taxonomy_invalid", "field": "file", "message": f"not JSON: {exc}"}]
        ) from exc
    return parse_taxonomy(raw)


@transaction.atomic
def taxonomy_load(*, actor: Actor, path: Path, publish: bool = False) -> TaxonomyVersion:
    """Load the file at `path` as the version it names; publish it if asked.

    - A new version code: the version is created as a draft with all its categories.
    - A known version with the same content: nothing changes (publishing a draft if asked).
    - A draft with other content: its categories are replaced by the file's.
    - A published version with other content: refused — a published version is frozen.
    Everything is checked before anything is written; any problem writes nothing.
    """
    _require_editor(actor)
    return _load_parsed(actor, read_taxonomy_file(path), publish=publish, source=path.name)


@transaction.atomic
def taxonomy_load_data(*, actor: Actor, raw: Any, publish: bool = False) -> TaxonomyVersion:
    """`taxonomy_load` for the decoded contents of a file (the API's upload): the same
    checks — every problem names its path (`E0301.deadlines.handle.amount`) — and the
    same rules for new, unchanged, draft and published versions."""
    _require_editor(actor)
    return _load_parsed(actor, parse_taxonomy(raw), publish=publish, source=None)


def _load_parsed(
    actor: Actor, parsed: TaxonomyFile, *, publish: bool, source: str | None
) -> TaxonomyVersion:
    digest = parsed.sha256()
    version = TaxonomyVersion.objects.select_for_update().filter(code=parsed.version.code).first()
    if version is not None and version.content_sha256 == digest:
        if publish and not version.is_published:
            return taxonomy_publish(actor=actor, version=version)
        return version
    if version is not None and version.is_published:
        raise DomainError(
            f"Version {version.code} is published and its content differs from the file; "
            "give the file a new version code.",
            code="taxonomy_published",
            field="version.code",
        )
    replaced = version is not None
    if version is None:
        version = TaxonomyVersion(code=parsed.version.code)
    else:
        version.categories.all().delete()
    version.name = parsed.version.name
    version.notes = parsed.version.notes
    version.content_sha256 = digest
    version.save()
    counts = _write_categories(version, parsed)
    audit_record(
        actor=actor,
        action="taxonomy.load",
        target_type="cases.taxonomyversion",
        target_id=version.pk,
        data={"version": version.code, "file": source, "replaced": replaced, **counts},
    )
    if publish:
        return taxonomy_publish(actor=actor, version=version)
    return version


def _write_categories(version: TaxonomyVersion, parsed: TaxonomyFile) -> dict[str, int]:
    majors = [_major(version, major, n) for n, major in enumerate(parsed.classes, 1)]
    _check_rows(majors)
    Category.objects.bulk_create(majors)
    subs: list[Category] = []
    specs: list[SubclassIn] = []
    for major_row, major in zip(majors, parsed.classes, strict=True):
        for n, sub in enumerate(major.subclasses, 1):
            subs.append(_subclass(version, major_row, sub, n))
            specs.append(sub)
    _check_rows(subs)
    Category.objects.bulk_create(subs)
    attributes = [
        CategoryAttribute(
            category=row,
            code=a.code,
            name_zh=a.name_zh,
            name_en=a.name_en,
            datatype=a.datatype,
            required=a.required,
            variable=a.variable,
            order=n,
            help_zh=a.help_zh,
            help_en=a.help_en,
            values=[v.model_dump() for v in a.values],
        )
        for row, sub in zip(subs, specs, strict=True)
        for n, a in enumerate(sub.attributes, 1)
    ]
    CategoryAttribute.objects.bulk_create(attributes)
    return {"major_classes": len(majors), "subclasses": len(subs), "attributes": len(attributes)}


def _check_rows(rows: list[Category]) -> None:
    """The models' own checks, as a last line behind the file's. The callers hold the
    version locked as a draft, so only the checks that need no query run (`clean_content`):
    one query per row made loading the catalogue cost hundreds of queries."""
    problems: list[dict[str, str | None]] = []
    for row in rows:
        try:
            # The foreign keys are ours (ForeignKey validation is a query per row).
            row.clean_fields(exclude=["version", "parent"])
            row.clean_content()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                problems.extend(
                    {"code": "taxonomy_invalid", "field": f"{row.code}.{field}", "message": m}
                    for m in messages
                )
    if problems:
        raise TaxonomyFileError(problems)


def _major(version: TaxonomyVersion, major: MajorIn, order: int) -> Category:
    return Category(
        version=version,
        kind=major.kind,
        code=major.code,
        name_zh=major.name_zh,
        name_en=major.name_en,
        keywords_zh=",".join(major.keywords_zh),
        keywords_en=",".join(major.keywords_en),
        order=order,
    )


def _subclass(version: TaxonomyVersion, parent: Category, sub: SubclassIn, order: int) -> Category:
    deadlines: dict[str, Any] = {}
    for stage in STAGES:
        deadline = getattr(sub.deadlines, stage)
        deadlines[f"{stage}_amount"] = deadline.amount
        deadlines[f"{stage}_unit"] = deadline.unit
    return Category(
        version=version,
        parent=parent,
        kind=parent.kind,
        code=sub.code,
        name_zh=sub.name_zh,
        name_en=sub.name_en,
        keywords_zh=",".join(sub.keywords_zh),
        keywords_en=",".join(sub.keywords_en),
        filing_condition_zh=sub.filing_condition_zh,
        filing_condition_en=sub.filing_condition_en,
        closing_condition_zh=sub.closing_condition_zh,
        closing_condition_en=sub.closing_condition_en,
        default_level=sub.default_level,
        default_department_kind=sub.default_department_kind,
        urgency=sub.urgency,
        phases=[phase.model_dump(mode="json") for phase in sub.phases],
        order=order,
        **deadlines,
    )


@transaction.atomic
def taxonomy_publish(*, actor: Actor, version: TaxonomyVersion) -> TaxonomyVersion:
    """Publish a draft version and make it the current one (the previous one stays valid
    for the cases filed under it)."""
    _require_editor(actor)
    version = TaxonomyVersion.objects.select_for_update().get(pk=version.pk)
    if version.is_published:
        raise DomainError(
            f"Version {version.code} is already published.", code="taxonomy_published"
        )
    subclasses = list(version.categories.subclasses().select_related("parent"))
    if not subclasses:
        raise DomainError(
            f"Version {version.code} has no sub-classes to publish.", code="taxonomy_empty"
        )
    _check_rows(subclasses)
    previous = TaxonomyVersion.objects.select_for_update().filter(is_current=True).first()
    TaxonomyVersion.objects.filter(is_current=True).update(is_current=False)
    version.published_at = timezone.now()
    version.is_current = True
    version.save(update_fields=["published_at", "is_current"])
    audit_record(
        actor=actor,
        action="taxonomy.publish",
        target_type="cases.taxonomyversion",
        target_id=version.pk,
        data={
            "version": version.code,
            "previous": previous.code if previous else None,
            "subclasses": len(subclasses),
        },
    )
    return version
