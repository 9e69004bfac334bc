"""The database refuses to change or remove log rows (issue 10 §1): triggers on PostgreSQL
and on SQLite, whichever the suite runs on. Deleting is allowed only for entries a prune
record covers, so retention pruning still works and every removal leaves its signed record.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from gridlink.core.audit import audit_record
from gridlink.core.ledger import chain_prune, chain_verify
from gridlink.core.models import AccessRecord, AppendOnlyError, AuditEvent, PruneRecord

pytestmark = pytest.mark.django_db


def _fill(n=4):
    for i in range(n):
        audit_record(actor=None, action="test.action", target_id=i)


def _refused(sql, params=()):
    """Run `sql` (in a savepoint, so the test can go on) and return the database's error."""
    with (
        pytest.raises(DatabaseError) as refusal,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)
    return str(refusal.value)


@pytest.mark.parametrize("model", [AuditEvent, AccessRecord], ids=["audit", "access"])
def test_update_of_a_log_entry_is_refused(model):
    _fill()
    from gridlink.core.audit import access_record

    access_record(
        actor=None,
        kind="unmask",
        subject_type="resident",
        subject_ids=[1],
        fields=["phone"],
        purpose="案件 1",
        ip=None,
    )
    message = _refused(f"UPDATE {model._meta.db_table} SET outcome = 'failure' WHERE seq = 1")
    assert f"UPDATE on {model._meta.db_table} refused" in message
    assert "append-only" in message
    assert model.objects.get(seq=1).outcome == "success"


@pytest.mark.parametrize("model", [AuditEvent, AccessRecord], ids=["audit", "access"])
def test_delete_of_a_log_entry_is_refused(model):
    _fill()
    from gridlink.core.audit import access_record

    access_record(
        actor=None,
        kind="unmask",
        subject_type="resident",
        subject_ids=[1],
        fields=["phone"],
        purpose="案件 1",
        ip=None,
    )
    message = _refused(f"DELETE FROM {model._meta.db_table} WHERE seq = 1")
    assert f"DELETE on {model._meta.db_table} refused" in message
    assert model.objects.filter(seq=1).exists()


def test_emptying_a_log_table_is_refused():
    _fill()
    table = AuditEvent._meta.db_table
    if connection.vendor == "postgresql":
        message = _refused(f"TRUNCATE {table}")
        assert f"TRUNCATE on {table} refused" in message
    else:  # SQLite has no TRUNCATE; an unqualified DELETE is its truncate
        message = _refused(f"DELETE FROM {table}")
        assert f"DELETE on {table} refused" in message
    assert AuditEvent.objects.count() == 4


def test_the_chain_head_cannot_be_deleted():
    _fill()
    message = _refused("DELETE FROM core_chainhead WHERE chain = 'audit'")
    assert "DELETE on core_chainhead refused" in message
    assert chain_verify(AuditEvent) == (4, None)


def test_prune_records_cannot_be_changed_or_deleted():
    _fill()
    record = chain_prune(AuditEvent, before=AuditEvent.objects.get(seq=3).at)
    assert record is not None
    assert "UPDATE on core_prunerecord refused" in _refused("UPDATE core_prunerecord SET count = 1")
    assert "DELETE on core_prunerecord refused" in _refused("DELETE FROM core_prunerecord")
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    assert PruneRecord.objects.count() == 1


def test_pruning_works_under_the_guard_and_leaves_a_signed_record():
    _fill()
    before = AuditEvent.objects.get(seq=3).at
    record = chain_prune(AuditEvent, before=before)
    assert (record.chain, record.first_seq, record.last_seq, record.count) == ("audit", 1, 2, 2)
    assert len(record.mac) == 64
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [3, 4]
    assert chain_verify(AuditEvent) == (2, None)
    # Entries the record does not cover are still guarded.
    assert "DELETE on core_auditevent refused" in _refused(
        "DELETE FROM core_auditevent WHERE seq = 3"
    )
    # A second prune continues where the first stopped.
    _fill(2)
    second = chain_prune(AuditEvent, before=AuditEvent.objects.get(seq=5).at)
    assert (second.first_seq, second.last_seq, second.count) == (3, 4, 2)
    assert chain_verify(AuditEvent) == (2, None)


def test_pruning_refuses_to_sign_away_a_damaged_prefix():
    from gridlink.core.guards import log_guards_lifted
    from gridlink.core.ledger import ChainBroken

    _fill()
    with log_guards_lifted(connection), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE seq = 2")
    with pytest.raises(ChainBroken) as refusal:
        chain_prune(AuditEvent, before=AuditEvent.objects.get(seq=4).at)
    assert "audit log entry #2" in str(refusal.value)
    assert PruneRecord.objects.count() == 0


def test_appending_still_updates_the_head():
    _fill(3)
    assert chain_verify(AuditEvent) == (3, None)
