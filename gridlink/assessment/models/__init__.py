"""The assessment app's models: rollups of the case log (`rollup.py`), the rule numbers
behind them (`rules.py`) and assessment schemes, scorecards and exemptions (`scheme.py`)."""

from gridlink.assessment.models.rollup import AREA, METRICS, CaseFacts, IndicatorDay
from gridlink.assessment.models.rules import IndicatorRules
from gridlink.assessment.models.scheme import (
    Bonus,
    Deduction,
    Exemption,
    ItemRule,
    Scheme,
    SchemeItem,
    UnitLevel,
)

__all__ = [
    "AREA",
    "METRICS",
    "Bonus",
    "CaseFacts",
    "Deduction",
    "Exemption",
    "IndicatorDay",
    "IndicatorRules",
    "ItemRule",
    "Scheme",
    "SchemeItem",
    "UnitLevel",
]
