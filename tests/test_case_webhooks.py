"""Case events leave through the outbox: a signed webhook retried against a real loopback
receiver, one outbox entry per committed transition and none for a refused one, and e-mails
to a reporter who left an address (public events only)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone, translation

from gridlink.cases.services import events, transitions
from gridlink.cases.services.transitions import case_transition
from gridlink.outbox.models import Delivery, OutboxEntry
from gridlink.outbox.services import deliveries_attempt, endpoint_create, outbox_dispatch
from gridlink.outbox.signing import signature_verify
from tests.cases_support import act, build_world, ok, post_json, report

NOTHING = {"delivered": 0, "retrying": 0, "failed": 0}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _outbox_settings(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    settings.GRIDLINK_WEBHOOK_BACKOFF_SECONDS = 30
    settings.GRIDLINK_WEBHOOK_MAX_ATTEMPTS = 8
    settings.GRIDLINK_WEBHOOK_TIMEOUT_SECONDS = 5
    # The receivers run on loopback, which webhooks may not reach unless allowed.
    settings.GRIDLINK_WEBHOOK_ALLOW_PRIVATE = ["127.0.0.1/32"]


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 answering 500 to the first `fail_first` POSTs."""

    fail_first: int
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def serve(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.requests.append(
                    Received(dict(self.headers.items()), self.rfile.read(length))
                )
                failing = len(receiver.requests) <= receiver.fail_first
                self.send_response(500 if failing else 200)
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
def serve() -> Iterator[Callable[[int], Receiver]]:
    servers: list[ThreadingHTTPServer] = []

    def start(fail_first: int) -> Receiver:
        receiver = Receiver(fail_first=fail_first)
        servers.append(receiver.serve())
        return receiver

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def entries_of(case_id: int) -> list[OutboxEntry]:
    return [e for e in OutboxEntry.objects.order_by("id") if e.payload.get("case_id") == case_id]


def test_case_reported_webhook_is_retried_until_the_receiver_accepts(world, serve):
    receiver = serve(2)
    endpoint = endpoint_create(actor=None, url=receiver.url, topics=["case.*"])
    created = ok(report(Client()), 201)

    t0 = timezone.now()
    assert outbox_dispatch(now=t0) == 1  # one endpoint, no e-mail address
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.entry.topic == "case.reported"

    assert deliveries_attempt(now=t0) == {**NOTHING, "retrying": 1}
    # Not due again before the 30 s backoff.
    assert deliveries_attempt(now=t0 + dt.timedelta(seconds=29)) == NOTHING
    t1 = t0 + dt.timedelta(seconds=31)
    assert deliveries_attempt(now=t1) == {**NOTHING, "retrying": 1}
    # The second failure doubles the wait: 60 s.
    assert deliveries_attempt(now=t1 + dt.timedelta(seconds=59)) == NOTHING
    t2 = t1 + dt.timedelta(seconds=61)
    assert deliveries_attempt(now=t2) == {**NOTHING, "delivered": 1}
    assert deliveries_attempt(now=t2 + dt.timedelta(hours=2)) == NOTHING

    assert len(receiver.requests) == 3
    ids = {r.headers["X-Gridlink-Delivery"] for r in receiver.requests}
    assert ids == {str(delivery.delivery_id)}
    for r in receiver.requests:
        assert r.headers["X-Gridlink-Topic"] == "case.reported"
        assert r.headers["Content-Type"] == "application/json"
        assert signature_verify(
            endpoint.secret,
            r.headers["X-Gridlink-Timestamp"],
            r.body,
            r.headers["X-Gridlink-Signature"],
        )
        assert not signature_verify(
            "not-the-secret-at-all",
            r.headers["X-Gridlink-Timestamp"],
            r.body,
            r.headers["X-Gridlink-Signature"],
        )
        envelope = json.loads(r.body)
        assert envelope["delivery_id"] == str(delivery.delivery_id)
        assert envelope["topic"] == "case.reported"
        payload = envelope["payload"]
        assert "tracking_code" not in payload  # the reporter's, not the receiver's
        assert created["tracking_code"] not in r.body.decode()
        assert payload["case_id"] == created["id"]
        assert payload["state"] == "reported"
        assert payload["event"] == "reported"
        assert payload["version"] == 1

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.attempts == 3
    assert delivery.last_status_code == 200
    assert delivery.delivered_at == t2


def test_a_refused_transition_writes_no_outbox_entry(world):
    created = ok(report(Client()), 201)
    disp = world.client("district_disp")
    case = ok(act(disp, created, "accept"))
    before = OutboxEntry.objects.count()

    # A stale version in the body (409) and in If-Match (412): nothing written.
    stale = act(disp, created, "file")
    assert stale.status_code == 409
    assert stale.json()["errors"][0]["code"] == "stale_version"
    assert stale.json()["current"]["version"] == case["version"]
    stale = post_json(
        disp,
        f"/api/v1/cases/{case['id']}/actions/file",
        {},
        HTTP_IF_MATCH=f'"{case["id"]}-{created["version"]}"',
    )
    assert stale.status_code == 412
    # A missing required input, and an action not allowed in this state: nothing written.
    assert act(disp, case, "invalidate").status_code == 400
    assert act(disp, case, "close").status_code in (400, 409)
    assert OutboxEntry.objects.count() == before
    assert ok(disp.get(f"/api/v1/cases/{case['id']}"))["version"] == case["version"]


def test_a_transition_that_fails_after_writing_rolls_back_its_outbox_entry(world, monkeypatch):
    """The state, the event and the outbox entry are one transaction: an error after the
    event is written leaves none of them behind."""
    created = ok(report(Client()), 201)
    disp = world.people["district_disp"]
    before = OutboxEntry.objects.count()
    real = events.event_record

    def event_then_crash(**kwargs: Any) -> Any:
        real(**kwargs)
        raise RuntimeError("crash after the event and the outbox entry were written")

    monkeypatch.setattr(transitions, "event_record", event_then_crash)
    with pytest.raises(RuntimeError):
        case_transition(actor=disp, case_id=created["id"], action="accept", version=1)
    monkeypatch.undo()

    assert OutboxEntry.objects.count() == before
    case = ok(world.client("district_disp").get(f"/api/v1/cases/{created['id']}"))
    assert case["state"] == "reported"
    assert case["version"] == 1
    assert [e["kind"] for e in case["events"]] == ["reported"]


def test_a_successful_transition_writes_exactly_one_entry(world):
    created = ok(report(Client()), 201)
    disp = world.client("district_disp")
    before = list(OutboxEntry.objects.values_list("id", flat=True))
    case = ok(act(disp, created, "accept"))

    new = OutboxEntry.objects.exclude(id__in=before)
    assert new.count() == 1
    entry = new.get()
    assert entry.topic == "case.accept"
    assert entry.payload["version"] == case["version"] == 2
    assert entry.payload["state"] == "accepted"
    assert entry.payload["from_state"] == "reported"
    assert entry.payload["case_id"] == created["id"] and "tracking_code" not in entry.payload
    assert entry.payload["public"] is True
    assert entry.emails == []  # the reporter left a phone number, no address

    # The dispatch also writes one, with the next version.
    case = ok(act(disp, case, "file"))
    case = ok(act(disp, case, "dispatch", unit_id=f"department:{world.departments['UM'].pk}"))
    topics = [e.topic for e in entries_of(created["id"])]
    assert topics == ["case.reported", "case.accept", "case.file", "case.dispatch"]
    versions = [e.payload["version"] for e in entries_of(created["id"])]
    assert versions == [1, 2, 3, 4]


def test_reporter_with_an_address_is_mailed_public_events_only(world):
    address = "reporter@example.org"
    created = ok(report(Client(), reporter_phone="", reporter_email=address), 201)
    code = created["tracking_code"]

    def deliver() -> list[Any]:
        mail.outbox.clear()
        outbox_dispatch()
        deliveries_attempt()
        return list(mail.outbox)

    sent = deliver()
    assert len(sent) == 1
    assert sent[0].to == [address]
    assert code in sent[0].subject

    disp = world.client("district_disp")
    case = ok(act(disp, created, "accept"))
    case = ok(act(disp, case, "file"))
    case = ok(act(disp, case, "dispatch", unit_id=f"department:{world.departments['UM'].pk}"))
    sent = deliver()
    assert len(sent) == 3  # accept, file, dispatch: all public
    assert {m.to[0] for m in sent} == {address}

    # Internal: the department returns it as not its duty. No mail, and no address stored.
    h_um = world.client("h_UM")
    case = ok(h_um.get(f"/api/v1/cases/{case['id']}"))
    case = ok(act(h_um, case, "return_not_our_duty", reason="内部理由：非本单位职责"))
    entry = entries_of(created["id"])[-1]
    assert entry.topic == "case.return_not_our_duty"
    assert entry.emails == []
    assert entry.email_subject == entry.email_body == ""  # no recipient: no text, no code
    assert deliver() == []
    assert Delivery.objects.filter(email=address).count() == 4
    assert not Delivery.objects.filter(entry=entry).exists()
