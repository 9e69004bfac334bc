"""The outbox: fan-out, signed webhooks to a real loopback receiver, retries, e-mail, CLI."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import CommandError, call_command
from django.db import transaction

from gridlink.core.errors import DomainError
from gridlink.core.models import AuditEvent
from gridlink.outbox.models import Delivery, OutboxEntry, WebhookEndpoint, topic_matches
from gridlink.outbox.services import (
    _deliveries_claim,
    deliveries_attempt,
    endpoint_create,
    outbox_dispatch,
    outbox_purge,
    outbox_put,
)
from gridlink.outbox.signing import signature_for, signature_verify
from gridlink.outbox.tasks import PERIODIC, deliver_outbox
from tests.factories import UserFactory

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
NOTHING = {"delivered": 0, "retrying": 0, "failed": 0}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP server on loopback that fails the first `fail_first` requests."""

    fail_first: int = 0
    status_on_failure: int = 500
    redirect_to: str = ""
    delay_seconds: float = 0
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def serve(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.requests.append(
                    Received(self.path, dict(self.headers.items()), self.rfile.read(length))
                )
                if receiver.delay_seconds:
                    time.sleep(receiver.delay_seconds)
                if receiver.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect_to)
                elif len(receiver.requests) <= receiver.fail_first:
                    self.send_response(receiver.status_on_failure)
                else:
                    self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return server


@pytest.fixture
def serve() -> Iterator[Callable[..., Receiver]]:
    """`serve(fail_first=2)` starts a receiver; all are shut down after the test."""
    servers: list[ThreadingHTTPServer] = []

    def start(**options: Any) -> Receiver:
        receiver = Receiver(**options)
        servers.append(receiver.serve())
        return receiver

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _outbox_settings(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    settings.GRIDLINK_WEBHOOK_BACKOFF_SECONDS = 30
    settings.GRIDLINK_WEBHOOK_MAX_ATTEMPTS = 8
    settings.GRIDLINK_WEBHOOK_TIMEOUT_SECONDS = 5
    # The receivers run on loopback, which webhooks may not reach unless allowed.
    settings.GRIDLINK_WEBHOOK_ALLOW_PRIVATE = ["127.0.0.1/32"]


def endpoint(url: str, topics: list[str] | None = None, **kw) -> WebhookEndpoint:
    return endpoint_create(actor=None, url=url, topics=topics or ["case.*"], **kw)


def put(topic: str = "case.created", **kw) -> OutboxEntry:
    with transaction.atomic():
        return outbox_put(topic=topic, payload=kw.pop("payload", {"case": "C-1"}), **kw)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("case.created", "case.created", True),
        ("case.created", "case.closed", False),
        ("case.*", "case.closed", True),
        ("case.*", "case.photo.added", True),
        ("case.*", "casework.closed", False),
        ("case.*", "registry.updated", False),
        ("*", "anything.at.all", True),
    ],
)
def test_topic_matching(pattern, topic, expected):
    assert topic_matches(pattern, topic) is expected


@pytest.mark.django_db
def test_webhook_is_retried_with_backoff_until_the_receiver_accepts(serve):
    receiver = serve(fail_first=2)
    hook = endpoint(receiver.url, secret="a-shared-secret-of-some-length")
    put(payload={"case": "C-1", "title": "路灯不亮"})
    assert outbox_dispatch(now=T0) == 1
    delivery = Delivery.objects.get()

    assert deliveries_attempt(now=T0) == {**NOTHING, "retrying": 1}
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code) == (1, 500)
    assert delivery.last_error.startswith("HTTP 500")
    assert delivery.next_attempt_at == T0 + dt.timedelta(seconds=30)

    assert deliveries_attempt(now=T0 + dt.timedelta(seconds=29)) == NOTHING  # not due yet
    assert len(receiver.requests) == 1

    assert deliveries_attempt(now=T0 + dt.timedelta(seconds=30)) == {**NOTHING, "retrying": 1}
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == T0 + dt.timedelta(seconds=30 + 60)

    done_at = T0 + dt.timedelta(seconds=90)
    assert deliveries_attempt(now=done_at) == {**NOTHING, "delivered": 1}
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (3, 204, "")
    assert delivery.delivered_at == done_at
    assert deliveries_attempt(now=done_at + dt.timedelta(days=1)) == NOTHING

    assert len(receiver.requests) == 3
    assert {r.headers["X-Gridlink-Delivery"] for r in receiver.requests} == {
        str(delivery.delivery_id)
    }
    last = receiver.requests[-1]
    assert last.path == "/hook"
    assert last.headers["Content-Type"] == "application/json"
    assert last.headers["X-Gridlink-Topic"] == "case.created"
    envelope = json.loads(last.body)
    assert envelope == {
        "delivery_id": str(delivery.delivery_id),
        "topic": "case.created",
        "created_at": delivery.entry.created_at.isoformat(),
        "payload": {"case": "C-1", "title": "路灯不亮"},
    }
    assert (
        last.body
        == json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    timestamp, signature = (
        last.headers["X-Gridlink-Timestamp"],
        last.headers["X-Gridlink-Signature"],
    )
    assert signature == signature_for(hook.secret, timestamp, last.body)
    assert signature_verify(hook.secret, timestamp, last.body, signature)
    assert not signature_verify("another-secret", timestamp, last.body, signature)
    assert not signature_verify(hook.secret, timestamp, last.body + b" ", signature)
    assert not signature_verify(
        hook.secret, timestamp, last.body, signature, now=int(timestamp) + 301
    )


@pytest.mark.django_db
def test_after_max_attempts_the_delivery_fails_and_is_never_retried(serve, settings):
    settings.GRIDLINK_WEBHOOK_MAX_ATTEMPTS = 3
    receiver = serve(fail_first=100, status_on_failure=503)
    endpoint(receiver.url)
    put()
    outbox_dispatch(now=T0)
    results = [deliveries_attempt(now=T0 + dt.timedelta(days=day)) for day in range(5)]
    assert results == [
        {**NOTHING, "retrying": 1},
        {**NOTHING, "retrying": 1},
        {**NOTHING, "failed": 1},
        NOTHING,
        NOTHING,
    ]
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 3, 503)
    assert len(receiver.requests) == 3


@pytest.mark.django_db
def test_a_rolled_back_transaction_leaves_nothing_to_send(serve):
    receiver = serve()
    endpoint(receiver.url, topics=["*"])
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_put(topic="case.created", payload={}, emails=["a@example.org"], email_subject="New")
        raise RuntimeError("the case service failed after writing")
    assert not OutboxEntry.objects.exists()
    assert outbox_dispatch(now=T0) == 0
    assert deliveries_attempt(now=T0) == NOTHING
    assert receiver.requests == []
    assert mail.outbox == []


@pytest.mark.django_db
def test_dispatch_fans_out_by_topic_once_only():
    exact = endpoint("https://a.example.org/hook", ["case.created"])
    prefix = endpoint("https://b.example.org/hook", ["registry.*", "case.*"])
    everything = endpoint("https://c.example.org/hook", ["*"])
    endpoint("https://d.example.org/hook", ["case.closed", "registry.*"])  # matches nothing
    inactive = endpoint("https://e.example.org/hook", ["*"])
    inactive.active = False
    inactive.save()

    entry = put(emails=["a@example.org", " a@example.org", "b@example.org"], email_subject="New")
    assert outbox_dispatch(now=T0) == 5
    assert outbox_dispatch(now=T0) == 0
    OutboxEntry.objects.update(dispatched_at=None)  # as if a crashed run fanned out already
    assert outbox_dispatch(now=T0) == 0

    deliveries = Delivery.objects.filter(entry=entry)
    assert {d.endpoint_id for d in deliveries if d.endpoint_id} == {
        exact.pk,
        prefix.pk,
        everything.pk,
    }
    assert sorted(d.email for d in deliveries if d.is_email) == ["a@example.org", "b@example.org"]
    assert all(d.next_attempt_at == T0 and d.status == "pending" for d in deliveries)
    assert len({d.delivery_id for d in deliveries}) == 5
    entry.refresh_from_db()
    assert entry.dispatched_at == T0

    put(topic="registry.updated")
    assert outbox_dispatch(now=T0) == 3  # prefix, everything, the "matches nothing" one


@pytest.mark.django_db
def test_emails_are_sent_through_django_mail(settings):
    settings.DEFAULT_FROM_EMAIL = "noreply@gridlink.example"
    put(emails=["handler@example.org"], email_subject="新案件 C-1", email_body="请处理。")
    outbox_dispatch(now=T0)
    assert deliveries_attempt(now=T0) == {**NOTHING, "delivered": 1}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert (message.to, message.subject, message.body) == (
        ["handler@example.org"],
        "新案件 C-1",
        "请处理。",
    )
    assert message.from_email == "noreply@gridlink.example"


class BrokenEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server refused the connection")


@pytest.mark.django_db
def test_failed_emails_are_retried_and_no_personal_data_is_logged(settings, caplog, serve):
    settings.MAILERS = {"default": {"BACKEND": "tests.test_outbox.BrokenEmailBackend"}}
    receiver = serve(fail_first=1)
    endpoint(receiver.url)
    put(
        payload={"reporter": "张三", "phone": "13800000000"},
        emails=["alice@example.org"],
        email_subject="案件",
        email_body="张三 reported",
    )
    outbox_dispatch(now=T0)
    with caplog.at_level(logging.DEBUG):
        assert deliveries_attempt(now=T0) == {**NOTHING, "retrying": 2}
        settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
        later = T0 + dt.timedelta(seconds=30)
        assert deliveries_attempt(now=later) == {**NOTHING, "delivered": 2}
    assert len(mail.outbox) == 1
    assert caplog.records
    for secret in ("alice", "张三", "13800000000", "reported"):
        assert secret not in caplog.text


@pytest.mark.django_db
def test_a_refused_connection_is_a_failure_with_an_error_text():
    endpoint(f"http://127.0.0.1:{closed_port()}/hook")
    put()
    outbox_dispatch(now=T0)
    assert deliveries_attempt(now=T0) == {**NOTHING, "retrying": 1}
    delivery = Delivery.objects.get()
    assert delivery.last_status_code is None
    assert "refused" in delivery.last_error.lower()
    assert delivery.next_attempt_at == T0 + dt.timedelta(seconds=30)


@pytest.mark.django_db
def test_a_slow_receiver_times_out(serve, settings):
    settings.GRIDLINK_WEBHOOK_TIMEOUT_SECONDS = 1
    receiver = serve(delay_seconds=2)
    endpoint(receiver.url)
    put()
    outbox_dispatch(now=T0)
    assert deliveries_attempt(now=T0) == {**NOTHING, "retrying": 1}
    assert "timed out" in Delivery.objects.get().last_error.lower()


@pytest.mark.django_db
def test_redirects_are_not_followed(serve):
    elsewhere = serve()
    receiver = serve(redirect_to=elsewhere.url)
    endpoint(receiver.url)
    put()
    outbox_dispatch(now=T0)
    assert deliveries_attempt(now=T0) == {**NOTHING, "retrying": 1}
    delivery = Delivery.objects.get()
    assert delivery.last_status_code == 302
    assert len(receiver.requests) == 1
    assert elsewhere.requests == []


@pytest.mark.django_db
def test_a_delivery_claimed_by_a_crashed_worker_is_retried_after_the_lease(serve):
    receiver = serve()
    endpoint(receiver.url)
    put()
    outbox_dispatch(now=T0)
    claimed, _gave_up = _deliveries_claim(now=T0, limit=10)  # ... and then the worker died
    assert len(claimed) == 1
    assert deliveries_attempt(now=T0 + dt.timedelta(seconds=60)) == NOTHING  # still leased
    lease_over = claimed[0].next_attempt_at
    assert deliveries_attempt(now=lease_over) == {**NOTHING, "delivered": 1}
    assert Delivery.objects.get().attempts == 2
    assert [r.headers["X-Gridlink-Delivery"] for r in receiver.requests] == [
        str(claimed[0].delivery_id)
    ]


@pytest.mark.django_db
def test_out_of_attempts_after_a_crash_is_given_up(settings):
    settings.GRIDLINK_WEBHOOK_MAX_ATTEMPTS = 2
    endpoint(f"http://127.0.0.1:{closed_port()}/hook")
    put()
    outbox_dispatch(now=T0)
    Delivery.objects.update(attempts=2)  # the last attempt's worker never came back
    assert deliveries_attempt(now=T0) == {**NOTHING, "failed": 1}
    assert Delivery.objects.get().status == Delivery.Status.FAILED


@pytest.mark.django_db
def test_outbox_put_refuses_programming_errors():
    with pytest.raises(ValueError, match="topic"):
        outbox_put(topic="Case Created", payload={})
    with pytest.raises(ValueError, match="address"):
        outbox_put(topic="case.created", payload={}, emails=["not-an-address"], email_subject="s")
    with pytest.raises(ValueError, match="subject"):
        outbox_put(topic="case.created", payload={}, emails=["a@example.org"])
    assert not OutboxEntry.objects.exists()


@pytest.mark.django_db
def test_endpoint_create_validates_and_audits():
    actor = UserFactory()
    hook = endpoint_create(actor=actor, url=" https://hooks.example.org/in ", topics=["case.*"])
    assert hook.url == "https://hooks.example.org/in"
    assert hook.created_by == actor
    assert len(hook.secret) >= 40
    event = AuditEvent.objects.get(action="webhook.endpoint_created")
    assert event.data == {"host": "hooks.example.org", "topics": ["case.*"]}
    assert hook.secret not in json.dumps(event.data)

    for url in ("ftp://x.example.org/", "javascript:alert(1)", "http:///path", "https://a b/"):
        with pytest.raises(DomainError) as refused:
            endpoint_create(actor=actor, url=url, topics=["*"])
        assert refused.value.field == "url"
    with pytest.raises(DomainError) as refused:
        endpoint_create(actor=actor, url="https://u:p@example.org/", topics=["*"])
    assert refused.value.field == "url"
    for topics in ([], ["Case Created"], ["case.*.x"]):
        with pytest.raises(DomainError) as refused:
            endpoint_create(actor=actor, url="https://example.org/", topics=topics)
        assert refused.value.field == "topics"
    with pytest.raises(DomainError) as refused:
        endpoint_create(actor=actor, url="https://example.org/", topics=["*"], secret="short")
    assert refused.value.field == "secret"
    assert WebhookEndpoint.objects.count() == 1


@pytest.mark.django_db
def test_purge_removes_old_delivered_work_only(serve):
    receiver = serve(fail_first=1)
    endpoint(receiver.url)
    put()
    put()
    outbox_dispatch(now=T0)
    deliveries_attempt(now=T0)  # one delivered, one retrying
    assert outbox_purge(now=T0 + dt.timedelta(days=29)) == 0
    assert outbox_purge(now=T0 + dt.timedelta(days=31)) == 2  # the delivery and its entry
    assert Delivery.objects.get().status == Delivery.Status.PENDING
    assert OutboxEntry.objects.count() == 1


@pytest.mark.django_db
def test_the_worker_task_dispatches_and_delivers(serve):
    receiver = serve()
    endpoint(receiver.url)
    put()
    assert deliver_outbox.call() == {"dispatched": 1, "delivered": 1, "retrying": 0, "failed": 0}
    assert len(receiver.requests) == 1
    assert PERIODIC["deliver_outbox"] == (deliver_outbox, dt.timedelta(seconds=15))


@pytest.mark.django_db
def test_webhook_command(serve):
    with pytest.raises(CommandError, match="ftp://x"):
        call_command("webhook", "add", "ftp://x", "--topic", "case.*")
    with pytest.raises(CommandError, match="topics"):
        call_command("webhook", "add", "https://example.org/", "--topic", "Case!")

    receiver = serve()
    out = StringIO()
    call_command(
        "webhook", "add", receiver.url, "--topic", "case.*", "--secret", "s" * 20, stdout=out
    )
    hook = WebhookEndpoint.objects.get()
    assert f"endpoint {hook.pk} created" in out.getvalue()
    assert "secret: " + "s" * 20 in out.getvalue()

    out = StringIO()
    call_command("webhook", "list", stdout=out)
    assert receiver.url in out.getvalue()
    assert "case.*" in out.getvalue()

    put()
    out = StringIO()
    call_command("webhook", "deliver", stdout=out)
    assert out.getvalue().strip() == "dispatched 1, delivered 1, retrying 0, failed 0"
    assert len(receiver.requests) == 1

    with pytest.raises(CommandError, match="no webhook endpoint 999"):
        call_command("webhook", "remove", "999")
    call_command("webhook", "remove", str(hook.pk), stdout=StringIO())
    assert not WebhookEndpoint.objects.exists()
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_without_an_smtp_server_emails_are_logged_without_personal_data(settings, caplog):
    settings.MAILERS = {"default": {"BACKEND": "gridlink.outbox.mail.LogEmailBackend"}}
    put(emails=["alice@example.org"], email_subject="张三的案件", email_body="secret text")
    outbox_dispatch(now=T0)
    with caplog.at_level(logging.INFO, logger="gridlink.outbox.mail"):
        assert deliveries_attempt(now=T0) == {**NOTHING, "delivered": 1}
    assert "1 recipient" in caplog.text
    for secret in ("alice", "张三", "secret text"):
        assert secret not in caplog.text
