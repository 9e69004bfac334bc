"""Crash safety with real processes: the web server and the worker are killed with SIGKILL at
random moments while clients report problems, then restarted.

What must hold afterwards (issue "reliability and security", crash safety):
- every report the server acknowledged exists exactly once (no loss, no duplicate), and a
  client that retries an acknowledged report with its `Idempotency-Key` gets the same case;
- every outbox entry is delivered to the webhook receiver (at least once, identified by its
  delivery id);
- the audit chain verifies.

The run is bounded (four kill rounds, then a bounded wait for the outbox) and seeded,
so that a failure can be replayed with the same kill schedule. It prints its figures.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection

from gridlink.accounts.roles import Role
from gridlink.accounts.services import api_token_create
from gridlink.cases.models import Case, TaxonomyVersion
from gridlink.cases.services import SHIPPED_TAXONOMY, taxonomy_load
from gridlink.outbox.models import Delivery, OutboxEntry
from gridlink.outbox.services import endpoint_create
from tests.factories import RoleAssignmentFactory, UserFactory

# Kill rounds: the web server, the worker, both, the web server again (shuffled by SEED).
SCHEDULE = ["web", "worker", "both", "web"]
CLIENTS = 4
SEED = int(os.environ.get("GRIDLINK_CRASH_SEED", "7"))
DELIVERY_WAIT_SECONDS = 150
CATEGORY = "E0102"


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url()
    env["GRIDLINK_WORKER_HEARTBEAT_SECONDS"] = "1"
    # A killed worker's claimed deliveries come back after their lease (timeout × batch +
    # grace): a short timeout keeps the wait bounded.
    env["GRIDLINK_WEBHOOK_TIMEOUT_SECONDS"] = "1"
    env["GRIDLINK_WEBHOOK_BACKOFF_SECONDS"] = "1"
    # The receiver runs on loopback, which webhooks may not reach unless allowed.
    env["GRIDLINK_WEBHOOK_ALLOW_PRIVATE"] = "127.0.0.1/32"
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Receiver:
    """A webhook receiver on 127.0.0.1 counting the delivery ids it was sent."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self.rfile.read(length)
                with receiver.lock:
                    receiver.seen[self.headers.get("X-Gridlink-Delivery", "")] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return  # the test prints its own figures

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Processes:
    """The web server (gunicorn: master and workers in one process group) and the worker."""

    def __init__(self, port: int, log_path: str) -> None:
        self.port = port
        self.log = open(log_path, "ab")  # noqa: SIM115  (kept open across restarts)
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.kills = Counter[str]()

    def _start(self, args: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", *args],
            env=_env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL reaches every child
        )

    def start_web(self) -> None:
        self.web = self._start(
            [
                "gunicorn",
                "gridlink.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--threads",
                "4",
            ]
        )

    def start_worker(self) -> None:
        self.worker = self._start(["gridlink.cli", "run_worker", "--interval", "0.2"])

    def kill(self, which: str) -> None:
        proc = self.web if which == "web" else self.worker
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            self.kills[which] += 1

    def stop(self) -> None:
        for proc in (self.web, self.worker):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)
        self.log.close()


@dataclass
class Ledger:
    """What the clients were told: key → (case id, status) of the acknowledgement."""

    acknowledged: dict[str, int] = field(default_factory=dict)
    bodies: dict[str, bytes] = field(default_factory=dict)
    attempts: int = 0
    refused: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _post(base: str, token: str, key: str, body: bytes) -> tuple[int, dict[str, Any], str]:
    request = urllib.request.Request(
        f"{base}/api/v1/cases",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            replayed = response.headers.get("Idempotent-Replayed", "")
            return response.status, json.loads(response.read()), replayed
    except urllib.error.HTTPError as error:
        return error.code, {}, ""


def _report_body(key: str, rng: random.Random) -> bytes:
    return json.dumps(
        {
            "channel": "grid_patrol",
            "category_code": CATEGORY,
            "description": f"巡查发现垃圾堆放 crash-{key}",
            "lat": 35.8 + rng.random() * 0.1,
            "lon": 120.0 + rng.random() * 0.1,
        }
    ).encode()


def _client(base: str, token: str, ledger: Ledger, stop: threading.Event, n: int) -> None:
    """Report until told to stop; retry each report with its key until it is acknowledged."""
    rng = random.Random(SEED * 100 + n)
    while not stop.is_set():
        key = str(uuid.UUID(int=rng.getrandbits(128)))
        body = _report_body(key, rng)
        give_up = time.monotonic() + 300
        while time.monotonic() < give_up:
            with ledger.lock:
                ledger.attempts += 1
            try:
                status, payload, _ = _post(base, token, key, body)
            except (OSError, http.client.HTTPException):  # refused, reset, cut off mid-answer
                time.sleep(0.2)
                continue
            if status == 201:
                with ledger.lock:
                    ledger.acknowledged[key] = int(payload["id"])
                    ledger.bodies[key] = body
                break
            with ledger.lock:
                ledger.refused[status] += 1
            time.sleep(0.2)  # 5xx while a process dies, or 503 on start-up: try again


def _wait_until(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def _up(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.mark.django_db(transaction=True)
def test_sigkill_loses_and_duplicates_no_acknowledged_report(
    tree, record_property, tmp_path, settings
):
    settings.GRIDLINK_WEBHOOK_ALLOW_PRIVATE = ["127.0.0.1/32"]  # as the worker's env below
    if not TaxonomyVersion.objects.filter(is_current=True).exists():
        taxonomy_load(actor=None, path=SHIPPED_TAXONOMY, publish=True)
    worker = UserFactory(username="crash-patrol")
    RoleAssignmentFactory(user=worker, role=Role.GRID_WORKER, area=tree.district)
    _, token = api_token_create(actor=None, user=worker, name="crash test")
    receiver = Receiver()
    endpoint_create(actor=None, url=receiver.url, topics=["case.*"])

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    procs = Processes(port, str(tmp_path / "processes.log"))
    procs.start_web()
    procs.start_worker()
    ledger = Ledger()
    stop = threading.Event()
    try:
        assert _wait_until(lambda: _up(base), 90), "the web server did not come up"
        clients = [
            threading.Thread(target=_client, args=(base, token, ledger, stop, n), daemon=True)
            for n in range(CLIENTS)
        ]
        for thread in clients:
            thread.start()
        rng = random.Random(SEED)
        schedule = list(SCHEDULE)
        rng.shuffle(schedule)
        for which in schedule:
            time.sleep(rng.uniform(1.5, 4.0))  # under load, then a kill at a random moment
            for part in ("web", "worker") if which == "both" else (which,):
                procs.kill(part)
            time.sleep(rng.uniform(0.0, 1.0))
            if procs.web is None or procs.web.poll() is not None:
                procs.start_web()
            if procs.worker is None or procs.worker.poll() is not None:
                procs.start_worker()
            assert _wait_until(lambda: _up(base), 90), "the web server did not come back"
        stop.set()
        for thread in clients:
            thread.join(timeout=180)
        assert not any(t.is_alive() for t in clients), "a client never got its report through"

        # Retried keys replay: the same case, marked as a replay.
        replays = list(ledger.acknowledged.items())[:: max(1, len(ledger.acknowledged) // 10)]
        for key, case_id in replays:
            status, payload, replayed = _post(base, token, key, ledger.bodies[key])
            assert status == 201 and payload["id"] == case_id and replayed == "true", key

        def delivered() -> bool:
            entries = OutboxEntry.objects.count()
            done = Delivery.objects.filter(status=Delivery.Status.DELIVERED).count()
            return entries > 0 and done >= entries

        assert _wait_until(delivered, DELIVERY_WAIT_SECONDS), "the outbox was not delivered"
    finally:
        stop.set()
        procs.stop()
        receiver.server.shutdown()

    found = duplicated = lost = 0
    for key, case_id in ledger.acknowledged.items():
        matches = list(
            Case.objects.filter(description__endswith=f"crash-{key}").values_list("id", flat=True)
        )
        if not matches:
            lost += 1
            continue
        found += 1
        duplicated += len(matches) - 1
        assert case_id in matches, f"acknowledged case {case_id} is not the stored one"
    strays = Case.objects.filter(description__contains="crash-").count() - found - duplicated

    deliveries = list(Delivery.objects.values_list("delivery_id", "status"))
    undelivered = [d for d, s in deliveries if s != Delivery.Status.DELIVERED]
    never_received = [d for d, _ in deliveries if str(d) not in receiver.seen]
    redelivered = sum(n - 1 for n in receiver.seen.values() if n > 1)

    audit = subprocess.run(
        [sys.executable, "-m", "gridlink.cli", "audit", "verify"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Printed at the end of the run (tests/conftest.py), also from a parallel worker.
    record_property(
        "figures",
        (
            f"crash test: acknowledged {len(ledger.acknowledged)}, found {found}, "
            f"duplicated {duplicated}, lost {lost}, unacknowledged but stored {strays}; "
            f"kills web {procs.kills['web']}, worker {procs.kills['worker']}; "
            f"attempts {ledger.attempts}, refused {dict(ledger.refused)}; "
            f"outbox deliveries {len(deliveries)}, undelivered {len(undelivered)}, "
            f"redelivered {redelivered}; audit verify rc={audit.returncode}"
        ),
    )
    assert len(ledger.acknowledged) >= CLIENTS, "too few reports got through to test anything"
    assert procs.kills["web"] == 3 and procs.kills["worker"] == 2, procs.kills
    assert lost == 0
    assert not [s for s in ledger.refused if s >= 500], "a live server answered 5xx"
    assert duplicated == 0
    assert strays == 0, "a case was stored that no client was told about and no retry found"
    assert not undelivered and not never_received
    assert audit.returncode == 0, audit.stdout + audit.stderr
