"""gridlink routing check [--strict] [--examples N]

Routes every sub-class of the published taxonomy in every current grid with the routing
rules and the territorial fallback (`gridlink.cases.routing.routing_check`) and lists each
target — a rule's unit or a fallback's unit — that no active user can sign for. Exits
non-zero when there is one. Pairs with no route at all (the dispatcher must choose a unit
by hand) are listed too, and fail the check only with `--strict`.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from gridlink.cases.routing import RoutingGap, routing_check


def _examples(gap: RoutingGap, limit: int) -> str:
    shown = ", ".join(f"{code} in {area}" for code, area in gap.pairs[:limit])
    more = len(gap.pairs) - limit
    return shown + (f" … and {more} more" if more > 0 else "")


class Command(BaseCommand):
    help = "List routing targets that no active user can sign for (non-zero exit if any)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        check = sub.add_parser("check", help="check that every routing target is staffed")
        check.add_argument(
            "--strict", action="store_true", help="also fail on category × area pairs with no route"
        )
        check.add_argument(
            "--examples", type=int, default=3, help="pairs shown per target (default 3)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["examples"] < 0:
            raise CommandError("--examples must be 0 or more")
        result = routing_check()
        if result.pairs == 0:
            raise CommandError(
                "no published taxonomy or no grids: run `gridlink taxonomy load --publish` "
                "and seed the areas first"
            )
        limit = options["examples"]
        for gap in result.unstaffed:
            self.stdout.write(
                f"UNSTAFFED {gap.unit_label} via {gap.via}: nobody active can sign for "
                f"{len(gap.pairs)} category × grid pair(s), e.g. {_examples(gap, limit)}"
            )
        for gap in result.unrouted:
            code = gap.pairs[0][0]
            self.stdout.write(f"NO ROUTE {code} in {len(gap.pairs)} grid(s), e.g. {gap.why}")
        self.stdout.write(
            f"{result.pairs} category × grid pairs checked: {len(result.unstaffed)} unstaffed "
            f"target(s), {sum(len(g.pairs) for g in result.unrouted)} pair(s) without a route."
        )
        if result.unstaffed:
            raise CommandError(
                f"{len(result.unstaffed)} routing target(s) have nobody to sign for them"
            )
        if options["strict"] and result.unrouted:
            raise CommandError("some category × grid pairs have no route")
