"""gridlink export <kind> <file> --user USERNAME [--purpose TEXT]"""

from __future__ import annotations

import os
import tempfile
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from gridlink.core.errors import DomainError
from gridlink.registry.exchange import KINDS, kind_spec, registry_export
from gridlink.registry.exchange.readers import file_format
from gridlink.registry.management.commands.import_registry import user_named


class Command(BaseCommand):
    help = (
        "Export registry data the user may see to CSV or XLSX, masked as on screen. "
        "Residents and organisations need --purpose and are written to the access log."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("kind", help=f"what to export: {', '.join(KINDS)}")
        parser.add_argument("file", help="the .csv or .xlsx file to write")
        parser.add_argument("--user", required=True, help="whose view of the registry to export")
        parser.add_argument(
            "--purpose",
            default="",
            help="why (a case number or a task); required for residents and organisations",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kind: str = options["kind"]
        path = Path(options["file"])
        try:
            spec = kind_spec(kind)
            fmt = file_format(path.name)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if not path.parent.is_dir():
            raise CommandError(f"No such directory: {path.parent}")
        actor = user_named(options["user"])
        # Write beside the target and rename at the end, so a refused or failed export
        # leaves no file (or the previous one) behind. The file is readable by its owner only.
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".export-", suffix=path.suffix)
        try:
            with os.fdopen(handle, "wb") as out:
                result = registry_export(
                    kind=kind, actor=actor, fmt=fmt, out=out, purpose=options["purpose"]
                )
            os.replace(temp_name, path)
        except DomainError as exc:
            Path(temp_name).unlink(missing_ok=True)
            raise CommandError(exc.message) from None
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        note = " (ID numbers and phones masked as on screen; logged)" if spec.personal else ""
        self.stdout.write(f"wrote {result.rows} {kind} rows to {path}{note}")
