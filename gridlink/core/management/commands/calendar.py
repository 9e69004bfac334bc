"""gridlink calendar seed [--years 2024-2027] · show YEAR · confirm YEAR · import FILE

- `seed` writes the holidays and make-up working days the `chinesecalendar` package knows,
  and for years it does not know, the days of the `holidays` package's China calendar as
  *provisional* days (statutory holidays and their 补假 days by rule; make-up working days
  only once that package has the year's notice). Idempotent: a second run changes nothing.
  Rows an administrator entered or edited (`source=admin`) and provisional years an
  administrator confirmed are never touched; package rows the package no longer lists (a
  corrected date) are removed. Without `--years` it seeds every year chinesecalendar knows
  plus this year and next. Warns about provisional years, and about this year and next when
  the database has no days for them.
- `show YEAR` lists a year's calendar days (provisional ones marked) and the working hours.
- `confirm YEAR` marks a year's provisional days confirmed (after checking them against the
  State Council's notice and adding its make-up working days).
- `import FILE` reads a UTF-8 CSV with the header `date,kind,name_zh,name_en` (kind:
  holiday or makeup_workday) and writes its rows as administrator rows. Every row is checked
  first; if any is wrong, each problem is printed with its line number and nothing is written.

See docs/working-calendar.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from argparse import ArgumentParser
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import chinese_calendar
import holidays
from chinese_calendar.constants import Holiday
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from holidays.countries.china import China, ChinaStaticHolidays

from gridlink.core.audit import audit_record
from gridlink.core.errors import DomainError
from gridlink.core.models import CalendarDay
from gridlink.core.worktime import calendar_gap, calendar_load

if TYPE_CHECKING:
    from gridlink.accounts.models import User

    Actor = User | None

Wanted = dict[dt.date, tuple[str, str, str]]  # date → (kind, name_zh, name_en)
HEADER = ["date", "kind", "name_zh", "name_en"]
NAME_MAX = 50
HOLIDAYS_VERSION = getattr(holidays, "__version__", "?")


@dataclass
class SeedResult:
    created: list[dt.date] = field(default_factory=list)
    updated: list[dt.date] = field(default_factory=list)
    removed: list[dt.date] = field(default_factory=list)
    unchanged: int = 0
    kept_admin: list[dt.date] = field(default_factory=list)
    # Years chinesecalendar does not know, seeded from `holidays` (provisional).
    fallback_years: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed)


def package_years() -> list[int]:
    """The years for which `chinesecalendar` has holiday data."""
    return sorted({day.year for day in chinese_calendar.holidays})


def default_years(*, today: dt.date) -> list[int]:
    """What `seed` without --years covers: chinesecalendar's years, this year and next."""
    return sorted({*package_years(), today.year, today.year + 1})


def package_days(years: set[int]) -> Wanted:
    """The package's holidays and weekend make-up working days in `years`."""
    chinese = {h.value: h.chinese for h in Holiday}
    wanted: Wanted = {}
    for day, name in chinese_calendar.holidays.items():
        if day.year in years:
            wanted[day] = (CalendarDay.Kind.HOLIDAY, chinese.get(name, name), name)
    for day, name in chinese_calendar.workdays.items():
        if day.year in years and day.weekday() >= 5:  # only weekends differ from the default
            wanted[day] = (CalendarDay.Kind.MAKEUP_WORKDAY, chinese.get(name, name), name)
    return wanted


def holidays_days(years: set[int]) -> Wanted:
    """The `holidays` package's China calendar in `years`: its public holidays (with the
    补假 days its rules add) and the make-up working days of the notices it has."""
    wanted: Wanted = {}
    for year in sorted(years):
        names_zh = China(years=year, language="zh_CN")  # type: ignore[no-untyped-call]
        names_en = China(years=year, language="en_US")  # type: ignore[no-untyped-call]
        for day in sorted(names_zh):
            wanted[day] = (
                CalendarDay.Kind.HOLIDAY,
                _short(names_zh.get(day, "")),
                _short(names_en.get(day, "")),
            )
        # A notice's swaps: (month, day, from_month, from_day) — the day off is worked on
        # the `from` day, a weekend day that becomes a make-up working day.
        for swap in ChinaStaticHolidays.special_public_holidays.get(year, ()):
            if len(swap) == 4 and all(isinstance(part, int) for part in swap):
                worked = dt.date(year, swap[2], swap[3])
                if worked.weekday() >= 5:
                    wanted[worked] = (
                        CalendarDay.Kind.MAKEUP_WORKDAY,
                        "调休上班",
                        "Make-up workday",
                    )
    return wanted


def _short(name: str) -> str:
    """One holiday's name as a calendar row holds it (several are joined with '; ')."""
    return name.split("; ")[0][:NAME_MAX]


@transaction.atomic
def calendar_seed(*, years: list[int]) -> SeedResult:
    """Bring the seeded rows of `years` in line with their source (see the module doc)."""
    known = set(package_years())
    fallback = set(years) - known
    result = SeedResult(fallback_years=sorted(fallback))
    wanted: dict[dt.date, tuple[str, str, str, str, bool]] = {
        day: (*values, CalendarDay.Source.PACKAGE, False)
        for day, values in package_days(set(years) & known).items()
    }
    wanted.update(
        (day, (*values, CalendarDay.Source.HOLIDAYS, True))
        for day, values in holidays_days(fallback).items()
    )
    existing = {
        row.date: row
        for row in CalendarDay.objects.select_for_update().filter(date__year__in=years)
    }

    def protected(row: CalendarDay) -> bool:
        """An administrator's row, or a provisional year's day an administrator confirmed."""
        if row.source == CalendarDay.Source.ADMIN:
            return True
        return (
            row.source == CalendarDay.Source.HOLIDAYS
            and not row.provisional
            and row.date.year in fallback
        )

    now = timezone.now()
    for day, (kind, name_zh, name_en, source, provisional) in sorted(wanted.items()):
        row = existing.get(day)
        if row is None:
            CalendarDay.objects.create(
                date=day,
                kind=kind,
                name_zh=name_zh,
                name_en=name_en,
                source=source,
                provisional=provisional,
            )
            result.created.append(day)
        elif protected(row):
            if (row.kind, row.name_zh, row.name_en) != (kind, name_zh, name_en):
                result.kept_admin.append(day)
            else:
                result.unchanged += 1
        elif (row.kind, row.name_zh, row.name_en, row.source, row.provisional) != (
            kind,
            name_zh,
            name_en,
            source,
            provisional,
        ):
            row.kind, row.name_zh, row.name_en, row.updated_at = kind, name_zh, name_en, now
            row.source, row.provisional = source, provisional
            row.save()
            result.updated.append(day)
        else:
            result.unchanged += 1
    stale = [row.date for day, row in existing.items() if day not in wanted and not protected(row)]
    CalendarDay.objects.filter(date__in=stale).delete()
    result.removed = sorted(stale)
    if result.changed:
        audit_record(
            actor=None,
            action="calendar.seeded",
            data={
                "years": sorted(years),
                "provisional_years": result.fallback_years,
                "created": len(result.created),
                "updated": len(result.updated),
                "removed": len(result.removed),
            },
        )
    return result


@transaction.atomic
def calendar_confirm(*, year: int, actor: Actor = None) -> int:
    """Mark `year`'s provisional days confirmed; return how many were provisional.
    `actor` None is the operator at the command line."""
    rows = CalendarDay.objects.select_for_update().filter(date__year=year, provisional=True)
    # `updated_at` moves with the change: the process caches of the calendar reload.
    count = rows.update(provisional=False, updated_at=timezone.now())
    if count:
        audit_record(actor=actor, action="calendar.confirmed", data={"year": year, "days": count})
    return count


@transaction.atomic
def calendar_day_set(
    *, actor: Actor, day: dt.date, kind: str, name_zh: str, name_en: str = ""
) -> tuple[CalendarDay, bool]:
    """Set `day` to a holiday (rest day) or a make-up working day (a working day) as an
    administrator row — confirmed, and never overwritten by the seed. Return the row and
    whether anything changed."""
    name_zh, name_en = name_zh.strip(), name_en.strip()
    if kind not in CalendarDay.Kind.values:
        raise DomainError(
            _("One of %(kinds)s.") % {"kinds": ", ".join(CalendarDay.Kind.values)},
            code="invalid",
            field="kind",
        )
    if not name_zh:
        raise DomainError(
            _("A calendar day needs a Chinese name."), code="required", field="name_zh"
        )
    for field_name, value in (("name_zh", name_zh), ("name_en", name_en)):
        if len(value) > NAME_MAX:
            raise DomainError(
                _("At most %(n)s characters.") % {"n": NAME_MAX},
                code="too_long",
                field=field_name,
            )
    row = CalendarDay.objects.select_for_update().filter(date=day).first()
    before = None if row is None else (row.kind, row.name_zh, row.name_en, row.source)
    wanted = (kind, name_zh, name_en, CalendarDay.Source.ADMIN)
    if row is not None and before == wanted and not row.provisional:
        return row, False
    if row is None:
        row = CalendarDay(date=day)
    row.kind, row.name_zh, row.name_en, row.source = wanted
    row.provisional = False  # an administrator's row is confirmed
    row.save()  # `updated_at` moves: the process caches of the calendar reload
    audit_record(
        actor=actor,
        action="calendar.day_set",
        target_type="calendar_day",
        target_id=day.isoformat(),
        data={
            "date": day.isoformat(),
            "kind": kind,
            "name_zh": name_zh,
            "name_en": name_en,
            "before": None
            if before is None
            else dict(zip([*HEADER[1:], "source"], before, strict=True)),
        },
    )
    return row, True


@transaction.atomic
def calendar_day_remove(*, actor: Actor, day: dt.date) -> bool:
    """Remove `day`'s row: it follows the default week again (a seeded day comes back with
    the next seed). Return whether there was a row."""
    row = CalendarDay.objects.select_for_update().filter(date=day).first()
    if row is None:
        return False
    before = {"kind": row.kind, "name_zh": row.name_zh, "source": row.source}
    row.delete()  # the row count moves: the process caches of the calendar reload
    audit_record(
        actor=actor,
        action="calendar.day_removed",
        target_type="calendar_day",
        target_id=day.isoformat(),
        data={"date": day.isoformat(), "before": before},
    )
    return True


def read_import(path: Path) -> tuple[Wanted, list[str]]:
    """The rows of a calendar CSV and the problems found in it (line numbers from 1)."""
    wanted: Wanted = {}
    errors: list[str] = []
    kinds = set(CalendarDay.Kind.values)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            if header != HEADER:
                return {}, [f"line 1: the header must be {','.join(HEADER)}, got {header}"]
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(HEADER):
                    errors.append(f"line {line}: expected {len(HEADER)} columns, got {len(row)}")
                    continue
                raw_date, kind, name_zh, name_en = (cell.strip() for cell in row)
                problems = []
                day = None
                if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw_date):
                    problems.append(f"date: '{raw_date}' is not a date (YYYY-MM-DD)")
                else:
                    try:
                        day = dt.date.fromisoformat(raw_date)
                    except ValueError:
                        problems.append(f"date: '{raw_date}' is not a date (YYYY-MM-DD)")
                if kind not in kinds:
                    problems.append(f"kind: '{kind}' is not one of {', '.join(sorted(kinds))}")
                if not name_zh:
                    problems.append("name_zh: required")
                for column, value in (("name_zh", name_zh), ("name_en", name_en)):
                    if len(value) > 50:
                        problems.append(f"{column}: longer than 50 characters")
                if day is not None and day in wanted:
                    problems.append(f"date: {day} appears twice in the file")
                if problems:
                    errors.extend(f"line {line}: {p}" for p in problems)
                elif day is not None:
                    wanted[day] = (kind, name_zh, name_en)
    except UnicodeDecodeError:
        return {}, ["the file is not UTF-8 text"]
    except csv.Error as exc:
        return {}, [f"the file is not valid CSV: {exc}"]
    return wanted, errors


@transaction.atomic
def calendar_import(*, days: Wanted) -> tuple[int, int, int]:
    """Write `days` as administrator rows; return (created, updated, unchanged)."""
    created = updated = unchanged = 0
    existing = {
        row.date: row for row in CalendarDay.objects.select_for_update().filter(date__in=days)
    }
    for day, (kind, name_zh, name_en) in sorted(days.items()):
        row = existing.get(day)
        values = (kind, name_zh, name_en, CalendarDay.Source.ADMIN)
        if row is None:
            CalendarDay.objects.create(
                date=day, kind=kind, name_zh=name_zh, name_en=name_en, source=values[3]
            )
            created += 1
        elif (row.kind, row.name_zh, row.name_en, row.source) != values or row.provisional:
            row.kind, row.name_zh, row.name_en, row.source = values
            row.provisional = False  # an administrator's row is confirmed
            row.save()
            updated += 1
        else:
            unchanged += 1
    if created or updated:
        audit_record(
            actor=None,
            action="calendar.imported",
            data={"created": created, "updated": updated, "unchanged": unchanged},
        )
    return created, updated, unchanged


def parse_years(text: str) -> list[int]:
    """'2025' → [2025]; '2024-2026' → [2024, 2025, 2026]."""
    match = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?", text)
    if not match:
        raise CommandError(f"--years: '{text}' is not a year or a range like 2024-2026")
    first = int(match[1])
    last = int(match[2] or first)
    if last < first:
        raise CommandError(f"--years: the range {text} runs backwards")
    return list(range(first, last + 1))


def provisional_warning(year: int) -> str:
    return (
        f"warning: the {year} calendar is provisional (projected by the holidays package, "
        f"not the State Council's notice): check it, add the notice's make-up working days "
        f"(admin or `gridlink calendar import`), then run `gridlink calendar confirm {year}`"
    )


def warn_provisional(write: Callable[[str], object]) -> list[int]:
    """Write one warning per provisional year; return the years."""
    years = CalendarDay.provisional_years()
    for year in years:
        write(provisional_warning(year))
    return years


def _dates(days: list[dt.date]) -> str:
    shown = ", ".join(f"{d:%Y-%m-%d}" for d in days[:8])
    return shown + (f" … (+{len(days) - 8})" if len(days) > 8 else "")


class Command(BaseCommand):
    help = "Seed, show, confirm or import the working calendar (holidays and make-up days)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        seed = sub.add_parser(
            "seed", help="write the days chinesecalendar knows (holidays, provisional, after)"
        )
        seed.add_argument(
            "--years",
            help="a year or a range like 2024-2027 (default: every year chinesecalendar "
            "knows, this year and next)",
        )
        show = sub.add_parser("show", help="list one year's calendar days")
        show.add_argument("year", type=int)
        confirm = sub.add_parser("confirm", help="mark one year's provisional days confirmed")
        confirm.add_argument("year", type=int)
        load = sub.add_parser("import", help="read days from a CSV (date,kind,name_zh,name_en)")
        load.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "seed":
            self._seed(options["years"])
        elif options["action"] == "show":
            self._show(options["year"])
        elif options["action"] == "confirm":
            self._confirm(options["year"])
        else:
            self._import(Path(options["file"]))

    def _seed(self, years_text: str | None) -> None:
        today = timezone.localdate()
        years = parse_years(years_text) if years_text else default_years(today=today)
        result = calendar_seed(years=years)
        self.stdout.write(
            f"calendar seed {years[0]}–{years[-1]} (chinesecalendar "
            f"{getattr(chinese_calendar, '__version__', '?')}, holidays "
            f"{HOLIDAYS_VERSION}): "
            f"{len(result.created)} created, {len(result.updated)} updated, "
            f"{len(result.removed)} removed, {result.unchanged} unchanged, "
            f"{len(result.kept_admin)} administrator rows kept"
        )
        for label, days in (
            ("created", result.created),
            ("updated", result.updated),
            ("removed", result.removed),
            ("kept (edited or confirmed by an administrator)", result.kept_admin),
        ):
            if days:
                self.stdout.write(f"  {label}: {_dates(days)}")
        for year in result.fallback_years:
            self.stdout.write(
                f"  {year}: chinesecalendar has no data; seeded from holidays "
                f"{HOLIDAYS_VERSION} as provisional days"
            )
        warn_provisional(self.stderr.write)
        calendar = calendar_load()
        for year in (today.year, today.year + 1):
            if calendar_gap(year=year, calendar=calendar):
                self.stderr.write(
                    f"warning: the calendar has no days for {year}: deadlines in {year} "
                    f"follow the default week (Mon–Fri) until its holidays are added"
                )

    def _show(self, year: int) -> None:
        calendar = calendar_load()
        rows = CalendarDay.objects.filter(date__year=year)
        for row in rows:
            mark = ", PROVISIONAL" if row.provisional else ""
            self.stdout.write(
                f"{row.date:%Y-%m-%d} {row.date:%a}  {row.kind:<15}{row.name_zh} "
                f"({row.name_en or '-'})  [{row.source}{mark}]"
            )
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        working = sum(
            calendar.is_working_day(first + dt.timedelta(days=i))
            for i in range((last - first).days + 1)
        )
        sessions = ", ".join(
            f"{s:%H:%M}–{e:%H:%M}" for s, e in calendar.sessions_on(dt.date(year, 1, 1))
        )
        provisional = sum(row.provisional for row in rows)
        self.stdout.write(
            f"{year}: {len(rows)} calendar days ({provisional} provisional), {working} "
            f"working days; working hours on {year}-01-01: {sessions}"
        )
        if provisional:
            self.stderr.write(provisional_warning(year))
        if calendar_gap(year=year, calendar=calendar):
            self.stderr.write(
                f"warning: no holiday data for {year}: its days follow the default week"
            )

    def _confirm(self, year: int) -> None:
        if not CalendarDay.objects.filter(date__year=year).exists():
            raise CommandError(f"year: the calendar has no days for {year}; nothing to confirm")
        count = calendar_confirm(year=year)
        if count:
            self.stdout.write(f"calendar confirm {year}: {count} provisional days confirmed")
        else:
            self.stdout.write(f"calendar confirm {year}: no provisional days (nothing changed)")

    def _import(self, path: Path) -> None:
        if not path.is_file():
            raise CommandError(f"file: {path} does not exist")
        days, errors = read_import(path)
        if errors:
            for error in errors:
                self.stderr.write(f"{path.name}: {error}")
            raise CommandError(f"{len(errors)} problem(s) in {path.name}; nothing was written")
        created, updated, unchanged = calendar_import(days=days)
        self.stdout.write(
            f"calendar import {path.name}: {created} created, {updated} updated, "
            f"{unchanged} unchanged"
        )
