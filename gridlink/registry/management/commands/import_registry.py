"""gridlink import <kind> <file> [--dry-run] [--apply-valid] [--user USERNAME]"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from tqdm import tqdm

from gridlink.core.errors import DomainError
from gridlink.registry.exchange import KINDS, kind_spec, registry_import
from gridlink.registry.exchange.readers import read_path

PROGRESS_FROM_ROWS = 1_000


class _Raw:
    """Lets tqdm write to the command's stderr without a newline after every update."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, ending="")

    def flush(self) -> None:
        self.out.flush()


class _Progress:
    """A progress bar on stderr, only for files of more than PROGRESS_FROM_ROWS rows."""

    def __init__(self, out: OutputWrapper, label: str) -> None:
        self.out = out
        self.label = label
        self.bar: tqdm[Any] | None = None

    def __call__(self, done: int, total: int | None) -> None:
        if self.bar is None:
            if max(total or 0, done) <= PROGRESS_FROM_ROWS:
                return
            self.bar = tqdm(
                total=total, initial=done - 1, file=_Raw(self.out), unit=" rows", desc=self.label
            )
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def user_named(username: str) -> Any:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user is named {username!r}.")
    return user


class Command(BaseCommand):
    help = (
        "Import a CSV or XLSX file of registry data: upsert on natural keys, one transaction, "
        "a per-row report. With errors nothing is written unless --apply-valid."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("kind", help=f"what the file holds: {', '.join(KINDS)}")
        parser.add_argument("file", help="a .csv (UTF-8 or GB18030) or .xlsx file")
        parser.add_argument(
            "--dry-run", action="store_true", help="check every row and count; write nothing"
        )
        parser.add_argument(
            "--apply-valid",
            action="store_true",
            help="write the valid rows even when other rows have errors",
        )
        parser.add_argument(
            "--user",
            help="the importing user, recorded in the audit log (needs registry.import)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kind: str = options["kind"]
        path = Path(options["file"])
        actor = user_named(options["user"]) if options["user"] else None
        progress = _Progress(self.stderr, path.name)
        try:
            kind_spec(kind)
            report = registry_import(
                kind=kind,
                data=read_path(path),
                file_name=path.name,
                actor=actor,
                dry_run=options["dry_run"],
                apply_valid=options["apply_valid"],
                progress=progress,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        finally:
            progress.close()
        for error in report.errors:
            self.stdout.write(str(error))
        if report.errors_not_listed:
            self.stdout.write(f"… and {report.errors_not_listed} more messages.")
        self.stdout.write(report.summary())
        if report.ok:
            return
        if not report.applied and not report.dry_run and report.valid_rows:
            hint = ngettext(
                "Fix the rows above, or run again with --apply-valid to write the valid row.",
                "Fix the rows above, or run again with --apply-valid to write the %(n)d valid "
                "rows.",
                report.valid_rows,
            ) % {"n": report.valid_rows}
        else:
            hint = _("Fix the rows above and import the file again.")
        raise CommandError(
            ngettext("%(n)d row has errors.", "%(n)d rows have errors.", report.error_rows)
            % {"n": report.error_rows}
            + " "
            + hint,
            returncode=1,
        )
