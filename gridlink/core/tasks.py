"""Background tasks of the core app, run by the database-backed worker."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from gridlink.core.audit import audit_record
from gridlink.core.idempotency import idempotency_purge
from gridlink.core.ledger import CHAINS, ChainBroken, chain_prune, chain_verify
from gridlink.core.ratelimit import rate_buckets_purge


@task()
def verify_logs() -> dict[str, object]:
    """Walk both hash chains; record the result in the audit log."""
    result: dict[str, object] = {}
    broken = False
    for name, model in CHAINS.items():
        checked, problem = chain_verify(model)
        result[name] = {"checked": checked, "problem": str(problem) if problem else None}
        broken = broken or problem is not None
    audit_record(
        actor=None,
        action="audit.verified",
        data=result,
        outcome="failure" if broken else "success",
    )
    return result


@task()
def prune_logs() -> dict[str, object]:
    """Delete log entries older than GRIDLINK_LOG_RETENTION_DAYS (never less than 183),
    leaving a signed prune record per chain; a chain whose old entries do not verify is
    not pruned (the refusal is audited as a failure)."""
    days = settings.GRIDLINK_LOG_RETENTION_DAYS
    before = timezone.now() - dt.timedelta(days=days)
    pruned: dict[str, object] = {}
    refused = False
    for name, model in CHAINS.items():
        try:
            record = chain_prune(model, before=before)
        except ChainBroken as exc:
            pruned[name] = {"refused": str(exc)}
            refused = True
            continue
        pruned[name] = record.count if record else 0
    audit_record(
        actor=None,
        action="audit.pruned",
        data={"pruned": pruned, "days": days},
        outcome="failure" if refused else "success",
    )
    return pruned


@task()
def purge_rate_buckets() -> int:
    """Delete the rate-limit buckets whose window has ended (`core.ratelimit`)."""
    return rate_buckets_purge()


@task()
def purge_idempotency_keys() -> dict[str, int]:
    """Delete answers to `Idempotency-Key` requests older than the retention
    (GRIDLINK_IDEMPOTENCY_RETENTION_HOURS, `core.idempotency`)."""
    return idempotency_purge()


PERIODIC = {
    "verify_logs": (verify_logs, dt.timedelta(hours=6)),
    "prune_logs": (prune_logs, dt.timedelta(days=1)),
    "purge_rate_buckets": (purge_rate_buckets, dt.timedelta(minutes=10)),
    "purge_idempotency_keys": (purge_idempotency_keys, dt.timedelta(hours=1)),
}
