"""gridlink assessment rebuild: recompute the indicator rollups from the case log."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from gridlink.assessment.rollups import rollups_rebuild
from gridlink.cases.models import Case


class Command(BaseCommand):
    help = "Assessment maintenance: `rebuild` recomputes every rollup from the case timelines."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["rebuild"])

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] != "rebuild":
            raise CommandError("unknown action")
        total = Case.objects.count()
        with tqdm(total=total, desc="cases", unit="case", file=sys.stderr,
                  disable=options["verbosity"] < 1) as bar:  # fmt: skip
            result = rollups_rebuild(progress=bar.update)
        self.stdout.write(
            f"Rebuilt the rollups from {result['cases']:,} cases: {result['rows']:,} rows."
        )
