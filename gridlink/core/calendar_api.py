"""The working calendar through the API (`/api/v1/admin/calendar/…`), for superusers.

The same writes as `gridlink calendar` and the admin (docs/working-calendar.md): a day set
here is an administrator row (confirmed, never overwritten by the seed); confirming a
year is `gridlink calendar confirm YEAR`. Each write is audited, and moves the calendar
table's fingerprint, so every process's cached calendar (`core.worktime.current_calendar`)
reloads before it computes the next deadline. Deadlines already set on cases stay as they
were computed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema
from ninja.errors import HttpError
from pydantic import ConfigDict, Field

from gridlink.accounts.api import require_superuser
from gridlink.core.errors import DomainError
from gridlink.core.inputs import DATE_MAX, DATE_MIN
from gridlink.core.management.commands.calendar import (
    NAME_MAX,
    calendar_confirm,
    calendar_day_remove,
    calendar_day_set,
)
from gridlink.core.models import CalendarDay
from gridlink.core.worktime import calendar_load

router = Router(tags=["configuration"])

YEAR_MIN, YEAR_MAX = DATE_MIN.year, DATE_MAX.year


class DayOut(Schema):
    date: dt.date
    weekday: int = Field(description="1 = Monday … 7 = Sunday")
    kind: Literal["holiday", "makeup_workday"]
    working: bool = Field(description="a working day (make-up working day) or a rest day")
    name_zh: str
    name_en: str
    source: Literal["package", "holidays", "admin"]
    provisional: bool
    updated_at: dt.datetime


class YearOut(Schema):
    year: int
    days: list[DayOut]
    working_days: int = Field(description="working days in the year, as deadlines count them")
    provisional: bool = Field(description="some days are provisional: confirm the year")
    no_data: bool = Field(description="no calendar days at all: the default week applies")
    provisional_years: list[int] = Field(description="every year still to be confirmed")


class YearQuery(Schema):
    year: int = Field(ge=YEAR_MIN, le=YEAR_MAX)


class DayPath(Schema):
    day: dt.date = Field(description="YYYY-MM-DD")


class DayIn(Schema):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is refused, not ignored

    kind: Literal["holiday", "makeup_workday"] = Field(
        description="holiday: a rest day; makeup_workday: a working day (调休上班)"
    )
    name_zh: str = Field(min_length=1, max_length=NAME_MAX)
    name_en: str = Field("", max_length=NAME_MAX)


class ConfirmOut(Schema):
    year: int
    confirmed: int = Field(description="provisional days confirmed now (0: none were left)")


def day_out(row: CalendarDay) -> dict[str, Any]:
    return {
        "date": row.date,
        "weekday": row.date.isoweekday(),
        "kind": row.kind,
        "working": row.kind == CalendarDay.Kind.MAKEUP_WORKDAY,
        "name_zh": row.name_zh,
        "name_en": row.name_en,
        "source": row.source,
        "provisional": row.provisional,
        "updated_at": row.updated_at,
    }


def _in_range(day: dt.date) -> dt.date:
    if not DATE_MIN <= day <= DATE_MAX:
        raise DomainError(
            _("A calendar day lies between %(first)s and %(last)s.")
            % {"first": DATE_MIN.year, "last": DATE_MAX.year},
            code="range",
            field="day",
        )
    return day


@router.get("/admin/calendar/days", response=YearOut)
def calendar_year(request: HttpRequest, query: Query[YearQuery]) -> dict[str, Any]:
    """A year's holidays and make-up working days (provisional ones marked) and how many
    working days it has."""
    require_superuser(request)
    rows = list(CalendarDay.objects.filter(date__year=query.year).order_by("date"))
    calendar = calendar_load()
    first = dt.date(query.year, 1, 1)
    length = (dt.date(query.year, 12, 31) - first).days + 1
    working = sum(calendar.is_working_day(first + dt.timedelta(days=i)) for i in range(length))
    return {
        "year": query.year,
        "days": [day_out(r) for r in rows],
        "working_days": working,
        "provisional": any(r.provisional for r in rows),
        "no_data": not rows,
        "provisional_years": CalendarDay.provisional_years(),
    }


@router.put("/admin/calendar/days/{day}", response=DayOut)
def calendar_day_put(request: HttpRequest, path: Path[DayPath], body: DayIn) -> dict[str, Any]:
    """Make `day` a holiday (a rest day) or a make-up working day (a working day), with its
    name: an administrator row, confirmed, which the seed never overwrites."""
    actor = require_superuser(request)
    row, _changed = calendar_day_set(
        actor=actor,
        day=_in_range(path.day),
        kind=body.kind,
        name_zh=body.name_zh,
        name_en=body.name_en,
    )
    return day_out(row)


@router.delete("/admin/calendar/days/{day}", response={204: None})
def calendar_day_delete(request: HttpRequest, path: Path[DayPath]) -> HttpResponse:
    """Remove `day`'s row: it follows the default week again (Mon–Fri working). A day the
    seed writes comes back with the next seed; to override it, set it instead."""
    actor = require_superuser(request)
    if not calendar_day_remove(actor=actor, day=_in_range(path.day)):
        raise HttpError(
            404, _("The calendar has no row for %(day)s.") % {"day": path.day.isoformat()}
        )
    return HttpResponse(status=204)


@router.post("/admin/calendar/years/{year}/confirm", response=ConfirmOut)
def calendar_year_confirm(request: HttpRequest, year: int) -> dict[str, Any]:
    """Confirm a provisional year after checking it against the State Council's notice
    (`gridlink calendar confirm YEAR`): its days stop being provisional."""
    actor = require_superuser(request)
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise DomainError(
            _("A year between %(first)s and %(last)s.") % {"first": YEAR_MIN, "last": YEAR_MAX},
            code="range",
            field="year",
        )
    if not CalendarDay.objects.filter(date__year=year).exists():
        raise DomainError(
            _("The calendar has no days for %(year)s; nothing to confirm.") % {"year": year},
            code="no_days",
            field="year",
        )
    return {"year": year, "confirmed": calendar_confirm(year=year, actor=actor)}
