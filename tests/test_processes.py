"""Real processes against the real test database: the worker and the `gridlink` command."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from gridlink.core.audit import audit_record
from gridlink.core.guards import log_guards_lifted
from gridlink.core.models import AuditEvent, WorkerHeartbeat
from gridlink.core.tasks import verify_logs


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url()
    env["GRIDLINK_WORKER_HEARTBEAT_SECONDS"] = "1"
    return env


def _gridlink(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridlink.cli", *args],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _wait_for(predicate, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.django_db(transaction=True)
def test_worker_beats_runs_a_task_and_leaves_cleanly(client):
    worker = subprocess.Popen(
        [sys.executable, "-m", "gridlink.cli", "run_worker", "--interval", "0.2"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert _wait_for(WorkerHeartbeat.objects.exists), "no heartbeat from the worker"
        assert client.get("/healthz").json()["checks"]["worker"]["ok"] is True
        result = verify_logs.enqueue()
        assert _wait_for(
            lambda: DBTaskResult.objects.filter(id=result.id, status="SUCCESSFUL").exists()
        )
        assert AuditEvent.objects.filter(action="audit.verified", outcome="success").exists()
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert not WorkerHeartbeat.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_audit_verify_command_names_the_tampered_entry():
    for i in range(4):
        audit_record(actor=None, action="test.action", target_id=i)
    ok = _gridlink("audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "audit log: 4 entries, chain intact" in ok.stdout
    # Tamper as the tables' owner would: below the ORM, with the guard triggers lifted.
    with log_guards_lifted(connection), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {AuditEvent._meta.db_table} SET action = 'nothing' WHERE seq = 2")
    broken = _gridlink("audit", "verify")
    assert broken.returncode == 1
    assert "audit log entry #2" in broken.stderr


@pytest.mark.django_db(transaction=True)
def test_token_command_prints_a_working_token_and_rejects_unknown_users(live_server):
    from tests.factories import UserFactory

    UserFactory(username="machine")
    issued = _gridlink("token", "machine", "bridge", "--days", "30")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert token.startswith("gl_")
    import urllib.request

    req = urllib.request.Request(
        f"{live_server.url}/api/v1/departments", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
    missing = _gridlink("token", "nobody", "x")
    assert missing.returncode != 0
    assert "username: no active user 'nobody'" in missing.stderr


@pytest.mark.django_db(transaction=True)
def test_serve_runs_web_and_worker_and_logs_no_query_strings():
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gridlink.cli", "serve", "--port", str(port), "--web-workers", "1"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as resp:
                return resp.status == 200 and b'"worker": {"ok": true' in resp.read()
        except OSError:  # refused, reset or timed out (URLError is one too): not up yet
            return False

    try:
        assert _wait_for(healthy, 60), "server and worker did not come up"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(
                f"{base}/api/v1/registry/residents?q=%E5%BC%A0%E4%B8%89", timeout=5
            )
        assert refused.value.code == 401
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert "/api/v1/registry/residents" in output
    assert "q=" not in output and "%E5%BC%A0" not in output
