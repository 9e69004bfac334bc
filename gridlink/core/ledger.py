"""Append to and verify the hash-chained logs (see `gridlink.core.models`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from gridlink.core.models import AccessRecord, AuditEvent, ChainedEntry, ChainHead

GENESIS = "0" * 64


def _canonical(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return value


def entry_digest(entry: ChainedEntry, prev_hash: str) -> str:
    payload = {name: _canonical(getattr(entry, name)) for name in entry.HASHED_FIELDS}
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@transaction.atomic
def chain_append[E: ChainedEntry](entry: E) -> E:
    """Give `entry` the next seq and its hashes and save it, serialised per chain."""
    head, _ = ChainHead.objects.get_or_create(chain=entry.CHAIN)
    head = ChainHead.objects.select_for_update().get(pk=head.pk)
    entry.seq = head.last_seq + 1
    entry.at = entry.at or timezone.now()
    entry.prev_hash = head.last_hash
    entry.entry_hash = entry_digest(entry, head.last_hash)
    entry.save()
    head.last_seq = entry.seq
    head.last_hash = entry.entry_hash
    head.save(update_fields=["last_seq", "last_hash"])
    return entry


@dataclass(frozen=True)
class ChainProblem:
    chain: str
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"{self.chain} log entry #{self.seq}: {self.reason}"


def _rows(model: type[ChainedEntry]) -> Iterator[ChainedEntry]:
    return model._default_manager.order_by("seq").iterator(chunk_size=2000)


def chain_verify(model: type[ChainedEntry]) -> tuple[int, ChainProblem | None]:
    """Walk one chain; return (entries checked, first problem or None)."""
    expected_seq = 1
    prev_hash = GENESIS
    checked = 0
    for row in _rows(model):
        if row.seq != expected_seq:
            return checked, ChainProblem(model.CHAIN, expected_seq, "missing (deleted) entry")
        if row.prev_hash != prev_hash:
            return checked, ChainProblem(
                model.CHAIN, row.seq, "link to the previous entry is broken"
            )
        if entry_digest(row, prev_hash) != row.entry_hash:
            return checked, ChainProblem(
                model.CHAIN, row.seq, "content does not match its hash (altered)"
            )
        prev_hash = row.entry_hash
        expected_seq += 1
        checked += 1
    head = ChainHead.objects.filter(chain=model.CHAIN).first()
    last_seq = head.last_seq if head else 0
    if last_seq > checked:
        return checked, ChainProblem(model.CHAIN, checked + 1, "missing (deleted) entry at the end")
    if head and head.last_hash != prev_hash:
        return checked, ChainProblem(
            model.CHAIN, checked, "chain head does not match the last entry"
        )
    return checked, None


CHAINS: dict[str, type[ChainedEntry]] = {"audit": AuditEvent, "access": AccessRecord}
