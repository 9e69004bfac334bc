import datetime as dt

from django.utils import timezone

from gridlink.core.management.commands.run_worker import beat
from gridlink.core.models import WorkerHeartbeat


def test_healthz_reports_database_migrations_and_a_missing_worker(client, db):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"] == {"ok": True, "pending": 0}
    assert body["checks"]["worker"]["ok"] is False
    assert body["status"] == "degraded"


def test_healthz_ok_with_a_fresh_heartbeat_and_degraded_when_stale(client, db):
    beat("w1", timezone.now())
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["checks"]["worker"]["workers_alive"] == 1
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - dt.timedelta(minutes=10))
    assert client.get("/healthz").json()["status"] == "degraded"


def test_healthz_needs_no_login_and_reveals_no_personal_data(client, db):
    r = client.get("/healthz")
    assert r["Cache-Control"].startswith("max-age=0")
    assert set(r.json()) == {"status", "checks"}
