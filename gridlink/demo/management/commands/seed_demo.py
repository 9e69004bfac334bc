"""gridlink seed --scale small|district --seed N [--if-empty]: build the demo district."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from gridlink.cases.selectors import taxonomy_current
from gridlink.demo.cases import demo_cases_line, demo_cases_seed
from gridlink.demo.plan import SCALES, build_plan
from gridlink.demo.seed import DatabaseNotEmpty, demo_seed
from gridlink.geo.models import Area
from gridlink.open311.services import client_application_ensure_demo


class Command(BaseCommand):
    help = (
        "Seed an empty database with a deterministic demo district (Huangdao, 370211): "
        "areas with polygons, departments, tags, demo users and a synthetic population."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--scale",
            choices=SCALES,
            default="small",
            help="small: 3 streets, ~30 grids, ~1,000 households (seconds); "
            "district: 27 streets/towns, ~1,550 grids, ~500,000 residents (minutes)",
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed; the same seed gives the same data"
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (successfully) when the database already has areas",
        )
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="rows per bulk insert batch"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scale, seed = options["scale"], options["seed"]
        if scale not in SCALES:
            raise CommandError(f"--scale must be one of {', '.join(SCALES)}, not {scale!r}")
        if seed < 0:
            raise CommandError("--seed must be zero or a positive integer")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        if options["if_empty"] and Area.objects.exists():
            self.stdout.write("The database already has areas; --if-empty: not seeding.")
            return
        verbose = options["verbosity"] >= 1
        if verbose:
            self.stdout.write(f"Planning the {scale} demo district (seed {seed}) …")
        plan = build_plan(scale=scale, seed=seed)
        try:
            result = demo_seed(plan=plan, progress=verbose, batch_size=options["batch_size"])
        except DatabaseNotEmpty as exc:
            raise CommandError(
                f"Not seeding: {exc}. The demo district goes into an empty database; "
                "use --if-empty to skip seeding when areas exist, or start from a fresh "
                "database (GRIDLINK_DATA_DIR or DATABASE_URL)."
            ) from exc
        counts = ", ".join(f"{n:,} {name}" for name, n in result.counts.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded the {scale} demo district (seed {seed}) in {result.seconds:.1f} s: "
                f"{counts}."
            )
        )
        if taxonomy_current() is not None:
            started = time.monotonic()
            cases = demo_cases_seed(seed=seed, progress=verbose)
            self.stdout.write(demo_cases_line(cases, time.monotonic() - started))
        elif verbose:
            self.stdout.write("No published taxonomy: no demo cases (gridlink seed_cases later).")
        client_application_ensure_demo()  # the demo Open311 client; demo_logins prints its key
        if verbose:
            self.stdout.write("Sign-in names and the password: gridlink demo_logins")
