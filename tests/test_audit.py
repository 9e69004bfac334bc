import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from gridlink.core.audit import access_record, audit_record
from gridlink.core.guards import log_guards_lifted
from gridlink.core.ledger import chain_verify
from gridlink.core.models import AccessRecord, AppendOnlyError, AuditEvent

pytestmark = pytest.mark.django_db


def _fill(n=5):
    for i in range(n):
        audit_record(
            actor=None,
            action="test.action",
            target_type="thing",
            target_id=i,
            data={"i": i, "名": "值"},
            ip="10.0.0.1",
        )


def _raw(sql, params=()):
    """Tamper as the tables' owner would: below the ORM, with the guard triggers lifted."""
    with log_guards_lifted(connection), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_an_untouched_chain_verifies(capsys):
    _fill()
    assert chain_verify(AuditEvent) == (5, None)
    call_command("audit", "verify")
    assert "ok audit log: 5 entries" in capsys.readouterr().out


def test_rows_refuse_changes_through_the_orm():
    _fill(1)
    row = AuditEvent.objects.get()
    row.action = "other"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()


def test_a_row_altered_in_the_database_is_named(capsys):
    _fill()
    _raw(f"UPDATE {AuditEvent._meta.db_table} SET target_id = %s WHERE seq = 3", ["999"])
    checked, problem = chain_verify(AuditEvent)
    assert (checked, problem.seq) == (2, 3)
    assert "altered" in problem.reason
    with pytest.raises(CommandError):
        call_command("audit", "verify")
    assert "audit log entry #3" in capsys.readouterr().err


def test_a_rehashed_row_breaks_the_next_link():
    _fill()
    row = AuditEvent.objects.get(seq=2)
    from gridlink.core.ledger import entry_digest

    row.target_id = "forged"
    forged_hash = entry_digest(row, row.prev_hash)
    _raw(
        f"UPDATE {AuditEvent._meta.db_table} SET target_id = 'forged', entry_hash = %s "
        "WHERE seq = 2",
        [forged_hash],
    )
    _, problem = chain_verify(AuditEvent)
    assert problem.seq == 3
    assert "link" in problem.reason


def test_a_deleted_row_is_reported_missing():
    _fill()
    _raw(f"DELETE FROM {AuditEvent._meta.db_table} WHERE seq = 4")
    _, problem = chain_verify(AuditEvent)
    assert problem.seq == 4
    assert "missing" in problem.reason


def test_a_deleted_tail_is_reported_missing():
    _fill()
    _raw(f"DELETE FROM {AuditEvent._meta.db_table} WHERE seq = 5")
    _, problem = chain_verify(AuditEvent)
    assert problem.seq == 5
    assert "end" in problem.reason


def test_access_log_is_chained_separately():
    _fill(2)
    access_record(
        actor=None,
        kind="unmask",
        subject_type="resident",
        subject_ids=[3, 1],
        fields=["phone"],
        purpose="案件 123",
        ip=None,
    )
    record = AccessRecord.objects.get()
    assert record.seq == 1
    assert record.subject_ids == [1, 3]
    _raw(f"UPDATE {AccessRecord._meta.db_table} SET purpose = 'nothing to see'")
    _, problem = chain_verify(AccessRecord)
    assert problem.chain == "access"
    assert chain_verify(AuditEvent) == (2, None)


def test_audit_export_writes_every_entry(tmp_path):
    _fill(3)
    out = tmp_path / "audit.csv"
    call_command("audit", "export", str(out), "--log", "audit")
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("id,seq,at")
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert AuditEvent.objects.filter(action="audit.exported").exists()


def test_audit_export_defuses_spreadsheet_formulas(tmp_path):
    audit_record(actor=None, action="auth.login_failed", target_id='=HYPERLINK("http://x","y")')
    out = tmp_path / "audit.csv"
    call_command("audit", "export", str(out), "--log", "audit")
    assert "'=HYPERLINK" in out.read_text(encoding="utf-8-sig")


def test_prune_keeps_the_rest_of_the_chain_verifiable(capsys, settings):
    import time_machine

    with time_machine.travel("2025-01-01 10:00 +0800"):
        _fill(3)
    _fill(2)
    settings.GRIDLINK_LOG_RETENTION_DAYS = 183
    call_command("audit", "prune", "--log", "audit")
    assert "pruned 3 entries" in capsys.readouterr().out
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [4, 5, 6]
    assert AuditEvent.objects.get(seq=6).action == "audit.pruned"
    assert chain_verify(AuditEvent) == (3, None)
    _raw(f"DELETE FROM {AuditEvent._meta.db_table} WHERE seq = 4")
    _, problem = chain_verify(AuditEvent)
    assert problem.seq == 4
    assert "no signed prune record" in problem.reason


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_from_separate_connections_keep_one_unbroken_chain():
    import threading

    from django.db import connections

    errors = []

    def append_many(worker: int) -> None:
        try:
            for i in range(15):
                audit_record(actor=None, action="test.concurrent", target_id=f"{worker}-{i}")
        except Exception as exc:  # noqa: BLE001  (collected and asserted below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append_many, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert chain_verify(AuditEvent) == (60, None)
    assert AuditEvent.objects.filter(action="test.concurrent").count() == 60


def test_ipv6_addresses_are_stored_and_hashed_in_one_form():
    audit_record(actor=None, action="test.ip", ip="2001:DB8:0:0::1")
    assert AuditEvent.objects.get().ip == "2001:db8::1"
    assert chain_verify(AuditEvent) == (1, None)


def test_a_deleted_chain_head_is_reported():
    from gridlink.core.models import ChainHead

    _fill(2)
    _raw(f"DELETE FROM {ChainHead._meta.db_table} WHERE chain = 'audit'")
    _, problem = chain_verify(AuditEvent)
    assert problem.seq == 1
    assert "head is missing" in problem.reason


def test_an_entry_inserted_past_the_head_is_reported():
    _fill(2)
    row = AuditEvent.objects.get(seq=2)
    _raw(
        f"INSERT INTO {AuditEvent._meta.db_table} (seq, at, actor_username, outcome, prev_hash, "
        "entry_hash, action, target_type, target_id, data) "
        "VALUES (3, %s, '', 'success', %s, %s, 'forged', '', '', '{}')",
        [row.at, row.entry_hash, "f" * 64],
    )
    _, problem = chain_verify(AuditEvent)
    assert problem.seq == 3
    assert "inserted" in problem.reason


def test_hashes_depend_on_the_audit_key(settings):
    _fill(2)
    settings.GRIDLINK_AUDIT_KEY = "another key"
    _, problem = chain_verify(AuditEvent)
    assert problem.seq == 1
    assert "altered" in problem.reason


def test_client_ip_trusts_forwarded_for_only_from_trusted_proxies(settings):
    from gridlink.core.audit import client_ip

    meta = {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "203.0.113.9, 10.0.0.4"}
    assert client_ip(meta) == "10.0.0.5"
    settings.GRIDLINK_TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert client_ip(meta) == "203.0.113.9"
    assert (
        client_ip({"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "1.2.3.4"})
        == "198.51.100.7"
    )
    assert client_ip({"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "junk"}) == "10.0.0.5"
