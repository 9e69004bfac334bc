"""gridlink taxonomy load [FILE] [--publish] · gridlink taxonomy show [--version V]"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from gridlink.cases.models import TaxonomyVersion
from gridlink.cases.selectors import taxonomy_current, taxonomy_tree, taxonomy_version
from gridlink.cases.services import SHIPPED_TAXONOMY, taxonomy_load
from gridlink.core.errors import DomainError


class Command(BaseCommand):
    help = "Load a taxonomy file as a version (and publish it), or print a version's tree."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="load a taxonomy JSON file (default: the shipped one)")
        load.add_argument("file", nargs="?", default=str(SHIPPED_TAXONOMY))
        load.add_argument(
            "--publish", action="store_true", help="publish it and make it the current version"
        )
        show = sub.add_parser("show", help="print a version's tree (default: the current one)")
        show.add_argument("--version", dest="version_code", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "load":
            self._load(Path(options["file"]), publish=options["publish"])
        else:
            self._show(options["version_code"])

    def _load(self, path: Path, *, publish: bool) -> None:
        before = TaxonomyVersion.objects.values_list("code", "content_sha256", "published_at")
        known = {code: (digest, published) for code, digest, published in before}
        try:
            version = taxonomy_load(actor=None, path=path, publish=publish)
        except DomainError as exc:
            problems = getattr(exc, "errors", None) or [exc.as_dict()]
            for problem in problems:
                self.stderr.write(f"  {problem['message']}")
            raise CommandError(f"{path}: not loaded — {len(problems)} problem(s)") from exc
        counts = version.categories.majors().count(), version.categories.subclasses().count()
        state = (
            "published, current"
            if version.is_current
            else ("published" if version.is_published else "draft")
        )
        unchanged = known.get(version.code) == (version.content_sha256, version.published_at)
        verb = "unchanged" if unchanged else "loaded"
        self.stdout.write(
            f"taxonomy {version.code} {verb} ({state}): "
            f"{counts[0]} major classes, {counts[1]} sub-classes"
        )

    def _show(self, code: str | None) -> None:
        version = taxonomy_version(code) if code else taxonomy_current()
        if version is None:
            raise CommandError(
                f"no taxonomy version {code}" if code else "no published taxonomy version yet"
            )
        state = (
            "current" if version.is_current else ("published" if version.is_published else "draft")
        )
        self.stdout.write(f"{version.code} {version.name} [{state}]")
        self.stdout.write("(deadlines: h = working hours, d = working days)")
        for major in taxonomy_tree(version):
            self.stdout.write(f"  {major.code} {major.name_zh} / {major.name_en} ({major.kind})")
            for s in major.subclasses.all():
                deadlines = " · ".join(
                    f"{stage} {d.short}"
                    for stage, d in (
                        ("sign-for", s.sign_for_deadline),
                        ("handle", s.handle_deadline),
                        ("verify", s.verify_deadline),
                    )
                    if d is not None
                )
                if s.phases:
                    steps = ", ".join(
                        f"{p['code']} {p['amount']}{'h' if p['unit'] == 'working_hours' else 'd'}"
                        for p in s.phases
                    )
                    deadlines += f" (phases: {steps})"
                self.stdout.write(
                    f"    {s.code} {s.name_zh} / {s.name_en} — {s.urgency}, "
                    f"{s.default_level}, {s.default_department_kind}; {deadlines}"
                )
