"""The taxonomy file format (docs/taxonomy.md): parsing and checking, no database.

`parse_taxonomy(raw)` returns a `TaxonomyFile` or raises `TaxonomyFileError` listing every
problem found, each naming the category code (or the version) and the field at fault.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic import ValidationError as PydanticError

from gridlink.cases.models import (
    DEADLINE_MAX,
    KIND_PREFIX,
    Datatype,
    DeadlineUnit,
    HandlingLevel,
    Kind,
    Urgency,
    values_problem,
)
from gridlink.cases.phases import phases_problem
from gridlink.core.errors import DomainError
from gridlink.geo.models import DepartmentKind

FORMAT = "gridlink-taxonomy/1"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ValueIn(_Strict):
    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
    name_zh: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=150)]


class AttributeIn(_Strict):
    code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    name_zh: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=150)]
    datatype: Datatype
    required: bool = False
    variable: bool = True
    help_zh: Annotated[str, StringConstraints(max_length=300)] = ""
    help_en: Annotated[str, StringConstraints(max_length=300)] = ""
    values: list[ValueIn] = []

    @model_validator(mode="after")
    def _values_suit_datatype(self) -> Self:
        problem = values_problem(self.datatype, [v.model_dump() for v in self.values])
        if problem:
            raise ValueError(f"values: {problem}")
        return self


class DeadlineIn(_Strict):
    amount: int = Field(ge=1, strict=True)
    unit: DeadlineUnit

    @model_validator(mode="after")
    def _sane(self) -> Self:
        most = DEADLINE_MAX[self.unit]
        if self.amount > most:
            raise ValueError(f"amount: at most {most} {self.unit.value}")
        return self


class DeadlinesIn(_Strict):
    sign_for: DeadlineIn
    handle: DeadlineIn
    verify: DeadlineIn


class PhaseIn(_Strict):
    code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    name_zh: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=150)]
    amount: int = Field(ge=1, strict=True)
    unit: DeadlineUnit


class SubclassIn(_Strict):
    code: str
    name_zh: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=150)]
    keywords_zh: list[Keyword] = []
    keywords_en: list[Keyword] = []
    filing_condition_zh: Text
    filing_condition_en: Text
    closing_condition_zh: Text
    closing_condition_en: Text
    default_level: HandlingLevel
    default_department_kind: DepartmentKind
    urgency: Urgency
    deadlines: DeadlinesIn
    phases: list[PhaseIn] = []
    attributes: list[AttributeIn] = []

    @model_validator(mode="after")
    def _phases_end_with_the_handling_deadline(self) -> Self:
        handle = (self.deadlines.handle.amount, self.deadlines.handle.unit.value)
        problem = phases_problem([p.model_dump(mode="json") for p in self.phases], handle=handle)
        if problem:
            raise ValueError(f"phases: {problem}")
        return self


class MajorIn(_Strict):
    kind: Kind
    code: str
    name_zh: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=150)]
    keywords_zh: list[Keyword] = []
    keywords_en: list[Keyword] = []
    subclasses: list[SubclassIn] = Field(min_length=1)


class VersionIn(_Strict):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}\.[0-9]{1,3}$")]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    notes: str = ""


class TaxonomyFile(_Strict):
    format: Literal["gridlink-taxonomy/1"]
    version: VersionIn
    classes: list[MajorIn] = Field(min_length=1)

    def sha256(self) -> str:
        dumped = self.model_dump(mode="json")
        # A file without phases hashes as it did before phases existed (format 1 files).
        for major in dumped["classes"]:
            for sub in major["subclasses"]:
                if not sub["phases"]:
                    del sub["phases"]
        canonical = json.dumps(dumped, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class TaxonomyFileError(DomainError):
    """The file is not a valid taxonomy; `errors` lists every problem."""

    def __init__(self, errors: list[dict[str, str | None]]):
        self.errors = errors
        shown = "; ".join(str(e["message"]) for e in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        super().__init__(
            f"The taxonomy file has {len(errors)} problem(s): {shown}{more}",
            code="taxonomy_invalid",
            field=errors[0]["field"] if errors else None,
        )


def _problem(where: str, field: str, message: str) -> dict[str, str | None]:
    return {
        "code": "taxonomy_invalid",
        "field": f"{where}.{field}" if field else where,
        "message": f"{where}: {field}: {message}" if field else f"{where}: {message}",
    }


def _locate(raw: Any, loc: tuple[int | str, ...]) -> tuple[str, str]:
    """(the innermost category code, or "version"/"file"; the field path below it).

    ("classes", 2, "subclasses", 0, "attributes", 1, "values") → ("E0301",
    "attributes.permit_no.values") when those entries carry those codes.
    """
    where, tail = "file", []
    node: Any = raw
    previous: int | str | None = None
    for step in loc:
        tail.append(str(step))
        try:
            node = node[step] if node is not None else None
        except (KeyError, IndexError, TypeError):
            node = None
        code = node.get("code") if isinstance(node, dict) else None
        if step == "version" and previous is None:
            where, tail = "version", []
        elif isinstance(code, str) and code and previous in ("classes", "subclasses"):
            where, tail = code, []
        elif isinstance(code, str) and code and previous == "attributes":
            tail[-1] = code
        previous = step
    return where, ".".join(tail)


def parse_taxonomy(raw: Any) -> TaxonomyFile:
    try:
        parsed = TaxonomyFile.model_validate(raw)
    except PydanticError as exc:
        problems = []
        for err in exc.errors():
            where, field = _locate(raw, tuple(err["loc"]))
            message = str(err["msg"]).removeprefix("Value error, ")
            # Our model validators say which field ("amount: …"); fold it into the path.
            match = re.match(r"^(\w+): (.*)$", message)
            if match and err["type"] == "value_error":
                field = f"{field}.{match[1]}" if field else match[1]
                message = match[2]
            problems.append(_problem(where, field, message))
        raise TaxonomyFileError(problems) from None
    problems = _cross_check(parsed)
    if problems:
        raise TaxonomyFileError(problems)
    return parsed


def _cross_check(parsed: TaxonomyFile) -> list[dict[str, str | None]]:
    """What one record cannot see: code shapes, prefixes and duplicates."""
    problems: list[dict[str, str | None]] = []
    seen: set[str] = set()

    def check_code(code: str, shape: str, what: str) -> None:
        if not re.fullmatch(shape, code):
            problems.append(_problem(code, "code", f"a {what} code looks like {_EXAMPLE[what]}"))
        if code in seen:
            problems.append(_problem(code, "code", "duplicate code in this version"))
        seen.add(code)

    for major in parsed.classes:
        prefix = KIND_PREFIX[major.kind]
        check_code(major.code, rf"{prefix}[0-9]{{2}}", "major class")
        for sub in major.subclasses:
            check_code(sub.code, rf"{re.escape(major.code)}[0-9]{{2}}", "sub-class")
            attr_codes: set[str] = set()
            for attribute in sub.attributes:
                if attribute.code in attr_codes:
                    problems.append(
                        _problem(sub.code, f"attributes.{attribute.code}", "duplicate code")
                    )
                attr_codes.add(attribute.code)
            for lang in ("zh", "en"):
                for word in getattr(sub, f"keywords_{lang}"):
                    if "," in word:
                        problems.append(
                            _problem(sub.code, f"keywords_{lang}", f"no commas in {word!r}")
                        )
    return problems


_EXAMPLE = {"major class": "C01 or E01", "sub-class": "its major class code + 2 digits"}
