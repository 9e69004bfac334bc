"""Append-only, hash-chained logs and the worker heartbeat.

Two logs share one chain mechanism (`gridlink.core.ledger`):

- `AuditEvent` (审计日志): security-relevant actions — sign-in, role changes, imports,
  configuration changes.
- `AccessRecord` (个人信息访问日志): every unmask and every export of personal data —
  who, whose record, which fields, purpose, time, source IP, outcome.

Each row stores `seq` (1, 2, 3 … without gaps), the previous row's hash and its own hash
over a canonical JSON form of its fields. `ChainHead` holds the last seq and hash of each
chain so that a deleted tail is detected too. Rows refuse updates and deletes through the
ORM; tampering below the ORM is found by `gridlink audit verify`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove a row of an append-only log."""


class ChainedEntry(models.Model):
    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    outcome = models.CharField(max_length=20, default="success")
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)

    CHAIN: ClassVar[str] = ""
    HASHED_FIELDS: ClassVar[tuple[str, ...]] = (
        "seq",
        "at",
        "actor_id",
        "actor_username",
        "ip",
        "outcome",
    )

    class Meta:
        abstract = True
        ordering = ["seq"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{type(self).__name__} rows cannot be deleted")


class AuditEvent(ChainedEntry):
    """审计日志 — one security-relevant action."""

    CHAIN = "audit"
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)

    HASHED_FIELDS = (*ChainedEntry.HASHED_FIELDS, "action", "target_type", "target_id", "data")

    class Meta(ChainedEntry.Meta):
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_username or '-'}"


class AccessRecord(ChainedEntry):
    """个人信息访问日志 — one unmask or export of personal data."""

    class Kind(models.TextChoices):
        UNMASK = "unmask", "unmask"
        EXPORT = "export", "export"
        LOOKUP = "lookup", "lookup by identifier"

    CHAIN = "access"
    kind = models.CharField(max_length=10, choices=Kind.choices)
    subject_type = models.CharField(max_length=32)
    subject_ids = models.JSONField(default=list)
    fields = models.JSONField(default=list)
    purpose = models.CharField(max_length=200)

    HASHED_FIELDS = (
        *ChainedEntry.HASHED_FIELDS,
        "kind",
        "subject_type",
        "subject_ids",
        "fields",
        "purpose",
    )

    class Meta(ChainedEntry.Meta):
        verbose_name = _("personal data access record")
        verbose_name_plural = _("personal data access records")

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.subject_type} by {self.actor_username or '-'}"


class ChainHead(models.Model):
    """The last seq and hash of one chain; locked while a row is appended."""

    chain = models.CharField(max_length=20, primary_key=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    # After entries past retention are pruned, the chain is verified from this anchor:
    # the seq and hash of the last pruned entry.
    base_seq = models.PositiveBigIntegerField(default=0)
    base_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("log chain head")
        verbose_name_plural = _("log chain heads")

    def __str__(self) -> str:
        return f"{self.chain}@{self.last_seq}"


class WorkerHeartbeat(models.Model):
    """The last sign of life of each background worker, read by /healthz."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return f"{self.worker_id} seen {self.seen_at:%Y-%m-%d %H:%M:%S}"


class PeriodicJob(models.Model):
    """When a periodic task is next due; claimed by a conditional update so that of several
    workers exactly one enqueues it (see `gridlink.core.schedule`)."""

    name = models.CharField(max_length=64, primary_key=True)
    next_run_at = models.DateTimeField()
    last_enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("periodic job")
        verbose_name_plural = _("periodic jobs")

    def __str__(self) -> str:
        return f"{self.name} next {self.next_run_at:%Y-%m-%d %H:%M}"
