"""gridlink bulletin --scheme CODE --period 2026-10 [--level street] --out DIR

Writes the scheme's bulletin (通报) for the period as HTML, PDF and XLSX and prints the three
paths. The shipped schemes (`urban-street`, `hotline-3rates`) are created first if missing.
Bad input (unknown scheme, a period that is not one, an unknown level) stops with the reason.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from gridlink.assessment.bulletin import bulletin_build
from gridlink.assessment.models import UnitLevel
from gridlink.assessment.schemes import scheme_get, schemes_ensure_defaults
from gridlink.assessment.selectors import period_parse
from gridlink.core.errors import DomainError


class Command(BaseCommand):
    help = "Write an assessment scheme's bulletin for a period as HTML, PDF and XLSX."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--scheme", required=True, help="scheme code, e.g. urban-street")
        parser.add_argument("--period", required=True, help="2026-10, 2026-Q3, 2026, …")
        parser.add_argument(
            "--level",
            default="",
            help="street|community|grid|department (default: the scheme's own)",
        )
        parser.add_argument("--out", default="var/bulletins", help="output directory")

    def handle(self, *args: Any, **options: Any) -> None:
        level = options["level"]
        if level and level not in UnitLevel.values:
            raise CommandError(f"--level is one of {', '.join(UnitLevel.values)}, not {level!r}.")
        schemes_ensure_defaults()
        try:
            scheme = scheme_get(options["scheme"])
            period = period_parse(period=options["period"])
            bulletin = bulletin_build(scheme=scheme, period=period, level=level)
        except DomainError as exc:
            raise CommandError(f"{exc.field or 'input'}: {exc.message}") from exc
        from gridlink.bulletins.pdf import FontMissingError
        from gridlink.bulletins.render import bulletin_write

        basename = f"{options['period']}-{scheme.code}-{level or scheme.unit_level}"
        try:
            paths = bulletin_write(bulletin, out_dir=Path(options["out"]), basename=basename)
        except FontMissingError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"--out: cannot write there: {exc}") from exc
        for kind in ("html", "pdf", "xlsx"):
            self.stdout.write(str(paths[kind]))
