"""/healthz: database, migrations and worker heartbeat, for load balancers and operators."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from gridlink.core.models import WorkerHeartbeat


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict[str, object]] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True, "vendor": connection.vendor}
    except DatabaseError as exc:
        checks["database"] = {"ok": False, "error": type(exc).__name__}
        return JsonResponse({"status": "down", "checks": checks}, status=503)

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    checks["migrations"] = {"ok": not pending, "pending": len(pending)}

    stale_after = timedelta(seconds=3 * settings.GRIDLINK_WORKER_HEARTBEAT_SECONDS)
    latest = WorkerHeartbeat.objects.order_by("-seen_at").first()
    alive = latest is not None and timezone.now() - latest.seen_at <= stale_after
    checks["worker"] = {
        "ok": alive,
        "last_seen": latest.seen_at.isoformat() if latest else None,
        "workers_alive": WorkerHeartbeat.objects.filter(
            seen_at__gte=timezone.now() - stale_after
        ).count(),
    }
    healthy = checks["migrations"]["ok"]
    status = "ok" if healthy and alive else ("degraded" if healthy else "down")
    return JsonResponse({"status": status, "checks": checks}, status=200 if healthy else 503)
