"""gridlink seed_cases [--seed N]: add the demo cases to a seeded database without cases."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from gridlink.cases.models import Case
from gridlink.demo.cases import DemoCasesUnavailable, demo_cases_line, demo_cases_seed


class Command(BaseCommand):
    help = (
        "Add demo cases in every workflow state to the demo district, through the case "
        "services; does nothing when any case exists. Needs a published taxonomy."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed; the same seed gives the same cases"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["seed"] < 0:
            raise CommandError("--seed must be zero or a positive integer")
        if Case.objects.exists():
            self.stdout.write("The database already has cases; not seeding demo cases.")
            return
        started = time.monotonic()
        try:
            counts = demo_cases_seed(seed=options["seed"], progress=options["verbosity"] >= 1)
        except DemoCasesUnavailable as exc:
            raise CommandError(f"Not seeding demo cases: {exc}.") from exc
        self.stdout.write(self.style.SUCCESS(demo_cases_line(counts, time.monotonic() - started)))
