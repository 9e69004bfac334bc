"""The working calendar and working-time deadline arithmetic (gridlink.core.worktime).

Golden values are worked out by hand from the calendar below (default hours 08:30–12:00 and
13:30–17:30, 7.5 h a day); none is computed by the code under test.

2025 (State Council notice, as chinesecalendar 1.11 has it):
  Spring Festival: Tue Jan 28 – Tue Feb 4 off; Sun Jan 26 and Sat Feb 8 worked.
  National Day + Mid-Autumn: Wed Oct 1 – Wed Oct 8 off; Sun Sep 28 and Sat Oct 11 worked.
2026:
  Spring Festival: Sun Feb 15 – Mon Feb 23 off; Sat Feb 14 and Sat Feb 28 worked.
  Mid-Autumn: Fri Sep 25 – Sun Sep 27 off; National Day: Thu Oct 1 – Wed Oct 7 off;
  Sun Sep 20 and Sat Oct 10 worked.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.test import RequestFactory

from gridlink.core.models import AuditEvent, CalendarDay, WorkingHours
from gridlink.core.worktime import (
    add_working_days,
    add_working_hours,
    calendar_gap,
    calendar_load,
    current_calendar,
    deadline_for,
    working_time_between,
    yellow_at,
)
from tests.factories import UserFactory

SH = ZoneInfo("Asia/Shanghai")
H = dt.timedelta(hours=1)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SH)


def seed(years: str = "2025-2026") -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("calendar", "seed", "--years", years, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def _from_scratch(request):
    """These tests seed and import calendars themselves: each database test starts with no
    calendar days (the 2026 calendar is otherwise loaded once per test database)."""
    if "db" in request.fixturenames:
        request.getfixturevalue("no_reference_calendar")


@pytest.fixture
def cal(db):
    """The 2025–2026 calendar as `gridlink calendar seed` writes it, loaded in memory."""
    seed()
    return calendar_load()


# --- The calendar itself -----------------------------------------------------------------


def test_package_data_matches_the_state_council_notices(cal):
    off = {d for d, working in cal.overrides.items() if not working}
    worked = {d for d, working in cal.overrides.items() if working}
    spring_2025 = {dt.date(2025, 1, 28) + dt.timedelta(days=i) for i in range(8)}
    assert spring_2025 <= off and dt.date(2025, 1, 27) not in off
    assert {dt.date(2025, 1, 26), dt.date(2025, 2, 8)} <= worked
    assert {dt.date(2025, 10, i) for i in range(1, 9)} <= off
    assert {dt.date(2025, 9, 28), dt.date(2025, 10, 11)} <= worked
    assert {dt.date(2026, 2, i) for i in range(15, 24)} <= off
    assert {dt.date(2026, 2, 14), dt.date(2026, 2, 28)} <= worked
    assert {dt.date(2026, 9, 25), *(dt.date(2026, 10, i) for i in range(1, 8))} <= off
    assert {dt.date(2026, 9, 20), dt.date(2026, 10, 10)} <= worked
    assert not cal.is_working_day(dt.date(2026, 10, 7))
    assert cal.is_working_day(dt.date(2026, 10, 8))


# --- Working hours -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # Friday afternoon before the 2025 Spring Festival: Fri 2.5 h, then make-up Sunday.
        (at(2025, 1, 24, 15), 8, at(2025, 1, 26, 15, 30)),
        (at(2025, 1, 24, 15), 16, at(2025, 1, 27, 16)),
        # … across the holiday: Fri 2.5 + Sun 7.5 + Mon 7.5, Jan 28–Feb 4 off, Wed Feb 5 6.5.
        (at(2025, 1, 24, 15), 24, at(2025, 2, 5, 16, 30)),
        # Started on the make-up Sunday Jan 26 2025.
        (at(2025, 1, 26, 10), 4, at(2025, 1, 26, 15, 30)),
        (at(2025, 1, 26, 10), 10, at(2025, 1, 27, 14)),
        # Started in the evening before the holiday: counts from Wed Feb 5 08:30.
        (at(2025, 1, 27, 20), 4, at(2025, 2, 5, 14)),
        # A deadline that uses up the morning ends at 12:00, not at 13:30.
        (at(2025, 1, 27, 20), Decimal("3.5"), at(2025, 2, 5, 12)),
        # Started in the lunch break: counts from 13:30.
        (at(2025, 2, 6, 12, 30), 2, at(2025, 2, 6, 15, 30)),
        (at(2025, 2, 6, 12, 30), 5, at(2025, 2, 7, 9, 30)),
        # National Day 2025: Tue Sep 30 3.5 h, Oct 1–8 off, Thu Oct 9.
        (at(2025, 9, 30, 14), Decimal("7.5"), at(2025, 10, 9, 14)),
        # Spring Festival 2026: Fri Feb 13 1.5 h, make-up Sat Feb 14, Feb 15–23 off.
        (at(2026, 2, 13, 16), 8, at(2026, 2, 14, 16, 30)),
        (at(2026, 2, 13, 16), 16, at(2026, 2, 24, 17)),
        # National Day 2026: Wed Sep 30 2.5 h, Oct 1–7 off, Thu Oct 8.
        (at(2026, 9, 30, 15), 4, at(2026, 10, 8, 10)),
        # A float works as well as a Decimal; 0.25 h = 15 minutes.
        (at(2026, 10, 8, 8, 30), 0.25, at(2026, 10, 8, 8, 45)),
    ],
)
def test_add_working_hours(cal, start, hours, expected):
    assert add_working_hours(start_at=start, hours=hours, calendar=cal) == expected


# --- Working days --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Friday afternoon before the 2025 Spring Festival: Sun Jan 26 (1), Mon Jan 27 (2),
        # Wed Feb 5 (3), Thu (4), Fri (5), make-up Sat Feb 8 (6), Mon Feb 10 (7).
        (at(2025, 1, 24, 15), 1, at(2025, 1, 26, 17, 30)),
        (at(2025, 1, 24, 15), 3, at(2025, 2, 5, 17, 30)),
        (at(2025, 1, 24, 15), 6, at(2025, 2, 8, 17, 30)),
        (at(2025, 1, 24, 15), 7, at(2025, 2, 10, 17, 30)),
        # The start day never counts, even before working hours begin.
        (at(2025, 1, 24, 7), 1, at(2025, 1, 26, 17, 30)),
        # Started on the make-up Sunday: Mon Jan 27 (1), Wed Feb 5 (2).
        (at(2025, 1, 26, 10), 1, at(2025, 1, 27, 17, 30)),
        (at(2025, 1, 26, 10), 2, at(2025, 2, 5, 17, 30)),
        # Started in the evening before the holiday.
        (at(2025, 1, 27, 20), 1, at(2025, 2, 5, 17, 30)),
        # A hotline complaint, 15 working days from Mon Jan 20 2025: Jan 21–24 (4),
        # Jan 26–27 (6), Feb 5–8 (10), Feb 10–14 (15).
        (at(2025, 1, 20, 10), 15, at(2025, 2, 14, 17, 30)),
        # National Day 2025: Sun Sep 28 (1), Mon (2), Tue (3), Thu Oct 9 (4), Fri (5),
        # make-up Sat Oct 11 (6).
        (at(2025, 9, 26, 16), 1, at(2025, 9, 28, 17, 30)),
        (at(2025, 9, 26, 16), 4, at(2025, 10, 9, 17, 30)),
        (at(2025, 9, 26, 16), 6, at(2025, 10, 11, 17, 30)),
        # Spring Festival 2026: make-up Sat Feb 14 (1), Tue Feb 24 (2) … Fri Feb 27 (5),
        # make-up Sat Feb 28 (6), Mon Mar 2 (7).
        (at(2026, 2, 13, 16), 1, at(2026, 2, 14, 17, 30)),
        (at(2026, 2, 13, 16), 2, at(2026, 2, 24, 17, 30)),
        (at(2026, 2, 13, 16), 6, at(2026, 2, 28, 17, 30)),
        (at(2026, 2, 13, 16), 7, at(2026, 3, 2, 17, 30)),
        # Started on the make-up Sunday Sep 20 2026: Sep 21–24 (4), Fri Sep 25 off, Mon
        # Sep 28 (5).
        (at(2026, 9, 20, 9), 5, at(2026, 9, 28, 17, 30)),
        # Wed Sep 30 2026: Oct 1–7 off, Thu Oct 8 (1), Fri (2), make-up Sat Oct 10 (3).
        (at(2026, 9, 30, 15), 3, at(2026, 10, 10, 17, 30)),
    ],
)
def test_add_working_days(cal, start, days, expected):
    assert add_working_days(start_at=start, days=days, calendar=cal) == expected


def test_inputs_in_another_time_zone_come_back_in_shanghai_time(cal):
    # Fri Jan 24 2025 07:00 UTC = 15:00 in Shanghai.
    start = dt.datetime(2025, 1, 24, 7, tzinfo=dt.UTC)
    result = add_working_hours(start_at=start, hours=8, calendar=cal)
    assert result == at(2025, 1, 26, 15, 30)
    assert result.utcoffset() == 8 * H


# --- Working time between ------------------------------------------------------------------


def test_working_time_between(cal):
    # Jan 24, Sun Jan 26, Jan 27, Feb 5, 6, 7 = 6 working days.
    span = working_time_between(
        start_at=at(2025, 1, 24, 8, 30), end_at=at(2025, 2, 7, 17, 30), calendar=cal
    )
    assert span == 45 * H
    assert (
        working_time_between(
            start_at=at(2025, 2, 7, 17, 30), end_at=at(2025, 1, 24, 8, 30), calendar=cal
        )
        == -45 * H
    )
    # 11:00–12:00 and 13:30–14:00.
    assert working_time_between(
        start_at=at(2025, 2, 6, 11), end_at=at(2025, 2, 6, 14), calendar=cal
    ) == dt.timedelta(minutes=90)
    # The whole 2026 National Day break holds no working time.
    assert working_time_between(
        start_at=at(2026, 9, 30, 17, 30), end_at=at(2026, 10, 8, 8, 30), calendar=cal
    ) == dt.timedelta(0)


# --- Suspensions and extensions ------------------------------------------------------------


def test_suspension_spanning_the_2025_spring_festival(cal):
    # 5 working days from Mon Jan 20 09:00 end Sun Jan 26 17:30. Suspended Thu Jan 23 10:00
    # to Thu Feb 6 10:00: 16.5 h were used (Jan 21, 22, Jan 23 08:30–10:00); the other 21 h
    # run from Feb 6 10:00: Feb 6 6 h, Fri Feb 7 7.5 h, make-up Sat Feb 8 7.5 h.
    deadline = deadline_for(
        start_at=at(2025, 1, 20, 9),
        days=5,
        suspensions=[(at(2025, 1, 23, 10), at(2025, 2, 6, 10))],
        calendar=cal,
    )
    assert deadline == at(2025, 2, 8, 17, 30)


def test_suspension_spanning_2026_national_day_in_working_hours(cal):
    # 16 working hours from Tue Sep 29 09:00; suspended Wed Sep 30 14:30 → Fri Oct 9 09:30.
    # Used before: Sep 29 7 h + Sep 30 4.5 h = 11.5 h; 4.5 h left from Oct 9 09:30:
    # 09:30–12:00 2.5 h, then 13:30 + 2 h.
    deadline = deadline_for(
        start_at=at(2026, 9, 29, 9),
        hours=16,
        suspensions=[(at(2026, 9, 30, 14, 30), at(2026, 10, 9, 9, 30))],
        calendar=cal,
    )
    assert deadline == at(2026, 10, 9, 15, 30)
    assert deadline_for(start_at=at(2026, 9, 29, 9), hours=16, calendar=cal) == at(2026, 10, 8, 10)


def test_hotline_extension_of_seven_working_days(cal):
    # 15 working days end Fri Feb 14 2025; 7 more: Feb 17–21 (5), Feb 24 (6), Tue Feb 25 (7).
    deadline = deadline_for(start_at=at(2025, 1, 20, 10), days=15, extra_days=7, calendar=cal)
    assert deadline == at(2025, 2, 25, 17, 30)


def test_extension_in_hours_and_in_days_on_an_hours_allowance(cal):
    # 4 + 4 working hours from Fri Sep 26 2025 16:00: Fri 1.5 h, make-up Sun Sep 28 6.5 h.
    assert deadline_for(start_at=at(2025, 9, 26, 16), hours=4, extra_hours=4, calendar=cal) == at(
        2025, 9, 28, 16, 30
    )
    # 4 working hours end Sun Sep 28 11:00; 2 more working days: Mon (1), Tue Sep 30 (2).
    assert deadline_for(start_at=at(2025, 9, 26, 16), hours=4, extra_days=2, calendar=cal) == at(
        2025, 9, 30, 17, 30
    )


def test_suspension_and_extension_across_the_2026_spring_festival(cal):
    # 3 + 2 working days from Tue Feb 10: Feb 11, 12 used; suspended Fri Feb 13 08:30 →
    # Wed Feb 25 08:30; the other 3: Feb 25, 26, 27.
    deadline = deadline_for(
        start_at=at(2026, 2, 10, 10),
        days=3,
        extra_days=2,
        suspensions=[(at(2026, 2, 13, 8, 30), at(2026, 2, 25, 8, 30))],
        calendar=cal,
    )
    assert deadline == at(2026, 2, 27, 17, 30)


def test_suspension_after_the_deadline_changes_nothing(cal):
    deadline = deadline_for(
        start_at=at(2025, 1, 20, 9),
        days=1,
        suspensions=[(at(2025, 1, 22, 9), at(2025, 1, 23, 9))],
        calendar=cal,
    )
    assert deadline == at(2025, 1, 21, 17, 30)


def test_overlapping_suspensions_count_once(cal):
    # 7.5 h from Mon Jan 13 2025 08:30 end 17:30; suspended 09:00–10:00 and 09:30–10:30
    # stops the clock 1.5 h in all → Tue Jan 14 10:00.
    deadline = deadline_for(
        start_at=at(2025, 1, 13, 8, 30),
        hours=Decimal("7.5"),
        suspensions=[
            (at(2025, 1, 13, 9, 30), at(2025, 1, 13, 10, 30)),
            (at(2025, 1, 13, 9), at(2025, 1, 13, 10)),
        ],
        calendar=cal,
    )
    assert deadline == at(2025, 1, 14, 10)


# --- Yellow cards --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deadline", "warn_days", "expected"),
    [
        (at(2025, 2, 5, 17, 30), 1, at(2025, 1, 27, 17, 30)),  # over the Spring Festival
        (at(2025, 10, 9, 17, 30), 1, at(2025, 9, 30, 17, 30)),  # over National Day
        (at(2025, 10, 9, 17, 30), 2, at(2025, 9, 29, 17, 30)),
        (at(2025, 10, 9, 14), 1, at(2025, 9, 30, 14)),  # same point of the working day
        (at(2025, 10, 13, 17, 30), 1, at(2025, 10, 11, 17, 30)),  # the make-up Saturday
        (at(2026, 2, 24, 17, 30), 1, at(2026, 2, 14, 17, 30)),
        (at(2026, 10, 8, 10), 1, at(2026, 9, 30, 10)),
        # A deadline on a rest day counts from the end of the working day before it.
        (at(2026, 10, 3, 12), 1, at(2026, 9, 29, 17, 30)),
        (at(2026, 10, 8, 10), 0, at(2026, 10, 8, 10)),
    ],
)
def test_yellow_at(cal, deadline, warn_days, expected):
    assert yellow_at(deadline_at=deadline, warn_days=warn_days, calendar=cal) == expected


# --- Rejected input ------------------------------------------------------------------------


def test_naive_datetimes_are_rejected(cal):
    naive = dt.datetime(2025, 1, 24, 15)
    with pytest.raises(ValueError, match="aware"):
        add_working_hours(start_at=naive, hours=1, calendar=cal)
    with pytest.raises(ValueError, match="aware"):
        add_working_days(start_at=naive, days=1, calendar=cal)
    with pytest.raises(ValueError, match="aware"):
        working_time_between(start_at=at(2025, 1, 24), end_at=naive, calendar=cal)
    with pytest.raises(ValueError, match="aware"):
        yellow_at(deadline_at=naive, calendar=cal)
    with pytest.raises(ValueError, match="aware"):
        deadline_for(start_at=at(2025, 1, 24), days=1, suspensions=[(naive, naive)], calendar=cal)


def test_bad_amounts_are_rejected(cal):
    start = at(2025, 1, 24, 15)
    with pytest.raises(ValueError, match="hours"):
        add_working_hours(start_at=start, hours=-1, calendar=cal)
    with pytest.raises(ValueError, match="hours"):
        add_working_hours(start_at=start, hours=float("nan"), calendar=cal)
    with pytest.raises(ValueError, match="at least 1"):
        add_working_days(start_at=start, days=0, calendar=cal)
    with pytest.raises(ValueError, match="exactly one"):
        deadline_for(start_at=start, hours=1, days=1, calendar=cal)
    with pytest.raises(ValueError, match="resumes before"):
        deadline_for(
            start_at=start, days=1, suspensions=[(at(2025, 2, 1), at(2025, 1, 30))], calendar=cal
        )


# --- Years without data, and the database-backed calendar ----------------------------------


def test_a_year_without_data_follows_the_default_week(cal):
    assert calendar_gap(year=2027, calendar=cal)
    assert not calendar_gap(year=2025, calendar=cal)
    # Fri Jan 29 2027 → Mon Feb 1 2027, weekends only.
    assert add_working_days(start_at=at(2027, 1, 29, 16), days=1, calendar=cal) == at(
        2027, 2, 1, 17, 30
    )


def test_current_calendar_follows_database_changes(db):
    seed("2025")
    assert not current_calendar().is_working_day(dt.date(2025, 1, 28))
    assert add_working_days(start_at=at(2025, 1, 27, 10), days=1) == at(2025, 2, 5, 17, 30)
    CalendarDay.objects.filter(date=dt.date(2025, 1, 28)).update(
        kind=CalendarDay.Kind.MAKEUP_WORKDAY,
        source=CalendarDay.Source.ADMIN,
        updated_at=at(2030, 1, 1),
    )
    assert add_working_days(start_at=at(2025, 1, 27, 10), days=1) == at(2025, 1, 28, 17, 30)
    assert calendar_gap(year=2026)


def test_working_hours_rows_apply_from_their_date(cal, db):
    WorkingHours.objects.create(
        valid_from=dt.date(2025, 6, 1),
        morning_start=dt.time(9),
        morning_end=dt.time(12),
        afternoon_start=dt.time(14),
        afternoon_end=dt.time(18),
    )
    cal = calendar_load()
    # Fri May 30 still has the default hours (17:00–17:30); Mon Jun 2 is Dragon Boat
    # Festival; Tue Jun 3 starts at 09:00.
    assert add_working_hours(start_at=at(2025, 5, 30, 17), hours=1, calendar=cal) == at(
        2025, 6, 3, 9, 30
    )
    assert add_working_hours(start_at=at(2025, 6, 3, 8), hours=4, calendar=cal) == at(
        2025, 6, 3, 15
    )
    assert add_working_days(start_at=at(2025, 6, 3, 8), days=1, calendar=cal) == at(2025, 6, 4, 18)


# --- WorkingHours validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("times", "field"),
    [
        ((dt.time(12), dt.time(8, 30), dt.time(13, 30), dt.time(17, 30)), "morning_end"),
        ((dt.time(8, 30), dt.time(12), dt.time(17, 30), dt.time(13, 30)), "afternoon_end"),
        ((dt.time(8, 30), dt.time(14), dt.time(13, 30), dt.time(17, 30)), "afternoon_start"),
    ],
)
def test_working_hours_sessions_must_be_ordered_and_apart(db, times, field):
    row = WorkingHours(
        valid_from=dt.date(2025, 1, 1),
        morning_start=times[0],
        morning_end=times[1],
        afternoon_start=times[2],
        afternoon_end=times[3],
    )
    with pytest.raises(ValidationError) as info:
        row.full_clean()
    assert field in info.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()


def test_default_working_hours_are_valid_and_seven_and_a_half_hours(db):
    row = WorkingHours(valid_from=dt.date(2025, 1, 1))
    row.full_clean()
    row.save()
    assert calendar_load().day_length(dt.date(2025, 1, 2)) == dt.timedelta(hours=7, minutes=30)


# --- gridlink calendar seed ----------------------------------------------------------------


def test_seed_is_idempotent(db):
    before = AuditEvent.objects.filter(action="calendar.seeded").count()
    out, _ = seed()
    assert "created" in out
    count = CalendarDay.objects.count()
    stamps = dict(CalendarDay.objects.values_list("date", "updated_at"))
    audits = AuditEvent.objects.filter(action="calendar.seeded").count()
    assert audits == before + 1

    out, _ = seed()
    assert "0 created, 0 updated, 0 removed" in out
    assert CalendarDay.objects.count() == count
    assert dict(CalendarDay.objects.values_list("date", "updated_at")) == stamps
    assert AuditEvent.objects.filter(action="calendar.seeded").count() == audits


def test_seed_keeps_administrator_rows_and_removes_stale_package_rows(db):
    seed("2025")
    # An administrator turned Jan 28 2025 into a working day; a package row the package no
    # longer lists (a corrected date) is stale.
    CalendarDay.objects.filter(date=dt.date(2025, 1, 28)).update(
        kind=CalendarDay.Kind.MAKEUP_WORKDAY, name_zh="改为上班", source=CalendarDay.Source.ADMIN
    )
    CalendarDay.objects.create(
        date=dt.date(2025, 3, 3), kind="holiday", name_zh="旧数据", source="package"
    )
    CalendarDay.objects.create(
        date=dt.date(2025, 3, 4), kind="holiday", name_zh="本地假日", source="admin"
    )
    out, _ = seed("2025")
    assert "1 removed" in out and "1 administrator rows kept" in out
    kept = CalendarDay.objects.get(date=dt.date(2025, 1, 28))
    assert (kept.kind, kept.name_zh, kept.source) == ("makeup_workday", "改为上班", "admin")
    assert not CalendarDay.objects.filter(date=dt.date(2025, 3, 3)).exists()
    assert CalendarDay.objects.filter(date=dt.date(2025, 3, 4), source="admin").exists()


def test_seed_warns_about_years_the_package_does_not_know(db):
    # 2027 is not in chinesecalendar 1.11: seeded from `holidays`, provisional, with a
    # warning (tests/test_calendar_sources.py has the details).
    _out, err = seed("2026-2027")
    assert "the 2027 calendar is provisional" in err
    assert set(
        CalendarDay.objects.filter(date__year=2027).values_list("provisional", flat=True)
    ) == {True}
    assert not CalendarDay.objects.filter(date__year=2026, provisional=True).exists()


def test_seed_rejects_a_bad_year_range(db):
    with pytest.raises(CommandError, match="backwards"):
        seed("2026-2024")


def test_show_lists_a_year(cal):
    out = StringIO()
    call_command("calendar", "show", "2025", stdout=out)
    text = out.getvalue()
    assert "2025-01-26 Sun  makeup_workday 春节" in text
    assert "2025: " in text and " working days" in text


# --- gridlink calendar import --------------------------------------------------------------


def write_csv(tmp_path, text: str):
    path = tmp_path / "days.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_writes_administrator_rows(db, tmp_path):
    seed("2026")
    path = write_csv(
        tmp_path,
        "date,kind,name_zh,name_en\n"
        "2027-01-01,holiday,元旦,New Year's Day\n"
        "2027-02-07,makeup_workday,春节,Spring Festival\n"
        "2026-10-07,makeup_workday,国庆节调休,National Day\n",
    )
    out = StringIO()
    call_command("calendar", "import", path, stdout=out)
    assert "2 created, 1 updated, 0 unchanged" in out.getvalue()
    assert CalendarDay.objects.get(date=dt.date(2027, 2, 7)).source == "admin"
    changed = CalendarDay.objects.get(date=dt.date(2026, 10, 7))  # a package row before
    assert (changed.kind, changed.name_zh, changed.source) == (
        "makeup_workday",
        "国庆节调休",
        "admin",
    )
    assert not calendar_gap(year=2027)


def test_import_with_errors_writes_nothing(db, tmp_path):
    path = write_csv(
        tmp_path,
        "date,kind,name_zh,name_en\n"
        "2027-01-01,holiday,元旦,New Year's Day\n"
        "2027-02-30,holiday,春节,Spring Festival\n"
        "2027-02-06,day_off,春节,Spring Festival\n"
        "2027-02-07,holiday,,Spring Festival\n"
        "2027-01-01,holiday,元旦,again\n"
        "2027-03-01,holiday\n",
    )
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("calendar", "import", path, stderr=err)
    text = err.getvalue()
    assert "line 3: date: '2027-02-30' is not a date" in text
    assert "line 4: kind: 'day_off'" in text
    assert "line 5: name_zh: required" in text
    assert "line 6: date: 2027-01-01 appears twice" in text
    assert "line 7: expected 4 columns" in text
    assert not CalendarDay.objects.exists()


def test_import_rejects_a_wrong_header(db, tmp_path):
    path = write_csv(tmp_path, "day,kind,name\n2027-01-01,holiday,元旦\n")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("calendar", "import", path, stderr=err)
    assert "line 1: the header must be date,kind,name_zh,name_en" in err.getvalue()
    assert not CalendarDay.objects.exists()


# --- The admin -----------------------------------------------------------------------------


def calendar_admin_request(user):
    request = RequestFactory().get("/admin/core/calendarday/")
    request.user = user
    return request


def grant_model_permissions(user):
    user.is_staff = True
    user.save()
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="core",
            codename__in=[
                f"{action}_{model}"
                for action in ("view", "add", "change", "delete")
                for model in ("calendarday", "workinghours")
            ],
        )
    )


@pytest.mark.parametrize("model", [CalendarDay, WorkingHours])
def test_admin_edit_needs_reference_edit_or_superuser(personas, model):
    model_admin = django_admin.site._registry[model]
    for user in (personas.admin, personas.dispatcher):
        grant_model_permissions(user)
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    day = CalendarDay.objects.create(date=dt.date(2027, 1, 1), kind="holiday", name_zh="元旦")

    for user, may_edit in ((personas.admin, True), (superuser, True), (personas.dispatcher, False)):
        request = calendar_admin_request(type(user).objects.get(pk=user.pk))
        assert model_admin.has_view_permission(request)
        assert model_admin.has_add_permission(request) is may_edit
        assert model_admin.has_change_permission(request, day) is may_edit
        assert model_admin.has_delete_permission(request, day) is may_edit


def test_a_day_saved_in_the_admin_becomes_an_administrator_row(personas, client):
    seed("2025")
    grant_model_permissions(personas.admin)
    client.force_login(personas.admin)
    day = CalendarDay.objects.get(date=dt.date(2025, 10, 8))
    assert day.source == "package"
    response = client.post(
        f"/admin/core/calendarday/{day.pk}/change/",
        {
            "date": "2025-10-08",
            "kind": "makeup_workday",
            "name_zh": "国庆节",
            "name_en": "National Day",
        },
    )
    assert response.status_code == 302
    day.refresh_from_db()
    assert (day.kind, day.source) == ("makeup_workday", "admin")
    seed("2025")
    day.refresh_from_db()
    assert day.kind == "makeup_workday"

    listing = client.get("/admin/core/calendarday/?year=2025&kind=makeup_workday")
    assert listing.status_code == 200
    assert b"2025" in listing.content


# --- Multi-phase handling deadlines (gridlink.cases.phases) -------------------------------


ILLEGAL_CONSTRUCTION = [
    ("stop_work", 4, "working_hours"),
    ("penalty", 7, "working_days"),
    ("demolition", 20, "working_days"),
]


def phases(rows=ILLEGAL_CONSTRUCTION):
    from gridlink.cases.phases import Phase

    return [Phase(code=c, name_zh=c, name_en=c, amount=a, unit=u) for c, a, u in rows]


def test_phase_due_times_count_each_phase_from_the_start(cal):
    from gridlink.cases.phases import phase_due_times

    # Mon 2025-09-22 09:00. 4 h: 3 h in the morning, 1 h after lunch → 14:30.
    # 7 d: Tue 23 … Fri 26 (4), make-up Sun 28 (5), Mon 29 (6), Tue 30 (7).
    # 20 d: Oct 1–8 off; Thu 9 (8), Fri 10 (9), make-up Sat 11 (10), Oct 13–17 (15),
    # Oct 20–24 (20).
    due = phase_due_times(start_at=at(2025, 9, 22, 9), phases=phases(), calendar=cal)
    assert [d.due_at for d in due] == [
        at(2025, 9, 22, 14, 30),
        at(2025, 9, 30, 17, 30),
        at(2025, 10, 24, 17, 30),
    ]
    assert [d.phase.code for d in due] == ["stop_work", "penalty", "demolition"]
    assert not any(d.passed for d in due)
    late = phase_due_times(
        start_at=at(2025, 9, 22, 9), phases=phases(), now=at(2025, 10, 1, 9), calendar=cal
    )
    assert [d.passed for d in late] == [True, True, False]


def test_phases_stop_for_a_suspension_and_only_the_last_takes_an_extension(cal):
    from gridlink.cases.phases import phase_due_times

    # Suspended Tue Sep 23 08:30 → Wed Sep 24 08:30: one working day (7.5 h), after the
    # first phase ended, so it moves the later two: Tue Sep 30 17:30 + 7.5 h → Thu Oct 9
    # 17:30; Fri Oct 24 17:30 + 7.5 h → Mon Oct 27 17:30. Two extension days move only the
    # last: Tue 28 (1), Wed 29 (2).
    due = phase_due_times(
        start_at=at(2025, 9, 22, 9),
        phases=phases(),
        suspensions=[(at(2025, 9, 23, 8, 30), at(2025, 9, 24, 8, 30))],
        extra_days=2,
        calendar=cal,
    )
    assert [d.due_at for d in due] == [
        at(2025, 9, 22, 14, 30),
        at(2025, 10, 9, 17, 30),
        at(2025, 10, 29, 17, 30),
    ]


@pytest.mark.parametrize(
    ("rows", "handle", "message"),
    [
        ([("a", 4, "working_hours")], None, "at least two phases"),
        ([("a", 2, "working_days"), ("b", 2, "working_days")], None, "must end after"),
        ([("a", 1, "working_days"), ("b", 4, "working_hours")], None, "must end after"),
        ([("a", 4, "working_hours"), ("a", 5, "working_days")], None, "appears twice"),
        ([("a", 4, "working_hours"), ("b", 31, "working_days")], None, "1 to 30"),
        ([("a", 4, "working_hours"), ("b", 5, "working_days")], (7, "working_days"), "handling"),
    ],
)
def test_bad_phase_lists_are_refused(rows, handle, message):
    from gridlink.cases.phases import phases_problem

    raw = [
        {"code": c, "name_zh": "阶段", "name_en": "Phase", "amount": a, "unit": u}
        for c, a, u in rows
    ]
    problem = phases_problem(raw, handle=handle)
    assert problem is not None and message in problem
    good = [
        {"code": c, "name_zh": "阶段", "name_en": "Phase", "amount": a, "unit": u}
        for c, a, u in ILLEGAL_CONSTRUCTION
    ]
    assert phases_problem(good, handle=(20, "working_days")) is None
