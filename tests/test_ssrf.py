"""Webhooks cannot be aimed at internal addresses (server-side request forgery).

Checked when an endpoint is registered (service, API, admin, command) and again when each
delivery is sent, against the addresses the name resolves to at that moment; the connection
then goes to exactly the address that was checked. No test asks internet DNS: hosts are IP
literals, `localhost`, or a `.test` name answered by a stand-in for the system resolver.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from gridlink.core.errors import DomainError
from gridlink.outbox.models import Delivery, WebhookEndpoint
from gridlink.outbox.netguard import address_kind, host_literal, ipv4_numeric
from gridlink.outbox.services import (
    deliveries_attempt,
    endpoint_create,
    outbox_dispatch,
    outbox_put,
)
from tests.factories import UserFactory

REFUSED_URLS = [
    # IPv4 loopback in every spelling a resolver accepts
    "http://127.0.0.1/hook",
    "http://127.0.0.1:8080/hook",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.0.0.1/",
    "http://0x7f000001/",
    "http://127.1/",
    "http://127.0.0.1./",
    # IPv6 loopback and IPv4 tunnelled in IPv6
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[2002:a00:1::]/",
    # private, link-local (cloud metadata), shared, multicast, reserved, unspecified
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "https://192.0.2.10/",
    # local names, never asked of DNS
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost/",
]
BAD_FORM_URLS = [
    "file:///etc/passwd",
    "gopher://8.8.8.8/",
    "ftp://8.8.8.8/",
    "javascript:alert(1)",
    "http:///path",
    "http://user:pw@8.8.8.8/",
    "http://user@8.8.8.8/",
    "https://:secret@8.8.8.8/",
]
ACCEPTED_URLS = [
    "http://8.8.8.8/hook",
    "https://1.1.1.1:8443/in?x=1",
    "https://[2606:4700:4700::1111]/hook",
    "http://[::ffff:8.8.8.8]/hook",
]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_and_no_allow_list(settings) -> Iterator[None]:
    settings.GRIDLINK_WEBHOOK_ALLOW_PRIVATE = []  # explicit: the default allows nothing
    settings.GRIDLINK_WEBHOOK_TIMEOUT_SECONDS = 5
    with translation.override("en"):
        yield


class Receiver:
    """A real receiver on 127.0.0.1, recording the Host header of each POST."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.hosts.append(str(self.headers.get("Host")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


class Resolver:
    """Stands in for the system resolver for one `.test` name: each lookup gets the next
    address of `answers` (the last one repeats); every other host goes to the real one."""

    NAME = "hooks.gridlink.test"

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> None:
        self.answers = answers
        self.lookups = 0
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host != self.NAME:
                return real(host, port, *args, **kwargs)
            address = self.answers[min(self.lookups, len(self.answers) - 1)]
            self.lookups += 1
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port)))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def deliver_once() -> Delivery:
    outbox_put(topic="case.created", payload={"case": "C-1"})
    outbox_dispatch()
    deliveries_attempt()
    return Delivery.objects.get()


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_internal_addresses_are_refused_at_registration(url):
    with pytest.raises(DomainError) as refused:
        endpoint_create(actor=None, url=url, topics=["*"])
    assert refused.value.field == "url"
    assert "GRIDLINK_WEBHOOK_ALLOW_PRIVATE" in refused.value.message
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url", BAD_FORM_URLS)
def test_other_schemes_and_credentials_are_refused(url):
    with pytest.raises(DomainError) as refused:
        endpoint_create(actor=None, url=url, topics=["*"])
    assert refused.value.field == "url"
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url", ACCEPTED_URLS)
def test_public_addresses_are_accepted(url):
    assert endpoint_create(actor=None, url=url, topics=["*"]).url == url


def _spellings(n: int) -> list[str]:
    """Ways resolvers let one write the IPv4 address `n`."""
    b = n.to_bytes(4, "big")
    return [
        str(n),
        ".".join(str(x) for x in b),
        ".".join(f"0{x:o}" for x in b),
        ".".join(f"0x{x:x}" for x in b),
        f"0x{n:08x}",
        f"{b[0]}.{int.from_bytes(b[1:], 'big')}",
        f"{b[0]}.{b[1]}.{int.from_bytes(b[2:], 'big')}",
    ]


@hsettings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_numeric_spelling_of_an_ipv4_address_is_that_address(n):
    expected = ipaddress.IPv4Address(n)
    for spelling in _spellings(n):
        assert ipv4_numeric(spelling) == expected, spelling
        # the C library's own parser (no DNS) reads it the same way
        assert socket.inet_aton(spelling) == expected.packed, spelling


def _stdlib_refuses(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
    )


@hsettings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.integers(min_value=0, max_value=2**32 - 1).map(ipaddress.IPv4Address),
        st.integers(min_value=0, max_value=2**128 - 1).map(ipaddress.IPv6Address),
        # addresses in the special ranges, which random integers rarely hit
        st.sampled_from(
            [
                "10.0.0.0/8",
                "172.16.0.0/12",
                "192.168.0.0/16",
                "169.254.0.0/16",
                "127.0.0.0/8",
                "100.64.0.0/10",
                "224.0.0.0/4",
                "240.0.0.0/4",
                "fe80::/10",
                "fc00::/7",
                "ff00::/8",
                "::ffff:0:0/96",
                "2002::/16",
                "64:ff9b::/96",
                "2001::/32",
            ]
        ).flatmap(
            lambda net: st.integers(
                min_value=0, max_value=ipaddress.ip_network(net).num_addresses - 1
            ).map(lambda i, net=net: ipaddress.ip_network(net)[i])
        ),
    )
)
def test_an_address_is_reachable_only_if_the_stdlib_calls_it_global_unicast(address):
    """The rule, against the stdlib's registry of special ranges; an IPv6 address carrying an
    IPv4 address (mapped, 6to4, Teredo, NAT64) is refused if the carried one is."""
    refused = address_kind(address) is not None
    if _stdlib_refuses(address):
        inner = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        # ::ffff:8.8.8.8 is the public 8.8.8.8, although the stdlib files ::ffff:0:0/96 as reserved
        assert refused or (inner is not None and not _stdlib_refuses(inner)), address
    if isinstance(address, ipaddress.IPv6Address):
        carried = [address.ipv4_mapped, address.sixtofour, address.teredo and address.teredo[1]]
        if address in ipaddress.ip_network("64:ff9b::/96"):
            carried.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if any(inner is not None and _stdlib_refuses(inner) for inner in carried):
            assert refused, address
    if not refused:
        assert (address.is_global and not address.is_multicast) or address.ipv4_mapped


def test_host_literals_are_read_without_the_resolver():
    assert host_literal("2130706433") == ipaddress.ip_address("127.0.0.1")
    assert host_literal("fe80::1%eth0") == ipaddress.ip_address("fe80::1")
    assert host_literal("LOCALHOST") is None
    assert host_literal("08.0.0.1") is None  # not octal: a name, refused when it does not resolve
    assert host_literal("1.2.3.4.5") is None


def test_the_allow_list_admits_named_networks_and_hosts_only(settings, receiver):
    settings.GRIDLINK_WEBHOOK_ALLOW_PRIVATE = ["10.20.0.0/16", "fd00:1::/32"]
    endpoint_create(actor=None, url="http://10.20.3.4/hook", topics=["*"])
    endpoint_create(actor=None, url="http://[fd00:1::5]/hook", topics=["*"])
    for url in ("http://10.21.0.1/", "http://127.0.0.1/", "http://localhost/"):
        with pytest.raises(DomainError):
            endpoint_create(actor=None, url=url, topics=["*"])

    settings.GRIDLINK_WEBHOOK_ALLOW_PRIVATE = ["localhost"]
    WebhookEndpoint.objects.all().delete()
    endpoint_create(actor=None, url=f"http://localhost:{receiver.port}/hook", topics=["*"])
    with pytest.raises(DomainError):  # the name is allowed, not the address behind it
        endpoint_create(actor=None, url=f"http://127.0.0.1:{receiver.port}/hook", topics=["*"])
    assert deliver_once().status == Delivery.Status.DELIVERED
    assert receiver.hosts == [f"localhost:{receiver.port}"]


def test_a_bad_allow_list_entry_is_a_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    for entry in ("10.0.0.0/33", "300.1.1.1", "fd00::/200", "hooks/24"):
        settings.GRIDLINK_WEBHOOK_ALLOW_PRIVATE = [entry]
        with pytest.raises(ImproperlyConfigured, match="GRIDLINK_WEBHOOK_ALLOW_PRIVATE"):
            endpoint_create(actor=None, url="http://8.8.8.8/", topics=["*"])
    settings.GRIDLINK_WEBHOOK_ALLOW_PRIVATE = ["1hooks.intranet.example"]  # a name, digit first
    endpoint_create(actor=None, url="http://8.8.8.8/", topics=["*"])


def test_delivery_checks_again_and_sends_nothing_to_a_refused_address(settings, receiver):
    """An endpoint stored before the check existed (or allowed then, refused now): each
    delivery is refused before any connection, until the operator allows the address."""
    WebhookEndpoint.objects.create(url=f"http://127.0.0.1:{receiver.port}/hook", topics=["*"])
    delivery = deliver_once()
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 1
    assert delivery.last_status_code is None
    assert delivery.last_error.startswith("refused: 127.0.0.1 is a loopback address")
    assert receiver.hosts == []

    settings.GRIDLINK_WEBHOOK_ALLOW_PRIVATE = ["127.0.0.0/8"]
    Delivery.objects.update(next_attempt_at=delivery.created_at)
    deliveries_attempt()
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED
    assert receiver.hosts == [f"127.0.0.1:{receiver.port}"]


def test_dns_rebinding_after_registration_is_refused_at_delivery(monkeypatch, receiver):
    """The name resolves to a public address when registered and to loopback afterwards."""
    resolver = Resolver(monkeypatch, ["8.8.8.8", "127.0.0.1"])
    endpoint_create(actor=None, url=f"http://{Resolver.NAME}:{receiver.port}/h", topics=["*"])
    assert resolver.lookups == 1
    delivery = deliver_once()
    assert delivery.status == Delivery.Status.PENDING
    assert "hooks.gridlink.test (127.0.0.1) is a loopback address" in delivery.last_error
    assert receiver.hosts == []


def test_a_name_resolving_to_any_internal_address_is_refused(monkeypatch):
    Resolver(monkeypatch, ["169.254.169.254"])
    with pytest.raises(DomainError) as refused:
        endpoint_create(actor=None, url=f"http://{Resolver.NAME}/", topics=["*"])
    assert "(169.254.169.254) is a link-local address" in refused.value.message


def test_the_connection_goes_to_the_address_that_was_checked(settings, monkeypatch, receiver):
    """One lookup per delivery, and the socket connects to its answer: a resolver that
    would answer differently on a second lookup is never asked again."""
    settings.GRIDLINK_WEBHOOK_ALLOW_PRIVATE = ["127.0.0.1/32"]
    resolver = Resolver(monkeypatch, ["127.0.0.1", "127.0.0.1", "10.9.9.9"])
    endpoint_create(actor=None, url=f"http://{Resolver.NAME}:{receiver.port}/h", topics=["*"])
    assert deliver_once().status == Delivery.Status.DELIVERED
    assert resolver.lookups == 2  # registration, then this delivery, and no more
    assert receiver.hosts == [f"{Resolver.NAME}:{receiver.port}"]  # the Host header keeps the name


def test_a_name_that_does_not_resolve_at_delivery_is_a_failed_attempt(monkeypatch):
    def nowhere(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nowhere)
    # not resolvable now: accepted at registration, checked at every delivery
    endpoint_create(actor=None, url="https://later.gridlink.test/h", topics=["*"])
    delivery = deliver_once()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_error.startswith("refused: later.gridlink.test does not resolve")


def test_the_api_refuses_internal_addresses_naming_the_url(tree):
    root = Client()
    root.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    for url in ("http://169.254.169.254/latest", "http://[::ffff:10.0.0.1]/", "file:///etc"):
        response = root.post(
            "/api/v1/admin/webhooks",
            data=json.dumps({"url": url, "topics": ["*"]}),
            content_type="application/json",
        )
        assert response.status_code == 400, url
        assert [e["field"] for e in response.json()["errors"]] == ["url"]
    assert not WebhookEndpoint.objects.exists()


def test_the_admin_form_refuses_internal_addresses(tree):
    root = Client(headers={"accept-language": "en"})
    root.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    response = root.post(
        reverse("admin:outbox_webhookendpoint_add"),
        {"url": "http://0x7f.1/", "topics": '["*"]', "active": "on", "secret": "s" * 20},
    )
    assert response.status_code == 200
    assert "loopback" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_command_refuses_internal_addresses():
    with pytest.raises(CommandError, match=r"url: .*private address"):
        call_command("webhook", "add", "http://192.168.0.10/", "--topic", "*", stdout=StringIO())
    assert not WebhookEndpoint.objects.exists()


def test_pausing_an_endpoint_whose_address_is_now_refused_still_works():
    from gridlink.outbox.services import endpoint_update

    hook = WebhookEndpoint.objects.create(url="http://10.1.1.1/", topics=["*"])
    endpoint_update(actor=None, endpoint=hook, changes={"active": False})
    assert WebhookEndpoint.objects.get().active is False
