"""The assessment app's models: rollups of the case log (`rollup.py`) and assessment schemes,
scorecards and exemptions (`scheme.py`)."""

from gridlink.assessment.models.rollup import METRICS, CaseFacts, IndicatorDay

__all__ = ["METRICS", "CaseFacts", "IndicatorDay"]
