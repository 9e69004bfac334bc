"""Append to, verify and prune the hash-chained logs (see `gridlink.core.models`).

Each entry's hash is an HMAC (key `GRIDLINK_AUDIT_KEY`, kept outside the database) over
the previous entry's hash and a canonical JSON form of the entry, so someone who can
write to the database but does not hold the key cannot re-forge a consistent chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
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
    key = settings.GRIDLINK_AUDIT_KEY.encode()
    return hmac.new(key, (prev_hash + body).encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def chain_append[E: ChainedEntry](entry: E) -> E:
    """Give `entry` the next seq and its hashes and save it, serialised per chain."""
    # The head rows are created by a migration; get_or_create only covers a wiped table.
    head, _ = ChainHead.objects.select_for_update().get_or_create(chain=entry.CHAIN)
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


def chain_verify(model: type[ChainedEntry]) -> tuple[int, ChainProblem | None]:
    """Walk one chain; return (entries checked, first problem or None).

    Reads the head first and walks only up to its last seq, so entries appended while the
    walk runs are left for the next verification instead of looking like breakage.
    """
    manager = model._default_manager
    head = ChainHead.objects.filter(chain=model.CHAIN).first()
    if head is None:
        first = manager.order_by("seq").values_list("seq", flat=True).first()
        if first is not None:
            return 0, ChainProblem(model.CHAIN, first, "the chain head is missing")
        return 0, None
    expected_seq = head.base_seq + 1
    prev_hash = head.base_hash
    checked = 0
    rows = manager.filter(seq__lte=head.last_seq).order_by("seq").iterator(chunk_size=2000)
    for row in rows:
        if row.seq != expected_seq:
            reason = (
                "missing (deleted) entry"
                if row.seq > expected_seq
                else "entry before the chain's start"
            )
            return checked, ChainProblem(model.CHAIN, min(row.seq, expected_seq), reason)
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
    if head.last_seq >= expected_seq:
        return checked, ChainProblem(
            model.CHAIN, expected_seq, "missing (deleted) entry at the end"
        )
    if head.last_hash != prev_hash:
        return checked, ChainProblem(
            model.CHAIN, head.last_seq, "chain head does not match the last entry"
        )
    # An entry beyond the head that a fresh head read does not cover was inserted by hand
    # (a real append writes its row and the head in one transaction).
    highest = manager.aggregate(top=Max("seq"))["top"] or 0
    fresh_last = (
        ChainHead.objects.filter(chain=model.CHAIN).values_list("last_seq", flat=True).first() or 0
    )
    if highest > fresh_last:
        return checked, ChainProblem(
            model.CHAIN, fresh_last + 1, "entry outside the chain (inserted)"
        )
    return checked, None


@transaction.atomic
def chain_prune(model: type[ChainedEntry], *, before: dt.datetime) -> int:
    """Delete entries older than `before`, moving the chain's anchor past them.

    Only whole prefixes are pruned, so what remains still verifies from the anchor.
    """
    head = ChainHead.objects.select_for_update().filter(chain=model.CHAIN).first()
    if head is None:
        return 0
    manager = model._default_manager
    last_old = manager.filter(at__lt=before).order_by("-seq").first()
    if last_old is None:
        return 0
    deleted, _ = manager.filter(seq__lte=last_old.seq).delete()
    head.base_seq = last_old.seq
    head.base_hash = last_old.entry_hash
    head.save(update_fields=["base_seq", "base_hash"])
    return deleted


CHAINS: dict[str, type[ChainedEntry]] = {"audit": AuditEvent, "access": AccessRecord}
