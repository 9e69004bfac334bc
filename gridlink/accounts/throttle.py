"""Sign-in throttling, counted from the audit log's failed sign-ins (no extra table).

After `GRIDLINK_LOGIN_MAX_FAILURES` failures for one username, or five times as many from
one address, within `GRIDLINK_LOGIN_LOCK_SECONDS`, further attempts are refused until the
window has passed. Shared by every app server because it reads the database.
"""

from __future__ import annotations

import datetime as dt
import math

from django.conf import settings
from django.utils import timezone

from gridlink.core.models import AuditEvent

IP_FACTOR = 5


def login_retry_after(*, username: str, ip: str | None) -> int | None:
    """Seconds to wait before another attempt, or None if an attempt is allowed now."""
    window = dt.timedelta(seconds=settings.GRIDLINK_LOGIN_LOCK_SECONDS)
    since = timezone.now() - window
    failures = AuditEvent.objects.filter(action="auth.login_failed", at__gte=since)
    limit = settings.GRIDLINK_LOGIN_MAX_FAILURES
    for qs, cap in (
        (failures.filter(target_id=username[:64]), limit),
        (failures.filter(ip=ip) if ip else failures.none(), limit * IP_FACTOR),
    ):
        recent = qs.order_by("-at").values_list("at", flat=True)[:cap]
        times = list(recent)
        if len(times) >= cap:
            oldest_counted = min(times)
            wait = (oldest_counted + window - timezone.now()).total_seconds()
            return max(1, math.ceil(wait))
    return None
