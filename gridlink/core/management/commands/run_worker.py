"""gridlink worker: the background worker (django-tasks-db), with a heartbeat for /healthz
and the periodic-job scheduler (`gridlink.core.schedule`)."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from gridlink.core.models import WorkerHeartbeat
from gridlink.core.schedule import schedule_due


def beat(worker_id: str, started_at: Any) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": started_at,
            "seen_at": timezone.now(),
        },
    )


class Command(BaseCommand):
    help = "Run the background worker that executes queued tasks, with a heartbeat."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--queue-name", default="*", help="queues to serve (default: all)")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        started_at = timezone.now()
        stop = threading.Event()
        beat(worker_id, started_at)
        schedule_due()

        def heartbeat_loop() -> None:
            while not stop.wait(settings.GRIDLINK_WORKER_HEARTBEAT_SECONDS):
                try:
                    beat(worker_id, started_at)
                    schedule_due()
                except DatabaseError as exc:  # a missed beat is reported by /healthz going stale
                    self.stderr.write(f"heartbeat failed: {exc}")
                finally:
                    close_old_connections()
            connection.close()

        thread = threading.Thread(target=heartbeat_loop, name="heartbeat", daemon=True)
        thread.start()
        self.stdout.write(f"worker {worker_id} started")
        try:
            call_command(
                "db_worker",
                queue_name=options["queue_name"],
                interval=options["interval"],
                worker_id=worker_id[:64],
            )
        finally:
            stop.set()
            WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()
