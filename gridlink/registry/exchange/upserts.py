"""Per-kind rules that turn one parsed row into a model instance to upsert.

Each handler knows its natural key, how to fetch the existing rows and the referenced rows
for a chunk of the file in a few queries, how to parse each column, what to check across
columns, and whether a row lies inside the acting user's scope. The row pipeline in
`rows.py` does the rest (scope first, then compare, validate, save), for a file import
(`importer.py`) and for one record saved through the API (`records.py`) alike.

This module holds the handler protocol and the registry kinds (buildings, households,
residents, organisations); `upserts_areas.py` holds areas and departments.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils.translation import gettext as _

from gridlink.accounts.roles import Cap
from gridlink.core.validators import (
    birth_date_from_id,
    normalise_id_number,
    sex_from_id,
    validate_id_number,
)
from gridlink.registry.exchange.cells import (
    KEEP,
    REQUIRED,
    RowParser,
    choice_parser,
    float_parser,
    normalise_phone,
    parse_date,
    parse_int,
    split_list,
    unmasked,
)
from gridlink.registry.exchange.kinds import KINDS, KindSpec
from gridlink.registry.exchange.lookups import AreaIndex, Scope, in_chunk, lookup
from gridlink.registry.models import (
    Building,
    BuildingUse,
    Household,
    Organisation,
    OrganisationKind,
    ResidenceType,
    Resident,
    Sex,
    Tag,
)

# --- The handler protocol ---------------------------------------------------------------


@dataclass
class Parsed:
    m2m: dict[str, set[int]] = field(default_factory=dict)
    # Fields whose problems the handler already reported, so full_clean need not repeat them.
    exclude: set[str] = field(default_factory=set)


class Handler[M: Model](ABC):
    kind: ClassVar[str]
    model: type[M]
    # Model field → column, where they differ (for full_clean's messages).
    columns_of_fields: ClassVar[dict[str, str]] = {}
    # Foreign keys the handler resolves itself from codes (full_clean need not query them).
    resolved: ClassVar[tuple[str, ...]] = ()
    # Fields saved with every update besides the changed ones.
    always_update: ClassVar[tuple[str, ...]] = ()
    # The column a scope refusal is reported under.
    scope_column: ClassVar[str] = "grid_code"

    def __init__(self, *, scope: Scope, areas: AreaIndex) -> None:
        self.scope = scope
        self.areas = areas
        self.existing_rows: dict[str, M] = {}
        self.written = 0
        # Lock the stored rows fetched for an update (one API request): check, then write.
        self.lock = False

    @property
    def spec(self) -> KindSpec:
        return KINDS[self.kind]

    def column_of(self, field_name: str) -> str:
        return self.columns_of_fields.get(field_name, field_name)

    def key(self, values: Mapping[str, str]) -> str:
        return values.get(self.spec.key, "").strip()

    def prefetch(self, keys: set[str], rows: Sequence[Mapping[str, str]]) -> None:
        lookup = {f"{self.spec.key}__in": keys}
        self.existing_rows = {
            getattr(obj, self.spec.key): obj for obj in self.existing_queryset().filter(**lookup)
        }

    def existing_queryset(self) -> Any:
        qs = self.model._default_manager.all()
        return qs.select_for_update() if self.lock else qs

    def existing(self, key: str) -> M | None:
        return self.existing_rows.get(key)

    @abstractmethod
    def parse(self, p: RowParser, existing: M | None) -> Parsed:
        """Read the row's cells onto the (new or stored) instance; report cell problems."""

    def check(self, instance: M, p: RowParser) -> None:  # noqa: B027  (optional hook)
        """Cross-column checks once the instance holds the new values."""

    def can_run_model_clean(self, instance: M) -> bool:
        """Whether the model's clean() can run on this instance (else only field checks)."""
        return True

    def m2m_current(self, instance: M, name: str) -> set[int]:
        return {obj.pk for obj in getattr(instance, name).all()}

    def saved(self, instance: M, m2m: dict[str, set[int]]) -> None:
        for name, ids in m2m.items():
            getattr(instance, name).set(ids)
        self.written += 1

    # --- scope ----------------------------------------------------------------------------

    def scope_message(self) -> str:
        """The one refusal for every out-of-scope row of this kind.

        The same words whether the row's target lies outside the scope or its key belongs to
        a stored record outside it, so a refusal tells nothing about records out of sight.
        """
        if self.scope.capability == Cap.REGISTRY_EDIT:
            return _("This record is outside the area you may edit.")
        return _("This record is outside the area you may import into.")

    def path_of(self, instance: M) -> str | None:
        """The area path that decides whether the acting user may write this row."""
        grid_id = getattr(instance, "grid_id", None)
        area = self.areas.find_pk(grid_id) if grid_id else None
        return area.path if area else None

    def existing_in_scope(self, existing: M) -> bool:
        """Whether the stored record (before any change) lies inside the user's scope."""
        if self.scope.unrestricted:
            return True
        path = self.path_of(existing)
        return path is not None and self.scope.covers(path)

    def target_in_scope(self, instance: M, changed: Sequence[str], p: RowParser) -> bool:
        """Whether the record, holding the row's values, lies inside the user's scope.

        A target that could not be resolved (an unknown grid) is reported by its cell.
        """
        if self.scope.unrestricted:
            return True
        path = self.path_of(instance)
        return path is None or self.scope.covers(path)


# --- Registry ---------------------------------------------------------------------------


class BuildingHandler(Handler[Building]):
    kind = "buildings"
    model = Building
    columns_of_fields: ClassVar[dict[str, str]] = {"grid": "grid_code"}
    resolved = ("grid",)

    use = staticmethod(choice_parser(BuildingUse))
    lat = staticmethod(float_parser(-90, 90))
    lon = staticmethod(float_parser(-180, 180))

    def parse(self, p: RowParser, existing: Building | None) -> Parsed:
        p.take("address_code", "address_code", blank=REQUIRED)
        p.take("address", "address", blank=REQUIRED)
        p.take("name", "name")
        p.take("grid_code", "grid", self.areas.grid, blank=REQUIRED)
        p.take("lat", "lat", self.lat, blank=REQUIRED)
        p.take("lon", "lon", self.lon, blank=REQUIRED)
        p.take("use", "use", self.use, blank=REQUIRED)
        p.take("floors", "floors", lambda raw: parse_int(raw, minimum=1, maximum=300), blank=KEEP)
        return Parsed()


class _WithBuildings[M: Model](Handler[M]):
    """Handlers whose rows may name a building by its standard address code."""

    def __init__(self, *, scope: Scope, areas: AreaIndex) -> None:
        super().__init__(scope=scope, areas=areas)
        self.buildings: dict[str, Building] = {}

    def prefetch(self, keys: set[str], rows: Sequence[Mapping[str, str]]) -> None:
        super().prefetch(keys, rows)
        # Only buildings inside the scope: one elsewhere reads as unknown, as it is to the user.
        codes = in_chunk(rows, "building_address_code")
        found = Building.objects.filter(self.scope.q(), address_code__in=codes)
        self.buildings = {b.address_code: b for b in found.only("id", "address_code")}

    def building(self, code: str) -> Building:
        return lookup(self.buildings, code, _("No building has the address code %(code)s."))


class HouseholdHandler(_WithBuildings[Household]):
    kind = "households"
    model = Household
    columns_of_fields: ClassVar[dict[str, str]] = {
        "grid": "grid_code",
        "building": "building_address_code",
    }
    resolved = ("grid", "building")

    def parse(self, p: RowParser, existing: Household | None) -> Parsed:
        p.take("number", "number", blank=REQUIRED)
        p.take("building_address_code", "building", self.building, empty=None)
        p.take("room", "room")
        p.take("grid_code", "grid", self.areas.grid, blank=REQUIRED)
        return Parsed()


class ResidentHandler(Handler[Resident]):
    kind = "residents"
    model = Resident
    columns_of_fields: ClassVar[dict[str, str]] = {
        "grid": "grid_code",
        "household": "household_number",
    }
    resolved = ("grid", "household")

    sex = staticmethod(choice_parser(Sex, {"男": Sex.MALE, "女": Sex.FEMALE}))
    residence_type = staticmethod(choice_parser(ResidenceType))

    def __init__(self, *, scope: Scope, areas: AreaIndex) -> None:
        super().__init__(scope=scope, areas=areas)
        self.tags: dict[str, int] = dict(Tag.objects.values_list("code", "id"))
        self.households: dict[str, Household] = {}
        self.tag_ids: dict[int, set[int]] = {}

    def key(self, values: Mapping[str, str]) -> str:
        return normalise_id_number(values.get("id_number", ""))

    def prefetch(self, keys: set[str], rows: Sequence[Mapping[str, str]]) -> None:
        super().prefetch(keys, rows)
        # One query on the link table: prefetch_related would build a manager per resident.
        self.tag_ids = {}
        links = Resident.tags.through.objects.filter(
            resident_id__in=[r.pk for r in self.existing_rows.values()]
        ).values_list("resident_id", "tag_id")
        for resident_id, tag_id in links:
            self.tag_ids.setdefault(resident_id, set()).add(tag_id)
        # Only households inside the scope: one elsewhere reads as unknown, as it is to the user.
        numbers = in_chunk(rows, "household_number")
        found = Household.objects.filter(self.scope.q(), number__in=numbers)
        self.households = {h.number: h for h in found.only("id", "number")}

    def household(self, number: str) -> Household:
        return lookup(self.households, number, _("No household has the number %(code)s."))

    def parse(self, p: RowParser, existing: Resident | None) -> Parsed:
        parsed = Parsed(exclude={"id_number"})
        p.take(
            "id_number",
            "id_number",
            lambda raw: normalise_id_number(unmasked(raw)),
            blank=REQUIRED,
        )
        p.take("name", "name", blank=REQUIRED)
        p.take("sex", "sex", self.sex, blank=KEEP)
        p.take("birth_date", "birth_date", parse_date, blank=KEEP)
        p.take("phone", "phone", normalise_phone)
        p.take("household_number", "household", self.household, empty=None)
        p.take("grid_code", "grid", self.areas.grid, blank=REQUIRED)
        p.take("residence_type", "residence_type", self.residence_type, blank=KEEP)
        p.take("relation_to_head", "relation_to_head")
        if p.present("tags"):
            codes = split_list(p.raw("tags"))
            unknown = [c for c in codes if c not in self.tags]
            if unknown:
                p.errors.add(
                    "tags", _("No tag has the code %(codes)s.") % {"codes": ", ".join(unknown)}
                )
            else:
                parsed.m2m["tags"] = {self.tags[c] for c in codes}
        self._identity(p, parsed)
        return parsed

    def _identity(self, p: RowParser, parsed: Parsed) -> None:
        """Check the ID number, then fill in a blank sex and birth date from it.

        Whether a given sex or birth date agrees with the ID number is `Resident.clean()`'s
        rule; the importer runs it with the model's other checks (`full_clean`).
        """
        id_number = p.fields.get("id_number")
        if not id_number:
            parsed.exclude |= {"sex", "birth_date"} - set(p.fields)
            return
        try:
            validate_id_number(id_number)
        except ValidationError as exc:
            p.errors.add("id_number", " ".join(exc.messages))
            parsed.exclude |= {"sex", "birth_date"} - set(p.fields)
            return
        p.fields.setdefault("sex", sex_from_id(id_number))
        p.fields.setdefault("birth_date", birth_date_from_id(id_number))

    def m2m_current(self, instance: Resident, name: str) -> set[int]:
        return set(self.tag_ids.get(instance.pk, set()))


class OrganisationHandler(_WithBuildings[Organisation]):
    kind = "organisations"
    model = Organisation
    columns_of_fields: ClassVar[dict[str, str]] = {
        "grid": "grid_code",
        "building": "building_address_code",
    }
    resolved = ("grid", "building")

    org_kind = staticmethod(choice_parser(OrganisationKind))

    def key(self, values: Mapping[str, str]) -> str:
        return values.get("credit_code", "").strip().upper()

    def parse(self, p: RowParser, existing: Organisation | None) -> Parsed:
        p.take("credit_code", "credit_code", lambda raw: raw.strip().upper(), blank=REQUIRED)
        p.take("name", "name", blank=REQUIRED)
        p.take("kind", "kind", self.org_kind, blank=REQUIRED)
        p.take("grid_code", "grid", self.areas.grid, blank=REQUIRED)
        p.take("building_address_code", "building", self.building, empty=None)
        p.take("address", "address")
        p.take("legal_representative", "legal_representative")
        p.take("contact_phone", "contact_phone", normalise_phone)
        p.take("employees", "employees", parse_int, blank=KEEP)
        return Parsed()


REGISTRY_HANDLERS: tuple[type[Handler[Any]], ...] = (
    BuildingHandler,
    HouseholdHandler,
    ResidentHandler,
    OrganisationHandler,
)
