"""gridlink audit verify|prune [--log audit|access|all] · gridlink audit export FILE --log …"""

from __future__ import annotations

import csv
import datetime as dt
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gridlink.core.audit import audit_record
from gridlink.core.ledger import CHAINS, chain_prune, chain_verify
from gridlink.core.spreadsheet import defuse, private_temp_beside


class Command(BaseCommand):
    help = "Verify the hash chains of the audit and access logs, or export a log as CSV."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser(
            "verify", help="walk each chain; name the first broken or missing entry"
        )
        verify.add_argument("--log", choices=[*CHAINS, "all"], default="all")
        prune = sub.add_parser("prune", help="delete entries older than the retention period")
        prune.add_argument("--log", choices=[*CHAINS, "all"], default="all")
        export = sub.add_parser("export", help="write one log to a CSV file")
        export.add_argument("file")
        export.add_argument("--log", choices=list(CHAINS), default="audit")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            self._verify(options["log"])
        elif options["action"] == "prune":
            self._prune(options["log"])
        else:
            self._export(options["log"], options["file"])

    def _verify(self, which: str) -> None:
        names = list(CHAINS) if which == "all" else [which]
        failed = False
        for name in names:
            checked, problem = chain_verify(CHAINS[name])
            if problem:
                failed = True
                self.stderr.write(f"BROKEN {problem} (after {checked} good entries)")
            else:
                self.stdout.write(f"ok {name} log: {checked} entries, chain intact")
        if failed:
            raise CommandError("audit verification failed", returncode=1)

    def _prune(self, which: str) -> None:
        days = settings.GRIDLINK_LOG_RETENTION_DAYS
        before = timezone.now() - dt.timedelta(days=days)
        pruned = {}
        for name in list(CHAINS) if which == "all" else [which]:
            pruned[name] = chain_prune(CHAINS[name], before=before)
            self.stdout.write(f"{name} log: pruned {pruned[name]} entries older than {days} days")
        audit_record(actor=None, action="audit.pruned", data={"pruned": pruned, "days": days})

    def _export(self, which: str, path: str) -> None:
        model = CHAINS[which]
        names = [f.name for f in model._meta.concrete_fields]
        target = Path(path)
        if not target.parent.is_dir():
            raise CommandError(f"file: the folder {target.parent} does not exist")
        fd, temp = private_temp_beside(target)
        count = 0
        with open(fd, "w", newline="", encoding="utf-8-sig") as fh:
            writer = csv.writer(fh)
            writer.writerow(names)
            for row in model._default_manager.order_by("seq").iterator(chunk_size=2000):
                writer.writerow([defuse(getattr(row, n)) for n in names])
                count += 1
        temp.replace(target)
        audit_record(
            actor=None,
            action="audit.exported",
            data={"log": which, "entries": count, "file": target.name},
        )
        self.stdout.write(f"wrote {count} {which} log entries to {path}")
