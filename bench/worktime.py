"""How fast is the deadline arithmetic? `python bench/worktime.py [--db]`.

Builds the working calendar in memory from the `chinesecalendar` package data (2004–2026,
as `gridlink calendar seed` would write it), then times 1,000 random starts in 2025–2026
through each public function of `gridlink.core.worktime`. With `--db` it also times the
path that passes no calendar (each call checks the database for calendar changes) against
the configured database, which must be migrated and seeded. Prints numbers; asserts
nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from zoneinfo import ZoneInfo

import django

N = 1_000
SEED = 1


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridlink.settings")
    django.setup()
    from gridlink.core.management.commands.calendar import package_days, package_years
    from gridlink.core.models import CalendarDay
    from gridlink.core.worktime import (
        WorkCalendar,
        add_working_days,
        add_working_hours,
        deadline_for,
        working_time_between,
        yellow_at,
    )

    started = time.perf_counter()
    days = package_days(set(package_years()))
    calendar = WorkCalendar(
        overrides={d: kind == CalendarDay.Kind.MAKEUP_WORKDAY for d, (kind, _, _) in days.items()},
        years=frozenset(d.year for d in days),
    )
    build_ms = (time.perf_counter() - started) * 1000
    print(f"calendar: {len(days)} days from the package, built in {build_ms:.1f} ms")

    rng = random.Random(SEED)
    tz = ZoneInfo("Asia/Shanghai")
    origin = dt.datetime(2025, 1, 1, tzinfo=tz)
    starts = [origin + dt.timedelta(minutes=rng.randrange(2 * 365 * 24 * 60)) for _ in range(N)]
    hours = [Decimal(rng.choice([2, 4, 8, 24, 40])) for _ in range(N)]
    day_counts = [rng.choice([1, 3, 5, 7, 15, 20]) for _ in range(N)]

    def run(label: str, call: Callable[[int], object]) -> None:
        t0 = time.perf_counter()
        for i in range(N):
            call(i)
        ms = (time.perf_counter() - t0) * 1000
        print(f"{label:<48} {ms:8.1f} ms for {N}  ({ms * 1000 / N:6.1f} µs each)")

    run(
        "add_working_hours (2–40 h)",
        lambda i: add_working_hours(start_at=starts[i], hours=hours[i], calendar=calendar),
    )
    run(
        "add_working_days (1–20 days)",
        lambda i: add_working_days(start_at=starts[i], days=day_counts[i], calendar=calendar),
    )
    run(
        "working_time_between (up to 30 days apart)",
        lambda i: working_time_between(
            start_at=starts[i],
            end_at=starts[i] + dt.timedelta(days=day_counts[i] * 1.5),
            calendar=calendar,
        ),
    )
    run(
        "deadline_for (days + extension + 2 suspensions)",
        lambda i: deadline_for(
            start_at=starts[i],
            days=day_counts[i],
            extra_days=7,
            suspensions=[
                (starts[i] + dt.timedelta(days=1), starts[i] + dt.timedelta(days=3)),
                (starts[i] + dt.timedelta(days=5), starts[i] + dt.timedelta(days=6)),
            ],
            calendar=calendar,
        ),
    )
    run(
        "yellow_at (1 working day)",
        lambda i: yellow_at(deadline_at=starts[i], calendar=calendar),
    )

    if "--db" in sys.argv:
        from gridlink.core.worktime import calendar_load, current_calendar

        t0 = time.perf_counter()
        loaded = calendar_load()
        print(
            f"calendar_load from the database: {len(loaded.overrides)} days, "
            f"{(time.perf_counter() - t0) * 1000:.1f} ms"
        )
        current_calendar()
        run(
            "add_working_days, no calendar passed (DB check)",
            lambda i: add_working_days(start_at=starts[i], days=day_counts[i]),
        )


if __name__ == "__main__":
    main()
