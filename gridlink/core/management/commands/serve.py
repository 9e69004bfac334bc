"""gridlink serve: the web server (gunicorn) and one background worker, stopped together."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from gridlink.core.management.commands.calendar import warn_provisional

ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


class Command(BaseCommand):
    help = "Serve gridlink on HOST:PORT with gunicorn and run the background worker beside it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--no-worker", action="store_true", help="do not start the task worker")

    def handle(self, *args: Any, **options: Any) -> None:
        exe = sys.executable
        procs: list[subprocess.Popen[bytes]] = []
        if not options["no_worker"]:
            procs.append(subprocess.Popen([exe, "-m", "gridlink.cli", "run_worker"]))  # noqa: S603
        bind = f"{options['host']}:{options['port']}"
        procs.append(
            subprocess.Popen(  # noqa: S603  (our own interpreter and fixed arguments)
                [
                    exe,
                    "-m",
                    "gunicorn",
                    "gridlink.wsgi:application",
                    "--bind",
                    bind,
                    "--workers",
                    str(options["web_workers"]),
                    "--threads",
                    "4",
                    "--access-logfile",
                    "-",
                    # Path without the query string: searches carry names (no PII in logs).
                    "--access-logformat",
                    ACCESS_LOG_FORMAT,
                ]
            )
        )
        self.stdout.write(f"gridlink is serving on http://{bind}/  (Ctrl+C stops)")
        warn_provisional(self.stderr.write)  # a provisional calendar year, until confirmed

        def stop(signum: int, frame: object) -> None:
            for p in procs:
                if p.poll() is None:
                    p.terminate()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
        finally:
            stop(0, None)
            for p in procs:
                p.wait(timeout=30)
