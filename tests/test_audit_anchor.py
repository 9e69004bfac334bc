"""Anchors (issue 10 §1): `gridlink audit anchor` prints a signed head to keep outside the
database; `gridlink audit verify --anchor FILE` proves that nothing up to it was removed or
changed — and fails with a clear message and exit status 1 otherwise."""

from __future__ import annotations

import dataclasses
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from gridlink.core.audit import access_record, audit_record
from gridlink.core.guards import log_guards_lifted
from gridlink.core.ledger import chain_anchor, chain_prune, entry_digest, head_mac
from gridlink.core.models import AccessRecord, AuditEvent, ChainHead

pytestmark = pytest.mark.django_db


def _fill(n=4):
    for i in range(n):
        audit_record(actor=None, action="test.action", target_id=i)
        access_record(
            actor=None,
            kind="export",
            subject_type="resident",
            subject_ids=[i],
            fields=["name"],
            purpose="核查",
            ip=None,
        )


def _raw(sql, params=()):
    with log_guards_lifted(connection), connection.cursor() as cursor:
        cursor.execute(sql, params)


def _anchor_file(tmp_path, capsys):
    capsys.readouterr()
    call_command("audit", "anchor")
    path = tmp_path / "anchor.json"
    path.write_text(capsys.readouterr().out, encoding="utf-8")
    return path


def _verify(path):
    call_command("audit", "verify", "--anchor", str(path))


def test_anchor_prints_a_signed_head_of_each_chain(tmp_path, capsys):
    _fill()
    path = _anchor_file(tmp_path, capsys)
    anchors = {a["chain"]: a for a in json.loads(path.read_text())["anchors"]}
    assert set(anchors) == {"audit", "access"}
    assert anchors["access"]["seq"] == 4
    assert anchors["access"]["hash"] == AccessRecord.objects.get(seq=4).entry_hash
    assert anchors["audit"]["hash"] == AuditEvent.objects.get(seq=4).entry_hash
    assert set(anchors["audit"]) == {"chain", "seq", "hash", "at", "mac"}
    assert len(anchors["audit"]["mac"]) == 64
    assert AuditEvent.objects.filter(action="audit.anchored").count() == 1


def test_verify_against_an_anchor_passes_while_the_log_grows(tmp_path, capsys):
    _fill()
    path = _anchor_file(tmp_path, capsys)
    _fill(2)
    _verify(path)
    out = capsys.readouterr().out
    assert "nothing up to the anchored entry #4" in out
    assert "access log" in out


def test_a_log_rolled_back_before_the_anchor_fails(tmp_path, capsys):
    _fill()
    old_head = ChainHead.objects.get(chain="access")
    _fill(2)
    path = _anchor_file(tmp_path, capsys)
    _raw(f"DELETE FROM {AccessRecord._meta.db_table} WHERE seq > 4")
    _raw(
        "UPDATE core_chainhead SET last_seq = %s, last_hash = %s, mac = %s WHERE chain = 'access'",
        [old_head.last_seq, old_head.last_hash, old_head.mac],
    )
    call_command("audit", "verify", "--log", "access")  # the database alone cannot tell …
    with pytest.raises(CommandError) as failure:  # … the anchor can
        _verify(path)
    assert failure.value.returncode == 1
    err = capsys.readouterr().err
    assert "access log entry #5" in err
    assert "ends before the anchored entry #6" in err


def test_history_re_forged_with_the_key_still_fails_the_anchor(tmp_path, capsys):
    """Even someone holding the audit key cannot change what an anchor covers."""
    _fill()
    path = _anchor_file(tmp_path, capsys)
    rows = list(AuditEvent.objects.filter(seq__lte=4).order_by("seq"))
    rows[1].target_id = "rewritten"
    prev = rows[0].entry_hash
    for row in rows[1:]:
        row.prev_hash = prev
        row.entry_hash = entry_digest(row, prev)
        prev = row.entry_hash
        _raw(
            f"UPDATE {AuditEvent._meta.db_table} SET target_id = %s, prev_hash = %s, "
            "entry_hash = %s WHERE seq = %s",
            [row.target_id, row.prev_hash, row.entry_hash, row.seq],
        )
    # Re-link what follows (the audit.anchored entry) and re-sign the head, as the key
    # holder could.
    for row in AuditEvent.objects.filter(seq__gt=4).order_by("seq"):
        row.prev_hash = prev
        row.entry_hash = entry_digest(row, prev)
        prev = row.entry_hash
        _raw(
            f"UPDATE {AuditEvent._meta.db_table} SET prev_hash = %s, entry_hash = %s "
            "WHERE seq = %s",
            [row.prev_hash, row.entry_hash, row.seq],
        )
    head = ChainHead.objects.get(chain="audit")
    head.last_hash = prev
    _raw(
        "UPDATE core_chainhead SET last_hash = %s, mac = %s WHERE chain = 'audit'",
        [prev, head_mac(head)],
    )
    call_command("audit", "verify", "--log", "audit")
    with pytest.raises(CommandError):
        _verify(path)
    assert "audit log entry #4: does not match the anchor" in capsys.readouterr().err


def test_an_edited_anchor_file_is_refused(tmp_path, capsys):
    _fill()
    path = _anchor_file(tmp_path, capsys)
    data = json.loads(path.read_text())
    data["anchors"][0]["seq"] = 2
    path.write_text(json.dumps(data))
    with pytest.raises(CommandError):
        _verify(path)
    assert "anchor is not authentic" in capsys.readouterr().err


def test_an_anchor_made_with_another_key_is_refused(tmp_path, capsys):
    _fill()
    genuine = chain_anchor(AccessRecord)
    with override_settings(GRIDLINK_AUDIT_KEY="some other installation's audit key " * 2):
        foreign = dataclasses.replace(genuine, mac=genuine.expected_mac())
    path = tmp_path / "foreign.json"
    path.write_text(json.dumps({"anchors": [foreign.as_json()]}))
    with pytest.raises(CommandError):
        _verify(path)
    assert "anchor is not authentic" in capsys.readouterr().err


def test_an_anchor_pruned_past_still_verifies_through_the_prune_record(tmp_path, capsys):
    _fill()
    path = _anchor_file(tmp_path, capsys)
    _fill(2)
    chain_prune(AccessRecord, before=AccessRecord.objects.get(seq=6).at)
    assert AccessRecord.objects.order_by("seq").first().seq == 6
    _verify(path)
    assert "nothing up to the anchored entry #4" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not a JSON anchor file"),
        ('{"anchors": []}', 'has no "anchors" list'),
        ('{"anchors": [{"chain": "nope"}]}', "anchors[0].chain: must be one of audit, access"),
        ('{"anchors": [{"chain": "audit", "seq": -1}]}', "anchors[0].seq"),
        (
            '{"anchors": [{"chain": "audit", "seq": 1, "hash": "x", "at": "yesterday", '
            '"mac": "y"}]}',
            "anchors[0].at: not an ISO 8601 time",
        ),
    ],
)
def test_a_bad_anchor_file_gets_a_clear_error(tmp_path, content, message):
    path = tmp_path / "anchor.json"
    path.write_text(content)
    with pytest.raises(CommandError) as failure:
        _verify(path)
    assert message in str(failure.value)


def test_a_missing_anchor_file_gets_a_clear_error(tmp_path):
    with pytest.raises(CommandError) as failure:
        _verify(tmp_path / "nowhere.json")
    assert "--anchor: cannot read" in str(failure.value)


def test_anchor_refuses_a_head_that_fails_its_mac(capsys):
    _fill()
    _raw("UPDATE core_chainhead SET last_seq = 2 WHERE chain = 'audit'")
    with pytest.raises(CommandError) as failure:
        call_command("audit", "anchor")
    assert "chain head fails its MAC" in str(failure.value)
