"""Append to, verify, anchor and prune the hash-chained logs (see `gridlink.core.models`).

Each entry's hash is an HMAC (key `GRIDLINK_AUDIT_KEY`, kept outside the database) over
the previous entry's hash and a canonical JSON form of the entry, so someone who can
write to the database but does not hold the key cannot re-forge a consistent chain.

Three more things are signed with the same key, each over its own labelled message so
that one can never stand in for another:

- the chain head (`head_mac`): last seq and hash, and the base the chain starts from after
  pruning — so a head rewound, rebased or recreated in the database does not verify;
- each prune record (`prune_mac`): which entries retention pruning removed and the hash
  the rest of the chain links to;
- an anchor (`anchor_mac`): a head printed by `gridlink audit anchor` for an operator to
  keep outside the database; `chain_verify(model, anchor=...)` proves that nothing up to it
  was removed or changed, even by someone who rolled the database back to an older head.

See docs/security.md for what each check proves and the tests that show it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from gridlink.core.models import AccessRecord, AuditEvent, ChainedEntry, ChainHead, PruneRecord

GENESIS = "0" * 64
logger = logging.getLogger(__name__)


class ChainHeadMissing(Exception):
    """A chain's head row is gone: appending would hide how much of the log went with it."""


class ChainBroken(Exception):
    """Pruning refused: the entries it would remove do not verify."""


def _canonical(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return value


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _mac(label: str, payload: dict[str, Any]) -> str:
    key = settings.GRIDLINK_AUDIT_KEY.encode()
    message = f"gridlink-{label}/1\n{_json(payload)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def entry_digest(entry: ChainedEntry, prev_hash: str) -> str:
    payload = {name: _canonical(getattr(entry, name)) for name in entry.HASHED_FIELDS}
    key = settings.GRIDLINK_AUDIT_KEY.encode()
    return hmac.new(key, (prev_hash + _json(payload)).encode(), hashlib.sha256).hexdigest()


def head_mac(head: ChainHead) -> str:
    return _mac(
        "head",
        {
            "chain": head.chain,
            "last_seq": head.last_seq,
            "last_hash": head.last_hash,
            "base_seq": head.base_seq,
            "base_hash": head.base_hash,
        },
    )


def prune_mac(record: PruneRecord) -> str:
    return _mac(
        "prune",
        {
            "chain": record.chain,
            "first_seq": record.first_seq,
            "last_seq": record.last_seq,
            "count": record.count,
            "base_hash": record.base_hash,
            "pruned_at": _canonical(record.pruned_at),
        },
    )


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def head_is_authentic(head: ChainHead) -> bool:
    return bool(head.mac) and _same(head.mac, head_mac(head))


def chain_head_create(chain: str) -> ChainHead | None:
    """Create the empty head of `chain` if it has none and the chain was never written to
    (a fresh or flushed database: `post_migrate`). Returns the new head, or None."""
    model = CHAINS[chain]
    if ChainHead.objects.filter(chain=chain).exists():
        return None
    if model._default_manager.exists() or PruneRecord.objects.filter(chain=chain).exists():
        return None  # the head is gone but the log is not: verification says so
    head = ChainHead(chain=chain)
    head.mac = head_mac(head)
    head.save()
    return head


@transaction.atomic
def chain_append[E: ChainedEntry](entry: E) -> E:
    """Give `entry` the next seq and its hashes and save it, serialised per chain.

    The head is locked, its MAC checked, then advanced and signed again. A head that fails
    its MAC is still advanced (the log keeps working) but left unsigned, so an append never
    launders a tampered head: verification keeps failing until someone looks.

    Issue 14 (intake must not serialise on this row) keeps this shape: entries could be
    inserted unsealed and a single sealer (the worker) would run this same step for a batch,
    in insertion order, signing the head once per batch (docs/security.md).
    """
    head = ChainHead.objects.select_for_update().filter(chain=entry.CHAIN).first()
    if head is None:
        raise ChainHeadMissing(
            f"the {entry.CHAIN} log's chain head is missing; run `gridlink audit verify`"
        )
    authentic = head_is_authentic(head)
    entry.seq = head.last_seq + 1
    entry.at = entry.at or timezone.now()
    entry.prev_hash = head.last_hash
    entry.entry_hash = entry_digest(entry, head.last_hash)
    entry.save()
    head.last_seq = entry.seq
    head.last_hash = entry.entry_hash
    if authentic:
        head.mac = head_mac(head)
    else:
        logger.error("the %s log's chain head fails its MAC; not re-signing it", entry.CHAIN)
        head.mac = ""
    head.save(update_fields=["last_seq", "last_hash", "mac"])
    return entry


@dataclass(frozen=True)
class ChainProblem:
    chain: str
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"{self.chain} log entry #{self.seq}: {self.reason}"


@dataclass(frozen=True)
class Anchor:
    """A signed chain head kept outside the database (`gridlink audit anchor`)."""

    chain: str
    seq: int
    hash: str
    at: dt.datetime
    mac: str

    def payload(self) -> dict[str, Any]:
        return {"chain": self.chain, "seq": self.seq, "hash": self.hash, "at": _canonical(self.at)}

    def expected_mac(self) -> str:
        return _mac("anchor", self.payload())

    def as_json(self) -> dict[str, Any]:
        return {**self.payload(), "mac": self.mac}

    @classmethod
    def from_json(cls, data: Any) -> Anchor:
        """Parse one anchor; ValueError names the field that is wrong."""
        if not isinstance(data, dict):
            raise ValueError("an anchor must be a JSON object")
        chain = data.get("chain")
        if chain not in CHAINS:
            raise ValueError(f"chain: must be one of {', '.join(CHAINS)}")
        seq = data.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError("seq: must be a whole number ≥ 0")
        values = {name: data.get(name) for name in ("hash", "at", "mac")}
        for name, value in values.items():
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name}: missing")
        try:
            at = dt.datetime.fromisoformat(str(values["at"]))
        except ValueError:
            raise ValueError("at: not an ISO 8601 time") from None
        if at.tzinfo is None:
            raise ValueError("at: must carry a UTC offset")
        return cls(chain=chain, seq=seq, hash=str(values["hash"]), at=at, mac=str(values["mac"]))


def chain_anchor(model: type[ChainedEntry]) -> Anchor:
    """The current head of one chain, signed; ValueError if the head is missing or forged."""
    head = ChainHead.objects.filter(chain=model.CHAIN).first()
    if head is None:
        raise ValueError(f"the {model.CHAIN} log's chain head is missing")
    if not head_is_authentic(head):
        raise ValueError(f"the {model.CHAIN} log's chain head fails its MAC (changed outside)")
    unsigned = Anchor(
        chain=head.chain, seq=head.last_seq, hash=head.last_hash, at=timezone.now(), mac=""
    )
    return dataclasses.replace(unsigned, mac=unsigned.expected_mac())


def _prune_base(chain: str) -> tuple[int, str, ChainProblem | None]:
    """Where the chain starts after its signed prunes: (base seq, base hash, problem)."""
    base_seq, base_hash = 0, GENESIS
    for record in PruneRecord.objects.filter(chain=chain).order_by("first_seq"):
        if not _same(record.mac, prune_mac(record)):
            return (
                base_seq,
                base_hash,
                ChainProblem(
                    chain,
                    record.first_seq,
                    f"prune record #{record.first_seq}–#{record.last_seq} is not authentic",
                ),
            )
        if record.first_seq != base_seq + 1 or record.count != (
            record.last_seq - record.first_seq + 1
        ):
            return (
                base_seq,
                base_hash,
                ChainProblem(
                    chain,
                    base_seq + 1,
                    f"prune records do not cover the log from #{base_seq + 1} without gaps",
                ),
            )
        base_seq, base_hash = record.last_seq, record.base_hash
    return base_seq, base_hash, None


def _walk(
    model: type[ChainedEntry],
    *,
    base_seq: int,
    base_hash: str,
    last_seq: int,
    anchor: Anchor | None = None,
) -> tuple[int, int, str, ChainProblem | None]:
    """Check entries base_seq+1 … last_seq in order: (checked, next seq, last hash, problem)."""
    chain = model.CHAIN
    expected_seq = base_seq + 1
    prev_hash = base_hash
    checked = 0
    rows = model._default_manager.filter(seq__lte=last_seq)
    for row in rows.order_by("seq").iterator(chunk_size=2000):
        problem = None
        if row.seq != expected_seq:
            if row.seq < expected_seq:
                reason = "entry before the chain's start"
            elif checked == 0:
                reason = (
                    f"entries #{expected_seq}–#{row.seq - 1} are missing and no signed "
                    "prune record covers them (prefix deleted)"
                )
            else:
                reason = "missing (deleted) entry"
            problem = ChainProblem(chain, min(row.seq, expected_seq), reason)
        elif row.prev_hash != prev_hash:
            problem = ChainProblem(chain, row.seq, "link to the previous entry is broken")
        elif not _same(entry_digest(row, prev_hash), row.entry_hash):
            problem = ChainProblem(chain, row.seq, "content does not match its hash (altered)")
        elif (
            anchor is not None and row.seq == anchor.seq and not _same(row.entry_hash, anchor.hash)
        ):
            problem = ChainProblem(
                chain, row.seq, "does not match the anchor: the log up to it was changed"
            )
        if problem:
            return checked, expected_seq, prev_hash, problem
        prev_hash = row.entry_hash
        expected_seq += 1
        checked += 1
    return checked, expected_seq, prev_hash, None


def chain_verify(
    model: type[ChainedEntry], *, anchor: Anchor | None = None
) -> tuple[int, ChainProblem | None]:
    """Walk one chain; return (entries checked, first problem or None).

    Checks the head's MAC and that the signed prune records explain where the chain starts,
    then walks the entries from there. Reads the head first and walks only up to its last
    seq, so entries appended while the walk runs are left for the next verification instead
    of looking like breakage. With `anchor`, also proves that the anchored entry is still
    there with the anchored hash (or was removed by a signed prune).
    """
    chain = model.CHAIN
    manager = model._default_manager
    head = ChainHead.objects.filter(chain=chain).first()
    if head is None:
        first = manager.order_by("seq").values_list("seq", flat=True).first()
        return 0, ChainProblem(chain, first or 1, "the chain head is missing")
    if anchor is not None and not _same(anchor.mac, anchor.expected_mac()):
        return 0, ChainProblem(chain, anchor.seq, "the anchor is not authentic (wrong MAC or key)")
    base_seq, base_hash, problem = _prune_base(chain)
    if problem:
        return 0, problem
    if (head.base_seq, head.base_hash) != (base_seq, base_hash):
        return 0, ChainProblem(
            chain, base_seq + 1, "the chain's start does not match its signed prune records"
        )
    checked, expected_seq, prev_hash, problem = _walk(
        model, base_seq=base_seq, base_hash=base_hash, last_seq=head.last_seq, anchor=anchor
    )
    if problem:
        return checked, problem
    if head.last_seq >= expected_seq:
        where = "at the end" if checked else "(the whole log)"
        return checked, ChainProblem(chain, expected_seq, f"missing (deleted) entry {where}")
    if head.last_hash != prev_hash:
        return checked, ChainProblem(
            chain, head.last_seq, "chain head does not match the last entry"
        )
    # An entry beyond the head that a fresh head read does not cover was inserted by hand
    # (a real append writes its row and the head in one transaction).
    highest = manager.aggregate(top=Max("seq"))["top"] or 0
    fresh_last = (
        ChainHead.objects.filter(chain=chain).values_list("last_seq", flat=True).first() or 0
    )
    if highest > fresh_last:
        return checked, ChainProblem(chain, fresh_last + 1, "entry outside the chain (inserted)")
    # Last, so that damage to the entries is named first; the walk above only trusted the
    # head for where to stop and where to start, and this proves both.
    if not head_is_authentic(head):
        return checked, ChainProblem(
            chain, head.last_seq, "the chain head fails its MAC (rewound or changed outside)"
        )
    if anchor is not None:
        problem = _anchor_problem(anchor, head, base_seq, base_hash)
        if problem:
            return checked, problem
    return checked, None


def _anchor_problem(
    anchor: Anchor, head: ChainHead, base_seq: int, base_hash: str
) -> ChainProblem | None:
    chain = anchor.chain
    if anchor.seq > head.last_seq:
        return ChainProblem(
            chain,
            head.last_seq + 1,
            f"the log ends before the anchored entry #{anchor.seq}: entries were removed "
            "and the head rewound",
        )
    if anchor.seq == base_seq and anchor.seq > 0 and not _same(base_hash, anchor.hash):
        return ChainProblem(
            chain, anchor.seq, "does not match the anchor: the log up to it was changed"
        )
    # seq < base_seq: a signed prune record (checked above) says the entry was removed.
    return None


@transaction.atomic
def chain_prune(model: type[ChainedEntry], *, before: dt.datetime) -> PruneRecord | None:
    """Delete entries older than `before`, leaving a signed record of what was removed.

    Only whole prefixes are pruned, so what remains still verifies from the record's base
    hash. The record is written first: the database's guard lets an entry be deleted only
    when a prune record covers it. Returns the record, or None if nothing was old enough.
    """
    head = ChainHead.objects.select_for_update().filter(chain=model.CHAIN).first()
    if head is None:
        raise ChainHeadMissing(
            f"the {model.CHAIN} log's chain head is missing; run `gridlink audit verify`"
        )
    manager = model._default_manager
    last_old = manager.filter(at__lt=before, seq__lte=head.last_seq).order_by("-seq").first()
    if last_old is None:
        return None
    first_seq = head.base_seq + 1
    # Never sign away damage: the entries about to go must still form an intact chain.
    _, _, _, problem = _walk(
        model, base_seq=head.base_seq, base_hash=head.base_hash, last_seq=last_old.seq
    )
    if problem is None and not head_is_authentic(head):
        problem = ChainProblem(model.CHAIN, head.last_seq, "the chain head fails its MAC")
    if problem:
        raise ChainBroken(f"not pruning a damaged log: {problem}")
    record = PruneRecord(
        chain=model.CHAIN,
        first_seq=first_seq,
        last_seq=last_old.seq,
        count=last_old.seq - first_seq + 1,
        base_hash=last_old.entry_hash,
        pruned_at=timezone.now(),
    )
    record.mac = prune_mac(record)
    record.save()
    manager.filter(seq__lte=last_old.seq).delete()
    head.base_seq = last_old.seq
    head.base_hash = last_old.entry_hash
    head.mac = head_mac(head)
    head.save(update_fields=["base_seq", "base_hash", "mac"])
    return record


CHAINS: dict[str, type[ChainedEntry]] = {"audit": AuditEvent, "access": AccessRecord}
