"""Rollups of the case log: leaf rows of counters, one per unit × grid × category × day.

`IndicatorDay` holds integer counters (`METRICS`) that the indicator formulas combine
(`gridlink.assessment.indicators`). Rows are kept at the leaf only: the counters of *where
the case is* once, for its grid (`unit` = `AREA`), and those of a responsible unit or a
person split by the grid of the case — so no row is shared by the cases of a whole street or
district, and a case event locks only rows of its own grid. A community, street or district
is the sum of the rows of the grids under it, taken at read time
(`gridlink.assessment.selectors`). `CaseFacts` keeps what each case contributed (and for
which grid), so a change to a case retracts its old contributions and adds the new ones in
the same transaction (`gridlink.assessment.rollups`). Everything is integer (minutes, not
hours), so the incremental figures equal a rebuild exactly. Definitions: docs/indicators.md.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

# Every counter of a unit-day, in the order docs/indicators.md describes them.
METRICS: tuple[str, ...] = (
    "reported",
    "invalid",
    "merged",
    "accepted",
    "accept_minutes",
    "filed",
    "filed_on_time",
    "dispatched",
    "returned",
    "responded",
    "handle_due",
    "handled",
    "handled_cases",
    "handled_of_due",
    "handled_on_time",
    "handle_timed",
    "handle_minutes",
    "close_due",
    "closed",
    "closed_of_due",
    "closed_on_time",
    "close_suspended",
    "closed_grid",
    "closed_community",
    "closed_street",
    "rework",
    "reworked_cases",
    "failed_verification_3",
    "extended",
    "suspended",
    "overdue_start",
    "overdue_end",
    "rated",
    "solved",
    "satisfied",
    "redone",
    "whistled",
    "street_cases",
)

# `IndicatorDay.unit` of the counters of where the case is (its grid; areas above it are sums).
AREA = "area"


class IndicatorDay(models.Model):
    """Counters of one unit, for the cases of one grid, one sub-class, one day (Asia/Shanghai).

    `unit` is `AREA` ("area": where the case is — the grid; an area above it is the sum of
    its grids' rows), `office:<id>` (the area's own office as the responsible unit),
    `dept:<id>` (a department as the responsible unit) or `user:<id>` (a person's own steps);
    `grid` is the grid of the cases counted.
    """

    unit = models.CharField(max_length=24)
    grid = models.ForeignKey("geo.Area", on_delete=models.PROTECT, related_name="+",
                             db_index=False, verbose_name=_("grid"))  # fmt: skip
    category = models.CharField(max_length=5)
    day = models.DateField()
    reported = models.BigIntegerField(default=0)
    invalid = models.BigIntegerField(default=0)
    merged = models.BigIntegerField(default=0)
    accepted = models.BigIntegerField(default=0)
    accept_minutes = models.BigIntegerField(default=0)
    filed = models.BigIntegerField(default=0)
    filed_on_time = models.BigIntegerField(default=0)
    dispatched = models.BigIntegerField(default=0)
    returned = models.BigIntegerField(default=0)
    responded = models.BigIntegerField(default=0)
    handle_due = models.BigIntegerField(default=0)
    handled = models.BigIntegerField(default=0)
    handled_cases = models.BigIntegerField(default=0)
    handled_of_due = models.BigIntegerField(default=0)
    handled_on_time = models.BigIntegerField(default=0)
    handle_timed = models.BigIntegerField(default=0)
    handle_minutes = models.BigIntegerField(default=0)
    close_due = models.BigIntegerField(default=0)
    closed = models.BigIntegerField(default=0)
    closed_of_due = models.BigIntegerField(default=0)
    closed_on_time = models.BigIntegerField(default=0)
    close_suspended = models.BigIntegerField(default=0)
    closed_grid = models.BigIntegerField(default=0)
    closed_community = models.BigIntegerField(default=0)
    closed_street = models.BigIntegerField(default=0)
    rework = models.BigIntegerField(default=0)
    reworked_cases = models.BigIntegerField(default=0)
    failed_verification_3 = models.BigIntegerField(default=0)
    extended = models.BigIntegerField(default=0)
    suspended = models.BigIntegerField(default=0)
    overdue_start = models.BigIntegerField(default=0)
    overdue_end = models.BigIntegerField(default=0)
    rated = models.BigIntegerField(default=0)
    solved = models.BigIntegerField(default=0)
    satisfied = models.BigIntegerField(default=0)
    redone = models.BigIntegerField(default=0)
    whistled = models.BigIntegerField(default=0)
    street_cases = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("indicator rollup")
        verbose_name_plural = _("indicator rollups")
        constraints = [
            # Also the index of area reads: unit = AREA, a category, the grids under the
            # area, a range of days.
            models.UniqueConstraint(
                fields=["unit", "category", "grid", "day"], name="indicator_day_leaf_unique"
            ),
        ]
        indexes = [
            # Reads of a department, an office or a person (all grids), and of the district.
            models.Index(fields=["unit", "category", "day"], name="indicator_day_unit_day"),
            # The stock (overdue at period end) sums every day up to the end: only the rows
            # where an overdue spell opened or closed, a small share of them.
            models.Index(
                fields=["unit", "category", "grid", "day"],
                name="indicator_day_overdue",
                condition=models.Q(overdue_start__gt=0) | models.Q(overdue_end__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} grid {self.grid_id} {self.category} {self.day}"


class CaseFacts(models.Model):
    """What one case contributes to the rollups: [[unit, category, day, metric, value], …]."""

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="facts")
    contributions = models.JSONField(default=list)
    # The grid the contributions are stored under in `IndicatorDay` (the case's grid then).
    grid = models.ForeignKey("geo.Area", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+", verbose_name=_("grid"))  # fmt: skip
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("case facts")
        verbose_name_plural = _("case facts")

    def __str__(self) -> str:
        return f"facts of case {self.case_id}"
