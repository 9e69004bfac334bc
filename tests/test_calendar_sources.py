"""The two sources of the working calendar: `chinesecalendar` (the State Council's notices,
to 2026 in 1.11) and the `holidays` package's China calendar, which seeds later years as
provisional days (docs/working-calendar.md, "Where the days come from").

Golden values for 2027 are worked out by hand from the holidays package's rules (Spring
Festival: New Year's Eve Fri Feb 5 and Sat Feb 6 – Mon Feb 8, with 补假 Tue Feb 9 and
Wed Feb 10; no make-up working days, as no notice is in that package yet).
"""

from __future__ import annotations

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError

from gridlink.core.checks import calendar_provisional
from gridlink.core.management.commands.calendar import (
    default_years,
    holidays_days,
    package_days,
)
from gridlink.core.models import AuditEvent, CalendarDay
from gridlink.core.worktime import add_working_days, add_working_hours, calendar_load

SH = ZoneInfo("Asia/Shanghai")

# Days on which the two sources disagree about working or not, with the reason. Empty:
# for 2024–2026 they agree on every day. A new entry needs a reason a reader can check
# against the State Council's notice.
KNOWN_DIFFERENCES: dict[dt.date, str] = {}


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SH)


def working(days: dict[dt.date, tuple[str, str, str]], day: dt.date) -> bool:
    """Working or not, by the default week and a source's days."""
    if day in days:
        return days[day][0] == CalendarDay.Kind.MAKEUP_WORKDAY
    return day.weekday() < 5


def seed(years: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("calendar", "seed", "--years", years, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_both_sources_agree_on_every_day(year):
    ours, theirs = package_days({year}), holidays_days({year})
    # Not a trivial agreement: both list the year's holidays and make-up working days.
    for days in (ours, theirs):
        assert sum(kind == "holiday" for kind, *_ in days.values()) >= 10
        assert sum(kind == "makeup_workday" for kind, *_ in days.values()) >= 4
    differences = {}
    day = dt.date(year, 1, 1)
    while day.year == year:
        if working(ours, day) != working(theirs, day):
            differences[day] = (working(ours, day), working(theirs, day))
        day += dt.timedelta(days=1)
    assert set(differences) == {d for d in KNOWN_DIFFERENCES if d.year == year}, differences


def test_holidays_lists_the_2026_make_up_days_of_the_notice():
    days = holidays_days({2026})
    makeup = sorted(d for d, (kind, *_) in days.items() if kind == "makeup_workday")
    assert makeup == [
        dt.date(2026, 1, 4),
        dt.date(2026, 2, 14),
        dt.date(2026, 2, 28),
        dt.date(2026, 5, 9),
        dt.date(2026, 9, 20),
        dt.date(2026, 10, 10),
    ]


def test_a_year_chinesecalendar_does_not_know_is_seeded_provisional(db):
    out, err = seed("2026-2027")
    assert "2027: chinesecalendar has no data; seeded from holidays" in out
    assert "the 2027 calendar is provisional" in err
    assert "calendar confirm 2027" in err
    rows_2027 = CalendarDay.objects.filter(date__year=2027)
    assert rows_2027.count() == 19
    assert set(rows_2027.values_list("source", "provisional")) == {("holidays", True)}
    assert set(
        CalendarDay.objects.filter(date__year=2026).values_list("source", "provisional")
    ) == {("package", False)}
    assert CalendarDay.provisional_years() == [2027]
    spring = CalendarDay.objects.get(date=dt.date(2027, 2, 9))
    assert (spring.kind, spring.name_zh) == ("holiday", "春节（补假）")
    # A second run changes nothing.
    out, _ = seed("2026-2027")
    assert "0 created, 0 updated, 0 removed" in out


def test_deadlines_run_on_provisional_days(db):
    seed("2026-2027")
    cal = calendar_load()
    # Thu Feb 4 2027: Fri 5 (除夕) to Wed 10 off; Thu 11 (1), Fri 12 (2).
    assert add_working_days(start_at=at(2027, 2, 4, 10), days=2, calendar=cal) == at(
        2027, 2, 12, 17, 30
    )
    # Across New Year: Thu Dec 31 2026 16:30 + 4 h → 1 h on Thu, Fri Jan 1 off, Mon 3 h.
    assert add_working_hours(start_at=at(2026, 12, 31, 16, 30), hours=4) == at(2027, 1, 4, 11, 30)


def test_seed_without_years_covers_next_year():
    years = default_years(today=dt.date(2026, 12, 1))
    assert 2027 in years and 2026 in years and 2004 in years
    assert max(years) == 2027


def test_confirm_clears_the_warnings_and_a_later_seed_keeps_the_confirmation(db):
    seed("2027")
    assert calendar_provisional(databases=["default"])[0].id == "gridlink.W001"
    show = StringIO()
    call_command("calendar", "show", "2027", stdout=show, stderr=StringIO())
    assert "2027-02-09 Tue  holiday        春节（补假）" in show.getvalue()
    assert "[holidays, PROVISIONAL]" in show.getvalue()
    assert "(19 provisional)" in show.getvalue()

    out = StringIO()
    call_command("calendar", "confirm", "2027", stdout=out)
    assert "19 provisional days confirmed" in out.getvalue()
    assert not CalendarDay.objects.filter(provisional=True).exists()
    assert calendar_provisional(databases=["default"]) == []
    assert AuditEvent.objects.filter(action="calendar.confirmed").count() == 1

    out, err = seed("2027")
    assert "0 created, 0 updated, 0 removed, 19 unchanged" in out
    assert "provisional" not in err
    assert not CalendarDay.objects.filter(provisional=True).exists()


def test_confirm_a_year_without_days_is_an_error(db):
    with pytest.raises(CommandError, match="year: the calendar has no days for 2031"):
        call_command("calendar", "confirm", "2031", stdout=StringIO())


def test_the_notice_source_replaces_provisional_rows(db):
    # A provisional row in a year chinesecalendar knows (e.g. seeded before an upgrade)
    # gives way to the package: updated when the package lists the day, removed otherwise.
    # (the suite's reference data holds the 2026 calendar already: turn its row provisional)
    CalendarDay.objects.update_or_create(
        date=dt.date(2026, 10, 1),
        defaults={"kind": "holiday", "name_zh": "旧", "source": "holidays", "provisional": True},
    )
    CalendarDay.objects.create(
        date=dt.date(2026, 3, 2), kind="holiday", name_zh="旧", source="holidays", provisional=True
    )
    out, _ = seed("2026")
    assert "1 updated, 1 removed" in out
    row = CalendarDay.objects.get(date=dt.date(2026, 10, 1))
    assert (row.source, row.provisional, row.name_zh) == ("package", False, "国庆节")
    assert not CalendarDay.objects.filter(date=dt.date(2026, 3, 2)).exists()


def test_an_imported_day_is_confirmed(db, tmp_path):
    seed("2027")
    path = tmp_path / "days.csv"
    path.write_text(
        "date,kind,name_zh,name_en\n2027-02-09,holiday,春节,Spring Festival\n"
        "2027-02-20,makeup_workday,春节调休,Spring Festival\n",
        encoding="utf-8",
    )
    call_command("calendar", "import", str(path), stdout=StringIO())
    assert CalendarDay.objects.get(date=dt.date(2027, 2, 9)).provisional is False
    assert CalendarDay.objects.get(date=dt.date(2027, 2, 20)).source == "admin"
    assert CalendarDay.objects.filter(provisional=True).count() == 18


def test_the_admin_warns_and_confirms(personas, client):
    seed("2027")
    admin_user = personas.admin
    admin_user.is_staff = True
    admin_user.save()
    admin_user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="core",
            codename__in=["view_calendarday", "change_calendarday"],
        )
    )
    client.force_login(admin_user)
    listing = client.get("/admin/core/calendarday/", headers={"accept-language": "en"})
    assert listing.status_code == 200
    assert "The 2027 calendar is provisional" in listing.content.decode()

    ids = list(
        CalendarDay.objects.filter(date__year=2027, date__month=2).values_list("pk", flat=True)
    )
    response = client.post(
        "/admin/core/calendarday/",
        {"action": "confirm_days", "_selected_action": [str(pk) for pk in ids]},
    )
    assert response.status_code == 302
    assert not CalendarDay.objects.filter(pk__in=ids, provisional=True).exists()
    assert CalendarDay.objects.filter(provisional=True).count() == 19 - len(ids)

    # A dispatcher with the view permission may look but not confirm.
    dispatcher = personas.dispatcher
    dispatcher.is_staff = True
    dispatcher.save()
    dispatcher.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="core", codename__in=["view_calendarday"]
        )
    )
    client.force_login(dispatcher)
    left = list(CalendarDay.objects.filter(provisional=True).values_list("pk", flat=True))
    client.post(
        "/admin/core/calendarday/",
        {"action": "confirm_days", "_selected_action": [str(pk) for pk in left]},
    )
    assert CalendarDay.objects.filter(provisional=True).count() == len(left)
