"""gridlink audit verify [--anchor FILE] | anchor | prune [--log audit|access|all]
· gridlink audit export FILE --log …"""

from __future__ import annotations

import csv
import datetime as dt
import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gridlink.core.audit import audit_record
from gridlink.core.ledger import (
    CHAINS,
    Anchor,
    ChainBroken,
    chain_anchor,
    chain_prune,
    chain_verify,
)
from gridlink.core.spreadsheet import defuse, private_temp_beside


class Command(BaseCommand):
    help = (
        "Verify the hash chains of the audit and access logs (optionally against an anchor), "
        "print a signed anchor, prune past retention, or export a log as CSV."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser(
            "verify", help="walk each chain; name the first broken or missing entry"
        )
        verify.add_argument("--log", choices=[*CHAINS, "all"], default="all")
        verify.add_argument(
            "--anchor",
            metavar="FILE",
            help="a file written by `gridlink audit anchor`: prove nothing up to it was "
            "removed or changed",
        )
        anchor = sub.add_parser(
            "anchor", help="print each chain's signed head (JSON) to keep outside the database"
        )
        anchor.add_argument("--log", choices=[*CHAINS, "all"], default="all")
        prune = sub.add_parser("prune", help="delete entries older than the retention period")
        prune.add_argument("--log", choices=[*CHAINS, "all"], default="all")
        export = sub.add_parser("export", help="write one log to a CSV file")
        export.add_argument("file")
        export.add_argument("--log", choices=list(CHAINS), default="audit")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            self._verify(options["log"], options["anchor"])
        elif options["action"] == "anchor":
            self._anchor(options["log"])
        elif options["action"] == "prune":
            self._prune(options["log"])
        else:
            self._export(options["log"], options["file"])

    def _read_anchors(self, path: str) -> dict[str, Anchor]:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"--anchor: cannot read {path}: {exc.strerror}") from None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise CommandError(f"--anchor: {path} is not a JSON anchor file") from None
        items = data.get("anchors") if isinstance(data, dict) else None
        if not isinstance(items, list) or not items:
            raise CommandError(f'--anchor: {path} has no "anchors" list')
        anchors: dict[str, Anchor] = {}
        for i, item in enumerate(items):
            try:
                anchor = Anchor.from_json(item)
            except ValueError as exc:
                raise CommandError(f"--anchor: anchors[{i}].{exc}") from None
            anchors[anchor.chain] = anchor
        return anchors

    def _verify(self, which: str, anchor_file: str | None) -> None:
        names = list(CHAINS) if which == "all" else [which]
        anchors = self._read_anchors(anchor_file) if anchor_file else {}
        if anchor_file and not any(name in anchors for name in names):
            raise CommandError(f"--anchor: {anchor_file} anchors none of: {', '.join(names)}")
        failed = False
        for name in names:
            anchor = anchors.get(name)
            checked, problem = chain_verify(CHAINS[name], anchor=anchor)
            if problem:
                failed = True
                self.stderr.write(f"BROKEN {problem} (after {checked} good entries)")
                continue
            self.stdout.write(f"ok {name} log: {checked} entries, chain intact")
            if anchor is not None:
                self.stdout.write(
                    f"ok {name} log: nothing up to the anchored entry #{anchor.seq} "
                    f"({anchor.at:%Y-%m-%d %H:%M:%S} UTC) was removed or changed"
                )
        if failed:
            raise CommandError("audit verification failed", returncode=1)

    def _anchor(self, which: str) -> None:
        names = list(CHAINS) if which == "all" else [which]
        try:
            anchors = [chain_anchor(CHAINS[name]) for name in names]
        except ValueError as exc:
            raise CommandError(f"not anchoring: {exc}; run `gridlink audit verify`") from None
        self.stdout.write(
            json.dumps({"anchors": [a.as_json() for a in anchors]}, indent=2, sort_keys=True)
        )
        audit_record(
            actor=None,
            action="audit.anchored",
            data={"anchors": {a.chain: a.seq for a in anchors}},
        )

    def _prune(self, which: str) -> None:
        days = settings.GRIDLINK_LOG_RETENTION_DAYS
        before = timezone.now() - dt.timedelta(days=days)
        pruned: dict[str, int] = {}
        for name in list(CHAINS) if which == "all" else [which]:
            try:
                record = chain_prune(CHAINS[name], before=before)
            except ChainBroken as exc:
                audit_record(
                    actor=None,
                    action="audit.pruned",
                    data={"log": name, "refused": str(exc)},
                    outcome="failure",
                )
                raise CommandError(str(exc), returncode=1) from None
            pruned[name] = record.count if record else 0
            detail = (
                f" (#{record.first_seq}–#{record.last_seq}, signed prune record kept)"
                if record
                else ""
            )
            self.stdout.write(
                f"{name} log: pruned {pruned[name]} entries older than {days} days{detail}"
            )
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
