"""The columns of each importable and exportable kind of registry data.

One `KindSpec` per kind names its natural key (the column an upsert matches on), its
columns in file order and which of them every file must have. The import columns and the
export columns are the same wherever an export can be imported again; residents and
organisations export masked values and so cannot be (see docs/import-export.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from gridlink.core.errors import DomainError


@dataclass(frozen=True, slots=True)
class KindSpec:
    name: str
    key: str
    columns: tuple[str, ...]  # every import column, in documented order
    required: frozenset[str]  # columns the header must have
    export_columns: tuple[str, ...] = ()  # when they differ from `columns`
    subject_type: str = ""  # access-log subject type for kinds holding personal data
    lists: frozenset[str] = frozenset()  # columns holding a list of codes (`a; b; c`)

    @property
    def personal(self) -> bool:
        return bool(self.subject_type)

    @property
    def exported(self) -> tuple[str, ...]:
        return self.export_columns or self.columns

    def missing(self, given: Iterable[str]) -> list[str]:
        """The required columns not among `given` (a file's header, an API body's keys)."""
        present = set(given)
        return [c for c in self.columns if c in self.required and c not in present]

    def unknown(self, given: Iterable[str]) -> list[str]:
        """The names among `given` that are not columns of this kind."""
        return [c for c in given if c not in self.columns]


KINDS: dict[str, KindSpec] = {
    spec.name: spec
    for spec in (
        KindSpec(
            name="areas",
            key="code",
            columns=(
                "code",
                "parent_code",
                "level",
                "kind",
                "name_zh",
                "name_en",
                "grid_type",
                "households",
                "residents",
                "valid_from",
                "valid_to",
                "geometry",
            ),
            required=frozenset({"code", "level", "kind", "name_zh"}),
        ),
        KindSpec(
            name="departments",
            key="code",
            columns=("code", "name_zh", "name_en", "kind", "parent_code", "area_codes"),
            required=frozenset({"code", "name_zh", "kind"}),
            lists=frozenset({"area_codes"}),
        ),
        KindSpec(
            name="buildings",
            key="address_code",
            columns=("address_code", "address", "name", "grid_code", "lat", "lon", "use", "floors"),
            required=frozenset({"address_code", "address", "grid_code", "lat", "lon", "use"}),
        ),
        KindSpec(
            name="households",
            key="number",
            columns=("number", "building_address_code", "room", "grid_code"),
            required=frozenset({"number", "grid_code"}),
        ),
        KindSpec(
            name="residents",
            key="id_number",
            columns=(
                "id_number",
                "name",
                "sex",
                "birth_date",
                "phone",
                "household_number",
                "grid_code",
                "residence_type",
                "relation_to_head",
                "tags",
            ),
            required=frozenset({"id_number", "name", "grid_code"}),
            lists=frozenset({"tags"}),
            # The screen shows the birth year, not the date (the date is inside the ID number).
            export_columns=(
                "id_number",
                "name",
                "sex",
                "birth_year",  # empty unless the exporter may see the minor_under_14 tag
                "age_band",
                "phone",
                "household_number",
                "grid_code",
                "residence_type",
                "relation_to_head",
                "tags",
            ),
            subject_type="resident",
        ),
        KindSpec(
            name="organisations",
            key="credit_code",
            columns=(
                "credit_code",
                "name",
                "kind",
                "grid_code",
                "building_address_code",
                "address",
                "legal_representative",
                "contact_phone",
                "employees",
            ),
            required=frozenset({"credit_code", "name", "kind", "grid_code"}),
            subject_type="organisation",
        ),
    )
}


def kind_spec(name: str) -> KindSpec:
    """The spec of kind `name`, or a DomainError listing the kinds there are."""
    try:
        return KINDS[name]
    except KeyError:
        raise DomainError(
            _("Unknown kind %(kind)r. Choose one of: %(kinds)s.")
            % {"kind": name, "kinds": ", ".join(KINDS)},
            code="unknown_kind",
            field="kind",
        ) from None
