"""Platform-wide models: the append-only, hash-chained logs, the worker heartbeat and
periodic jobs, the kept answers to `Idempotency-Key` writes (`IdempotentResponse`,
`gridlink.core.idempotency`), and the working calendar (holidays, make-up working days,
working hours) that every deadline is counted on (see `gridlink.core.worktime`).

Two logs share one chain mechanism (`gridlink.core.ledger`):

- `AuditEvent` (审计日志): security-relevant actions — sign-in, role changes, imports,
  configuration changes.
- `AccessRecord` (个人信息访问日志): every unmask and every export of personal data —
  who, whose record, which fields, purpose, time, source IP, outcome.

Each row stores `seq` (1, 2, 3 … without gaps), the previous row's hash and its own hash
over a canonical JSON form of its fields. `ChainHead` holds the last seq and hash of each
chain, authenticated by a MAC under the audit key, so that a deleted tail is detected too;
`PruneRecord` is the signed record of each retention prune. Rows refuse updates and deletes
through the ORM, database triggers refuse them below the ORM (migration
0006_signed_log_heads_and_guards), and `gridlink audit verify` finds what got past both.
See docs/security.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
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
    """The last seq and hash of one chain; locked while a row is appended.

    `mac` authenticates the other fields (`gridlink.core.ledger.head_mac`), so a head
    rewound or rebased in the database without the audit key no longer verifies.
    """

    chain = models.CharField(max_length=20, primary_key=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    # After entries past retention are pruned, the chain is verified from this anchor:
    # the seq and hash of the last pruned entry.
    base_seq = models.PositiveBigIntegerField(default=0)
    base_hash = models.CharField(max_length=64, default="0" * 64)
    mac = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("log chain head")
        verbose_name_plural = _("log chain heads")

    def __str__(self) -> str:
        return f"{self.chain}@{self.last_seq}"


class PruneRecord(models.Model):
    """日志清理记录 — what one retention prune removed from one chain: entries
    `first_seq`–`last_seq` (`count` of them), and `base_hash`, the hash of entry `last_seq`
    that the rest of the chain now links to. `mac` signs it with the audit key
    (`gridlink.core.ledger.prune_mac`).

    Insert-only: the database refuses to change or delete these rows, and refuses to delete
    a log entry that no prune record covers.
    """

    chain = models.CharField(max_length=20)
    first_seq = models.PositiveBigIntegerField()
    last_seq = models.PositiveBigIntegerField()
    count = models.PositiveBigIntegerField()
    base_hash = models.CharField(max_length=64)
    pruned_at = models.DateTimeField()
    mac = models.CharField(max_length=64)

    class Meta:
        ordering = ["chain", "first_seq"]
        verbose_name = _("log prune record")
        verbose_name_plural = _("log prune records")
        constraints = [
            models.UniqueConstraint(fields=["chain", "first_seq"], name="prunerecord_unique_start"),
        ]

    def __str__(self) -> str:
        return f"{self.chain} #{self.first_seq}–#{self.last_seq} pruned {self.pruned_at:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("prune records cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("prune records cannot be deleted")


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


class CalendarDay(models.Model):
    """A day that differs from the default week (Mon–Fri work, Sat/Sun rest): a statutory
    holiday (法定节假日) or a make-up working day (调休上班日).

    Seeded from the `chinesecalendar` package for the years it knows
    (`gridlink calendar seed`), and for later years from the `holidays` package's China
    calendar as *provisional* days (`provisional=True`) until an administrator confirms the
    year against the State Council's notice (`gridlink calendar confirm YEAR`).
    Administrators add or correct days in the admin or by CSV (`gridlink calendar import`).
    Rows an administrator entered or changed carry `source=admin` and are never overwritten
    by the seed. See docs/working-calendar.md.
    """

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("holiday (rest day)")
        MAKEUP_WORKDAY = "makeup_workday", _("make-up working day")

    class Source(models.TextChoices):
        PACKAGE = "package", _("chinesecalendar package")
        HOLIDAYS = "holidays", _("holidays package")
        ADMIN = "admin", _("administrator")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name_zh = models.CharField(_("name (Chinese)"), max_length=50)
    name_en = models.CharField(_("name (English)"), max_length=50, blank=True)
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.ADMIN
    )
    # Seeded from a source that projects the year rather than copying the notice (the
    # `holidays` package); deadlines use it, administrators are warned until confirmed.
    provisional = models.BooleanField(_("provisional"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["holiday", "makeup_workday"]),
                name="calendarday_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=["package", "holidays", "admin"]),
                name="calendarday_source_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.kind} {self.name_zh}"

    @property
    def is_working_day(self) -> bool:
        return self.kind == self.Kind.MAKEUP_WORKDAY

    @classmethod
    def provisional_years(cls) -> list[int]:
        """The years with provisional days (seeded from `holidays`, not yet confirmed)."""
        days = cls.objects.filter(provisional=True).values_list("date", flat=True)
        return sorted({day.year for day in days})


class WorkingHours(models.Model):
    """作息时间 — the morning and afternoon sessions of a working day, from `valid_from` on
    (until the next row's `valid_from`). Without any row the default applies:
    08:30–12:00 and 13:30–17:30, 7.5 working hours a day (`gridlink.core.worktime`)."""

    valid_from = models.DateField(_("valid from"), unique=True)
    morning_start = models.TimeField(_("morning starts"), default=dt.time(8, 30))
    morning_end = models.TimeField(_("morning ends"), default=dt.time(12, 0))
    afternoon_start = models.TimeField(_("afternoon starts"), default=dt.time(13, 30))
    afternoon_end = models.TimeField(_("afternoon ends"), default=dt.time(17, 30))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["valid_from"]
        verbose_name = _("working timetable")
        verbose_name_plural = _("working timetables")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(morning_start__lt=models.F("morning_end"))
                & models.Q(morning_end__lte=models.F("afternoon_start"))
                & models.Q(afternoon_start__lt=models.F("afternoon_end")),
                name="workinghours_sessions_ordered",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.valid_from:%Y-%m-%d}: {self.morning_start:%H:%M}–{self.morning_end:%H:%M}, "
            f"{self.afternoon_start:%H:%M}–{self.afternoon_end:%H:%M}"
        )

    def clean(self) -> None:
        super().clean()
        times = [self.morning_start, self.morning_end, self.afternoon_start, self.afternoon_end]
        if any(t is None for t in times):
            return  # the field errors say which is missing
        if not self.morning_start < self.morning_end:
            raise ValidationError(
                {"morning_end": _("The morning must end after it starts.")},
                code="session_order",
            )
        if not self.afternoon_start < self.afternoon_end:
            raise ValidationError(
                {"afternoon_end": _("The afternoon must end after it starts.")},
                code="session_order",
            )
        if not self.morning_end <= self.afternoon_start:
            raise ValidationError(
                {"afternoon_start": _("The afternoon must start after the morning ends.")},
                code="session_overlap",
            )

    @property
    def sessions(self) -> tuple[tuple[dt.time, dt.time], ...]:
        return (
            (self.morning_start, self.morning_end),
            (self.afternoon_start, self.afternoon_end),
        )


class RateBucket(models.Model):
    """One client's count of requests in one rate limit's current window
    (`gridlink.core.ratelimit`). `key` is "<limit>:<keyed hash of the client>" — no raw
    address or username is stored. Rows whose window has ended are deleted by the periodic
    `purge_rate_buckets` job."""

    key = models.CharField(max_length=120, unique=True)
    hits = models.PositiveIntegerField(default=0)
    window_ends_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("rate-limit bucket")

    def __str__(self) -> str:
        return f"{self.key}: {self.hits} until {self.window_ends_at:%Y-%m-%d %H:%M:%S}"


class IdempotentResponse(models.Model):
    """The first answer to a write sent with an `Idempotency-Key` (`gridlink.core.idempotency`):
    a retry with the same key and body from the same caller gets this answer back instead of
    acting again. Stored in the transaction of the change it answers."""

    owner = models.CharField(max_length=80)  # "user:<id>"
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64)  # sha256 of the endpoint and the body
    status = models.PositiveSmallIntegerField()
    body = models.TextField()  # the JSON answer as sent
    etag = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotent response")
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotent_response_once"),
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"
