"""Tamper-evidence of both log chains (issue 10 §1): every way of changing, adding or
removing entries, or of moving the chain head, is named by `chain_verify` — on SQLite and
PostgreSQL alike.

Each test plays an attacker who owns the database: it writes below the ORM with the guard
triggers lifted (`log_guards_lifted`), but does not hold the audit key unless it says so.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.db import connection

from gridlink.core.audit import access_record, audit_record
from gridlink.core.guards import log_guards_lifted
from gridlink.core.ledger import GENESIS, chain_verify
from gridlink.core.models import AccessRecord, AuditEvent, ChainHead, PruneRecord

pytestmark = pytest.mark.django_db

CHAINS = [AuditEvent, AccessRecord]


def _fill(model, n=6):
    for i in range(n):
        if model is AuditEvent:
            audit_record(actor=None, action="test.action", target_id=i, data={"i": i})
        else:
            access_record(
                actor=None,
                kind="unmask",
                subject_type="resident",
                subject_ids=[i],
                fields=["phone"],
                purpose=f"案件 {i}",
                ip="10.0.0.1",
            )


def _raw(sql, params=()):
    with log_guards_lifted(connection), connection.cursor() as cursor:
        cursor.execute(sql, params)


def _table(model):
    return model._meta.db_table


def _head(model):
    return ChainHead.objects.get(chain=model.CHAIN)


def _set_head(model, **fields):
    sets = ", ".join(f"{name} = %s" for name in fields)
    _raw(f"UPDATE core_chainhead SET {sets} WHERE chain = %s", [*fields.values(), model.CHAIN])


def _foreign_mac(key, label, payload):
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, f"gridlink-{label}/1\n{body}".encode(), hashlib.sha256).hexdigest()


@pytest.fixture(params=CHAINS, ids=lambda m: m.CHAIN)
def chain(request):
    _fill(request.param)
    assert chain_verify(request.param) == (6, None)
    return request.param


def test_an_altered_entry_is_named(chain):
    column = "target_id" if chain is AuditEvent else "purpose"
    _raw(f"UPDATE {_table(chain)} SET {column} = 'changed' WHERE seq = 3")
    checked, problem = chain_verify(chain)
    assert (checked, problem.seq, problem.chain) == (2, 3, chain.CHAIN)
    assert "altered" in problem.reason


def test_an_entry_inserted_past_the_head_is_named(chain):
    last = chain.objects.get(seq=6)
    columns = [f.column for f in chain._meta.concrete_fields if f.column != "id"]
    values = [getattr(last, f.attname) for f in chain._meta.concrete_fields if f.column != "id"]
    row = dict(zip(columns, values, strict=True))
    row.update(seq=7, prev_hash=last.entry_hash, entry_hash="f" * 64)
    for name in ("data", "subject_ids", "fields"):
        if name in row:
            row[name] = json.dumps(row[name])
    _raw(
        f"INSERT INTO {_table(chain)} ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))})",
        list(row.values()),
    )
    _, problem = chain_verify(chain)
    assert problem.seq == 7
    assert "inserted" in problem.reason


def test_a_deleted_middle_entry_is_named(chain):
    _raw(f"DELETE FROM {_table(chain)} WHERE seq = 4")
    _, problem = chain_verify(chain)
    assert problem.seq == 4
    assert "missing" in problem.reason


def test_a_deleted_first_entry_is_a_deleted_prefix(chain):
    _raw(f"DELETE FROM {_table(chain)} WHERE seq = 1")
    _, problem = chain_verify(chain)
    assert problem.seq == 1
    assert "no signed prune record" in problem.reason


def test_a_deleted_prefix_is_named(chain):
    _raw(f"DELETE FROM {_table(chain)} WHERE seq <= 4")
    checked, problem = chain_verify(chain)
    assert (checked, problem.seq) == (0, 1)
    assert "#1–#4 are missing" in problem.reason


def test_a_deleted_prefix_with_the_head_rebased_is_named(chain):
    fourth = chain.objects.get(seq=4)
    _raw(f"DELETE FROM {_table(chain)} WHERE seq <= 4")
    _set_head(chain, base_seq=4, base_hash=fourth.entry_hash)
    _, problem = chain_verify(chain)
    assert "signed prune records" in problem.reason


def test_a_deleted_prefix_with_a_forged_prune_record_is_named(chain):
    fourth = chain.objects.get(seq=4)
    _raw(f"DELETE FROM {_table(chain)} WHERE seq <= 4")
    _raw(
        "INSERT INTO core_prunerecord (chain, first_seq, last_seq, count, base_hash, "
        "pruned_at, mac) VALUES (%s, 1, 4, 4, %s, %s, %s)",
        [chain.CHAIN, fourth.entry_hash, fourth.at, "0" * 64],
    )
    _set_head(chain, base_seq=4, base_hash=fourth.entry_hash)
    _, problem = chain_verify(chain)
    assert "prune record #1–#4 is not authentic" in problem.reason


def test_a_deleted_tail_is_named(chain):
    _raw(f"DELETE FROM {_table(chain)} WHERE seq >= 5")
    _, problem = chain_verify(chain)
    assert problem.seq == 5
    assert "end" in problem.reason


def test_a_deleted_tail_with_the_head_rewound_is_named(chain):
    third = chain.objects.get(seq=3)
    _raw(f"DELETE FROM {_table(chain)} WHERE seq >= 4")
    _set_head(chain, last_seq=3, last_hash=third.entry_hash)
    checked, problem = chain_verify(chain)
    assert checked == 3
    assert "head fails its MAC" in problem.reason


def test_the_whole_log_deleted_is_named(chain):
    _raw(f"DELETE FROM {_table(chain)}")
    checked, problem = chain_verify(chain)
    assert (checked, problem.seq) == (0, 1)
    assert "whole log" in problem.reason


def test_the_whole_log_deleted_with_the_head_reset_is_named(chain):
    _raw(f"DELETE FROM {_table(chain)}")
    _set_head(chain, last_seq=0, last_hash=GENESIS)
    _, problem = chain_verify(chain)
    assert "head fails its MAC" in problem.reason


def test_a_deleted_chain_head_is_named(chain):
    _raw("DELETE FROM core_chainhead WHERE chain = %s", [chain.CHAIN])
    _, problem = chain_verify(chain)
    assert "head is missing" in problem.reason


def test_the_whole_log_and_its_head_deleted_is_named(chain):
    _raw(f"DELETE FROM {_table(chain)}")
    _raw("DELETE FROM core_chainhead WHERE chain = %s", [chain.CHAIN])
    _, problem = chain_verify(chain)
    assert "head is missing" in problem.reason


def test_appending_to_a_tampered_head_does_not_re_sign_it(chain):
    third = chain.objects.get(seq=3)
    _raw(f"DELETE FROM {_table(chain)} WHERE seq >= 4")
    _set_head(chain, last_seq=3, last_hash=third.entry_hash)
    _fill(chain, 2)  # the application keeps logging …
    assert list(chain.objects.values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
    _, problem = chain_verify(chain)  # … but the rewind stays visible
    assert "head fails its MAC" in problem.reason
    assert _head(chain).mac == ""


def test_a_deleted_prune_record_is_named(chain):
    from gridlink.core.ledger import chain_prune

    # Prune the first three entries (the cut-off is the fourth entry's time).
    record = chain_prune(chain, before=chain.objects.get(seq=4).at)
    assert (record.first_seq, record.last_seq, record.count) == (1, 3, 3)
    assert chain_verify(chain) == (3, None)
    _raw("DELETE FROM core_prunerecord WHERE chain = %s", [chain.CHAIN])
    _, problem = chain_verify(chain)
    assert "signed prune records" in problem.reason


def test_an_altered_prune_record_is_named(chain):
    from gridlink.core.ledger import chain_prune

    chain_prune(chain, before=chain.objects.get(seq=4).at)
    _raw("UPDATE core_prunerecord SET count = 2, first_seq = 2 WHERE chain = %s", [chain.CHAIN])
    _, problem = chain_verify(chain)
    assert "not authentic" in problem.reason


def test_a_chain_re_hashed_with_a_wrong_key_is_named(chain):
    """The attacker re-forges every entry and the head with a key of their own (say the
    public default of old releases): the chain no longer verifies under the real key."""
    from django.test import override_settings

    from gridlink.core.ledger import entry_digest, head_mac

    wrong = "insecure-dev-key-change-me-" + "x" * 24
    rows = list(chain.objects.order_by("seq"))
    prev = GENESIS
    forged = []
    with override_settings(GRIDLINK_AUDIT_KEY=wrong):
        for row in rows:
            if chain is AuditEvent:
                row.target_id = "forged"
            else:
                row.purpose = "forged"
            digest = entry_digest(row, prev)
            forged.append((row.seq, prev, digest))
            prev = digest
        head = _head(chain)
        head.last_hash = prev
        forged_mac = head_mac(head)
    column = "target_id" if chain is AuditEvent else "purpose"
    for seq, prev_hash, digest in forged:
        _raw(
            f"UPDATE {_table(chain)} SET {column} = 'forged', prev_hash = %s, entry_hash = %s "
            "WHERE seq = %s",
            [prev_hash, digest, seq],
        )
    _set_head(chain, last_hash=prev, mac=forged_mac)
    checked, problem = chain_verify(chain)
    assert (checked, problem.seq) == (0, 1)
    assert "altered" in problem.reason


def test_a_replayed_old_head_is_caught_only_by_an_anchor(chain):
    """The limit of what the database alone can prove: an attacker who saved an earlier,
    genuinely signed head row can roll the tail back to it. An anchor taken after that
    point (`gridlink audit anchor`, kept outside the database) catches it."""
    from gridlink.core.ledger import chain_anchor

    old = _head(chain)
    _fill(chain, 2)
    anchor = chain_anchor(chain)
    assert anchor.seq == 8
    _raw(f"DELETE FROM {_table(chain)} WHERE seq > %s", [old.last_seq])
    _set_head(chain, last_seq=old.last_seq, last_hash=old.last_hash, mac=old.mac)
    assert chain_verify(chain) == (6, None)
    _, problem = chain_verify(chain, anchor=anchor)
    assert problem.seq == 7
    assert "ends before the anchored entry #8" in problem.reason


def test_a_prune_point_with_a_foreign_key_is_named(chain):
    fourth = chain.objects.get(seq=4)
    wrong = b"an attacker's own key, not the audit key"
    mac = _foreign_mac(
        wrong,
        "prune",
        {
            "chain": chain.CHAIN,
            "first_seq": 1,
            "last_seq": 4,
            "count": 4,
            "base_hash": fourth.entry_hash,
            "pruned_at": "2026-01-01T00:00:00.000000+00:00",
        },
    )
    _raw(f"DELETE FROM {_table(chain)} WHERE seq <= 4")
    _raw(
        "INSERT INTO core_prunerecord (chain, first_seq, last_seq, count, base_hash, "
        "pruned_at, mac) VALUES (%s, 1, 4, 4, %s, '2026-01-01 00:00:00+00:00', %s)",
        [chain.CHAIN, fourth.entry_hash, mac],
    )
    _, problem = chain_verify(chain)
    assert "not authentic" in problem.reason
    assert PruneRecord.objects.filter(chain=chain.CHAIN).count() == 1
