"""System checks that read the database (run by `gridlink migrate` and
`gridlink check --database default`): the working calendar's provisional years."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning
from django.db import DatabaseError


@register(Tags.database)
def calendar_provisional(
    app_configs: Sequence[Any] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    """A warning per year whose days came from the `holidays` package and are unconfirmed."""
    if not databases:
        return []
    from gridlink.core.models import CalendarDay

    try:
        years = CalendarDay.provisional_years()
    except DatabaseError:  # not migrated yet: nothing to warn about
        return []
    return [
        CheckWarning(
            f"The {year} working calendar is provisional (seeded from the holidays package).",
            hint=(
                "Check it against the State Council's notice, add its make-up working days, "
                f"then run `gridlink calendar confirm {year}`."
            ),
            id="gridlink.W001",
        )
        for year in years
    ]
