"""The case taxonomy (案件分类) as versioned data.

A `TaxonomyVersion` holds one complete catalogue. `Category` is one self-referencing model:
a major class (大类, no parent, code "C01" / "E01") or a sub-class (小类, code "C0101" /
"E0101") under it. Cases are filed under a sub-class and keep it, and with it the version —
so a published version is frozen: its categories and attributes refuse every change
(`clean()` here, the services, the admin). A new catalogue is a new version.

The code scheme, the deadline units and the file format are described in docs/taxonomy.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridlink.geo.models import DepartmentKind

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class Kind(models.TextChoices):
    COMPONENT = "component", _("Component")  # 部件
    EVENT = "event", _("Event")  # 事件


# The first character of every code names the kind, so a code is unique across both kinds.
KIND_PREFIX = {Kind.COMPONENT: "C", Kind.EVENT: "E"}


class HandlingLevel(models.TextChoices):
    """The rungs of the ladder (小事不出网格、大事不出社区、难事不出街道), lowest first."""

    GRID = "grid", _("Grid")  # 网格
    COMMUNITY = "community", _("Community")  # 社区
    STREET = "street", _("Street")  # 街道
    DISTRICT_DEPARTMENT = "district_department", _("District department")  # 区职能部门
    DISTRICT_CENTRE = "district_centre", _("District command centre")  # 区指挥中心


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")  # 一般
    URGENT = "urgent", _("Urgent")  # 紧急
    CRITICAL = "critical", _("Critical")  # 特急


class DeadlineUnit(models.TextChoices):
    WORKING_HOURS = "working_hours", _("working hours")
    WORKING_DAYS = "working_days", _("working days")


# The longest deadline a stage may have, per unit: a month of working time.
DEADLINE_MAX = {DeadlineUnit.WORKING_HOURS: 240, DeadlineUnit.WORKING_DAYS: 30}
STAGES = ("sign_for", "handle", "verify")


class Datatype(models.TextChoices):
    """Exactly the Open311 GeoReport v2 attribute datatypes."""

    STRING = "string", _("Short text")
    NUMBER = "number", _("Number")
    DATETIME = "datetime", _("Date and time")
    TEXT = "text", _("Long text")
    SINGLE_VALUE_LIST = "singlevaluelist", _("Choose one")
    MULTI_VALUE_LIST = "multivaluelist", _("Choose several")


LIST_DATATYPES = frozenset({Datatype.SINGLE_VALUE_LIST, Datatype.MULTI_VALUE_LIST})


@dataclass(frozen=True)
class Deadline:
    amount: int
    unit: str

    def __str__(self) -> str:
        return f"{self.amount} {DeadlineUnit(self.unit).label}"

    @property
    def short(self) -> str:
        """ "4h" (working hours) or "7d" (working days)."""
        return f"{self.amount}{'h' if self.unit == DeadlineUnit.WORKING_HOURS else 'd'}"


class TaxonomyVersionQuerySet(models.QuerySet["TaxonomyVersion"]):
    def published(self) -> TaxonomyVersionQuerySet:
        return self.filter(published_at__isnull=False)


class TaxonomyVersion(models.Model):
    """One complete catalogue of categories (分类版本). Draft until published, then frozen."""

    code = models.CharField(_("version"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    is_current = models.BooleanField(_("current"), default=False, editable=False)
    # sha256 of the canonical form of the file it was loaded from: a reload is a no-op.
    content_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TaxonomyVersionQuerySet.as_manager()

    class Meta:
        verbose_name = _("taxonomy version")
        verbose_name_plural = _("taxonomy versions")
        ordering = ["-created_at", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"],
                condition=Q(is_current=True),
                name="taxonomy_one_current_version",
            ),
            models.CheckConstraint(
                condition=Q(is_current=False) | Q(published_at__isnull=False),
                name="taxonomy_current_is_published",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def clean(self) -> None:
        if self._state.adding:
            return
        stored = TaxonomyVersion.objects.filter(pk=self.pk).values("code", "published_at").first()
        if stored and stored["published_at"] is not None:
            if self.published_at is None:
                raise ValidationError(
                    {"published_at": _("A published version cannot go back to draft.")},
                    code="published",
                )
            if stored["code"] != self.code:
                raise ValidationError(
                    {"code": _("A published version keeps its code.")}, code="published"
                )


def _refuse_if_published(version: TaxonomyVersion | None) -> None:
    if version is not None and version.is_published:
        raise ValidationError(
            _("Taxonomy version %(code)s is published and cannot change; load a new version.")
            % {"code": version.code},
            code="published",
        )


_MAJOR_CODE = r"^[CE][0-9]{2}$"
_SUB_CODE = r"^[CE][0-9]{4}$"


def _deadline_check(stage: str) -> Q:
    amount, unit = f"{stage}_amount", f"{stage}_unit"
    return Q(**{f"{amount}__isnull": True}) | Q(
        Q(**{f"{amount}__gte": 1}),
        Q(
            Q(**{unit: DeadlineUnit.WORKING_HOURS}),
            Q(**{f"{amount}__lte": DEADLINE_MAX[DeadlineUnit.WORKING_HOURS]}),
        )
        | Q(
            Q(**{unit: DeadlineUnit.WORKING_DAYS}),
            Q(**{f"{amount}__lte": DEADLINE_MAX[DeadlineUnit.WORKING_DAYS]}),
        ),
    )


class CategoryQuerySet(models.QuerySet["Category"]):
    def majors(self) -> CategoryQuerySet:
        return self.filter(parent__isnull=True)

    def subclasses(self) -> CategoryQuerySet:
        return self.filter(parent__isnull=False)


def _deadline_unit_field(label: StrOrPromise) -> models.CharField[str, str]:
    return models.CharField(label, max_length=16, choices=DeadlineUnit.choices, blank=True)


class Category(models.Model):
    """A major class (大类) or, with a parent, a sub-class (小类) of components or events.

    The handling fields (conditions, level, department kind, urgency, deadlines) belong to
    sub-classes; on major classes they stay empty.
    """

    version = models.ForeignKey(
        TaxonomyVersion, on_delete=models.CASCADE, related_name="categories"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="subclasses"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    code = models.CharField(_("code"), max_length=5)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=150)
    keywords_zh = models.CharField(_("keywords (Chinese)"), max_length=300, blank=True)
    keywords_en = models.CharField(_("keywords (English)"), max_length=300, blank=True)
    filing_condition_zh = models.TextField(_("filing condition (Chinese)"), blank=True)  # 立案条件
    filing_condition_en = models.TextField(_("filing condition (English)"), blank=True)
    closing_condition_zh = models.TextField(
        _("closing condition (Chinese)"), blank=True
    )  # 结案条件
    closing_condition_en = models.TextField(_("closing condition (English)"), blank=True)
    default_level = models.CharField(
        _("default handling level"), max_length=24, choices=HandlingLevel.choices, blank=True
    )
    default_department_kind = models.CharField(
        _("default department kind"), max_length=32, choices=DepartmentKind.choices, blank=True
    )
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, blank=True)
    sign_for_amount = models.PositiveSmallIntegerField(
        _("sign-for deadline"), null=True, blank=True
    )
    sign_for_unit = _deadline_unit_field(_("sign-for deadline unit"))
    handle_amount = models.PositiveSmallIntegerField(_("handling deadline"), null=True, blank=True)
    handle_unit = _deadline_unit_field(_("handling deadline unit"))
    verify_amount = models.PositiveSmallIntegerField(
        _("verification deadline"), null=True, blank=True
    )
    verify_unit = _deadline_unit_field(_("verification deadline unit"))
    # Multi-phase handling (分阶段处置): [{"code", "name_zh", "name_en", "amount", "unit"}, …],
    # ordered, each ending later; the last equals the handling deadline (gridlink.cases.phases).
    phases = models.JSONField(_("handling phases"), default=list, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["version", "code"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="category_code_per_version"),
            models.CheckConstraint(
                condition=Q(parent__isnull=True, code__regex=_MAJOR_CODE)
                | Q(parent__isnull=False, code__regex=_SUB_CODE),
                name="category_code_shape",
            ),
            models.CheckConstraint(
                condition=Q(kind=Kind.COMPONENT, code__startswith="C")
                | Q(kind=Kind.EVENT, code__startswith="E"),
                name="category_code_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(parent__isnull=True)
                | Q(
                    sign_for_amount__isnull=False,
                    handle_amount__isnull=False,
                    verify_amount__isnull=False,
                ),
                name="category_subclass_has_deadlines",
            ),
            *(
                models.CheckConstraint(
                    condition=_deadline_check(stage), name=f"category_{stage}_sane"
                )
                for stage in STAGES
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"

    @property
    def is_major(self) -> bool:
        return self.parent_id is None

    @property
    def sign_for_deadline(self) -> Deadline | None:
        return self._deadline("sign_for")

    @property
    def handle_deadline(self) -> Deadline | None:
        return self._deadline("handle")

    @property
    def verify_deadline(self) -> Deadline | None:
        return self._deadline("verify")

    def _deadline(self, stage: str) -> Deadline | None:
        amount: int | None = getattr(self, f"{stage}_amount")
        return None if amount is None else Deadline(amount, getattr(self, f"{stage}_unit"))

    @staticmethod
    def split_keywords(text: str) -> list[str]:
        return [k.strip() for k in text.split(",") if k.strip()]

    def clean(self) -> None:
        version = TaxonomyVersion.objects.filter(pk=self.version_id).first()
        _refuse_if_published(version)
        if self.pk is not None:
            # Moving a category out of a published version is a change to that version too.
            stored = Category.objects.filter(pk=self.pk).select_related("version").first()
            _refuse_if_published(stored.version if stored else None)
        self.clean_content()

    def clean_content(self) -> None:
        """The checks that need no database: code shape, parent, handling fields, deadlines,
        phases (the loader runs these on unsaved rows of a draft it holds locked)."""

        errors: dict[str, str] = {}
        prefix = KIND_PREFIX.get(Kind(self.kind)) if self.kind in Kind.values else None
        if prefix and not self.code.startswith(prefix):
            errors["code"] = str(
                _("A %(kind)s code starts with %(prefix)s.")
                % {"kind": Kind(self.kind).label, "prefix": prefix}
            )
        if self.parent is None:
            if len(self.code) != 3 or not self.code[1:].isdigit():
                errors.setdefault("code", str(_("A major class code is a letter and 2 digits.")))
        else:
            if self.parent.parent_id is not None:
                errors["parent"] = str(_("A sub-class sits under a major class."))
            if self.parent.version_id != self.version_id:
                errors["parent"] = str(_("The major class must be in the same version."))
            if self.parent.kind != self.kind:
                errors["kind"] = str(_("A sub-class has the kind of its major class."))
            if len(self.code) != 5 or not self.code[1:].isdigit():
                errors.setdefault("code", str(_("A sub-class code is a letter and 4 digits.")))
            elif not self.code.startswith(self.parent.code):
                errors.setdefault(
                    "code",
                    str(_("The code must start with the major class's code %(code)s."))
                    % {"code": self.parent.code},
                )
            for name in (
                "filing_condition_zh",
                "filing_condition_en",
                "closing_condition_zh",
                "closing_condition_en",
                "default_level",
                "default_department_kind",
                "urgency",
            ):
                if not getattr(self, name):
                    errors[name] = str(_("A sub-class needs this field."))
            for stage in STAGES:
                errors.update(self._deadline_errors(stage))
            if "handle_amount" not in errors and "handle_unit" not in errors:
                problem = phases_problem(self.phases, handle=(self.handle_amount, self.handle_unit))
                if problem:
                    errors["phases"] = problem
        if self.parent is None and self.phases:
            errors["phases"] = str(_("Only sub-classes have handling phases."))
        if errors:
            raise ValidationError(errors)

    def _deadline_errors(self, stage: str) -> dict[str, str]:
        amount: int | None = getattr(self, f"{stage}_amount")
        unit: str = getattr(self, f"{stage}_unit")
        if amount is None or amount < 1:
            return {f"{stage}_amount": str(_("A deadline is a positive whole number."))}
        if unit not in DeadlineUnit.values:
            return {f"{stage}_unit": str(_("Choose working hours or working days."))}
        most = DEADLINE_MAX[DeadlineUnit(unit)]
        if amount > most:
            return {
                f"{stage}_amount": str(
                    _("At most %(n)d %(unit)s.") % {"n": most, "unit": DeadlineUnit(unit).label}
                )
            }
        return {}


class CategoryAttribute(models.Model):
    """An extra field a sub-class asks for on filing; an Open311 service attribute."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="attributes")
    code = models.SlugField(_("code"), max_length=40)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=150)
    datatype = models.CharField(_("datatype"), max_length=16, choices=Datatype.choices)
    required = models.BooleanField(_("required"), default=False)
    # Open311 `variable`: false for an attribute that only informs (no answer expected).
    variable = models.BooleanField(_("variable"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    help_zh = models.CharField(_("help text (Chinese)"), max_length=300, blank=True)
    help_en = models.CharField(_("help text (English)"), max_length=300, blank=True)
    # For list datatypes: [{"key": "...", "name_zh": "...", "name_en": "..."}, …]
    values = models.JSONField(_("values"), default=list, blank=True)

    class Meta:
        verbose_name = _("category attribute")
        verbose_name_plural = _("category attributes")
        ordering = ["category", "order", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "code"], name="category_attribute_code_unique"
            ),
            models.CheckConstraint(
                condition=Q(datatype__in=Datatype.values), name="category_attribute_datatype"
            ),
            models.CheckConstraint(condition=Q(order__gte=1), name="category_attribute_order"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.datatype})"

    def clean(self) -> None:
        category = Category.objects.filter(pk=self.category_id).select_related("version").first()
        if category is not None:
            _refuse_if_published(category.version)
            if category.is_major:
                raise ValidationError(
                    {"category": _("Only sub-classes have extra fields.")}, code="major"
                )
        if self.pk is not None:
            stored = (
                CategoryAttribute.objects.filter(pk=self.pk)
                .select_related("category__version")
                .first()
            )
            _refuse_if_published(stored.category.version if stored else None)
        problem = values_problem(self.datatype, self.values)
        if problem:
            raise ValidationError({"values": problem})


def values_problem(datatype: str, values: object) -> str | None:
    """Why `values` do not suit `datatype`, or None."""
    if datatype not in LIST_DATATYPES:
        return None if not values else str(_("Only list datatypes have values."))
    if not isinstance(values, list) or not values:
        return str(_("A list attribute needs at least one value."))
    keys: set[str] = set()
    for value in values:
        if not isinstance(value, dict) or set(value) != {"key", "name_zh", "name_en"}:
            return str(_("Each value has exactly a key, name_zh and name_en."))
        if not all(isinstance(value[k], str) and value[k].strip() for k in value):
            return str(_("Each value's key and names are non-empty text."))
        if value["key"] in keys:
            return str(_("Value key %(key)s appears twice.") % {"key": value["key"]})
        keys.add(value["key"])
    return None


PHASE_KEYS = {"code", "name_zh", "name_en", "amount", "unit"}


def phases_problem(phases: object, *, handle: tuple[int | None, str] | None = None) -> str | None:
    """Why `phases` (a list of dicts as stored) are not a valid phase list, or None.

    Rules: at least two phases; each has exactly code, name_zh, name_en, amount, unit;
    codes are unique; amounts are sane for their unit; phases in working hours come before
    phases in working days; within a unit the amounts strictly increase; the last phase
    equals `handle` (amount, unit) when given.
    """
    if not isinstance(phases, list):
        return "phases are a list"
    if not phases:
        return None
    if len(phases) < 2:
        return "a phased deadline has at least two phases"
    seen: set[str] = set()
    previous: dict[str, Any] | None = None
    for n, raw in enumerate(phases, 1):
        if not isinstance(raw, dict) or set(raw) != PHASE_KEYS:
            return f"phase {n} has exactly {', '.join(sorted(PHASE_KEYS))}"
        if not all(isinstance(raw[k], str) and raw[k].strip() for k in PHASE_KEYS - {"amount"}):
            return f"phase {n}: code, names and unit are non-empty text"
        amount, unit = raw["amount"], raw["unit"]
        if type(amount) is not int or unit not in DeadlineUnit.values:
            return f"phase {n}: amount is a whole number and unit is working_hours or working_days"
        if not 1 <= amount <= DEADLINE_MAX[DeadlineUnit(unit)]:
            return f"phase {n}: amount is 1 to {DEADLINE_MAX[DeadlineUnit(unit)]} {unit}"
        if raw["code"] in seen:
            return f"phase {n}: code {raw['code']} appears twice"
        seen.add(raw["code"])
        if previous is not None:
            hours_after_days = (
                unit == DeadlineUnit.WORKING_HOURS and previous["unit"] == DeadlineUnit.WORKING_DAYS
            )
            if hours_after_days or (unit == previous["unit"] and amount <= previous["amount"]):
                return f"phase {n} ({raw['code']}) must end after phase {n - 1}"
        previous = raw
    last = (previous["amount"], previous["unit"]) if previous is not None else None
    if handle is not None and last is not None and last != handle:
        return "the last phase is the handling deadline: it must equal deadlines.handle"
    return None
