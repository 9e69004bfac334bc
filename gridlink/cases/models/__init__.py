"""The cases app's models: the taxonomy (`taxonomy.py`) and routing rules (`routing.py`)."""

from gridlink.cases.models.routing import AREA_UNIT_LEVELS, RoutingRule, RoutingRuleQuerySet
from gridlink.cases.models.taxonomy import (
    DEADLINE_MAX,
    KIND_PREFIX,
    LIST_DATATYPES,
    STAGES,
    Category,
    CategoryAttribute,
    CategoryQuerySet,
    Datatype,
    Deadline,
    DeadlineUnit,
    HandlingLevel,
    Kind,
    TaxonomyVersion,
    TaxonomyVersionQuerySet,
    Urgency,
    values_problem,
)

__all__ = [
    "AREA_UNIT_LEVELS",
    "DEADLINE_MAX",
    "KIND_PREFIX",
    "LIST_DATATYPES",
    "STAGES",
    "Category",
    "CategoryAttribute",
    "CategoryQuerySet",
    "Datatype",
    "Deadline",
    "DeadlineUnit",
    "HandlingLevel",
    "Kind",
    "RoutingRule",
    "RoutingRuleQuerySet",
    "TaxonomyVersion",
    "TaxonomyVersionQuerySet",
    "Urgency",
    "values_problem",
]
