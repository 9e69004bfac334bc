"""Where webhooks may go: the guard against server-side request forgery (SSRF).

A webhook URL is chosen by an administrator, but the worker sends it from inside the
deployment's network, so a URL must never make the worker reach an internal service, the
machine itself or a cloud metadata endpoint. This module decides, for a URL's host:

- the host written as an IP address in any form a resolver accepts — dotted decimal,
  one 32-bit number (`2130706433`), octal (`0177.0.0.1`), hex (`0x7f.1`), short forms
  (`127.1`), IPv6 including IPv4-mapped (`::ffff:127.0.0.1`), 6to4, Teredo and NAT64
  addresses that embed an IPv4 address — is parsed here, never left to the resolver;
- `localhost` and names under `.localhost` are refused without asking DNS (RFC 6761);
- any other name is resolved, and every address it resolves to must be allowed;
- an address is allowed only if it is globally routable unicast: loopback, private
  (RFC 1918, unique-local), link-local (cloud metadata `169.254.169.254`), shared
  (CGNAT), documentation, multicast, reserved and unspecified addresses are refused,
  unless `GRIDLINK_WEBHOOK_ALLOW_PRIVATE` names the host or a network holding the
  address (an intranet receiver). Nothing is allowed by default.

`url_problem()` checks a URL when it is registered (`validate_webhook_url`);
`delivery_addresses()` checks it again when each delivery is sent, and the transport then
connects to one of exactly those addresses (so a name that resolves differently the second
time — DNS rebinding — cannot slip through between the check and the connection).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = frozenset({"http", "https"})
# One inet_aton part: hex (0x…), octal (leading 0) or decimal.
_PART = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMERIC = re.compile(r"^[0-9.]+$")


class AddressRefused(Exception):
    """The URL's host is, or resolves to, an address webhooks may not reach."""

    def __init__(self, message: str, *, code: str = "url_address") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Allowed:
    """`GRIDLINK_WEBHOOK_ALLOW_PRIVATE`, parsed: host names and networks."""

    names: frozenset[str]
    networks: tuple[IPNetwork, ...]

    def allows(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)


def allowed() -> Allowed:
    """The operator's allow-list (read on each call: tests and reloads change it)."""
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for raw in settings.GRIDLINK_WEBHOOK_ALLOW_PRIVATE:
        item = raw.strip().lower().rstrip(".")
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
            continue
        except ValueError:
            pass
        if "/" in item or ":" in item or _NUMERIC.match(item):
            raise ImproperlyConfigured(
                f"GRIDLINK_WEBHOOK_ALLOW_PRIVATE: {raw!r} is not an address or network "
                "(write 10.20.0.0/16, 192.168.1.7 or fd00::/8)"
            )
        names.add(item)
    return Allowed(frozenset(names), tuple(networks))


def host_normal(host: str) -> str:
    """The host as compared: lowercase, without one trailing dot (`localhost.`)."""
    return host.lower().removesuffix(".")


def _part_value(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part[0] == "0":
        return int(part, 8)
    return int(part)


def ipv4_numeric(host: str) -> ipaddress.IPv4Address | None:
    """`host` as the IPv4 address inet_aton would read it, or None if it is a name.

    1–4 parts separated by dots, each decimal, octal (leading 0) or hex (0x); the last part
    fills the remaining bytes: `2130706433`, `127.1`, `0177.0.0.1`, `0x7f.0x0.0.1` are all
    127.0.0.1. A part too large for its place is not an address (resolvers refuse it too,
    so it is then refused as a name that does not resolve at delivery).
    """
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_PART.match(p) for p in parts):
        return None
    try:
        values = [_part_value(p) for p in parts]
    except ValueError:  # 08, 09: not octal, so a name to the resolver too
        return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for v in head:
        number = number * 256 + v
    number = number * 256 ** (4 - len(head)) + last
    return ipaddress.IPv4Address(number)


def host_literal(host: str) -> IPAddress | None:
    """The address a host written as an IP literal stands for, or None for a name."""
    text = host_normal(host)
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone id names no host
    except ValueError:
        return ipv4_numeric(text)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo client, NAT64)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_kind(address: IPAddress) -> str | None:
    """Why webhooks may not reach `address` ("loopback", "private", …), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            kind = address_kind(inner)
            if kind is not None:
                return kind
            if address.ipv4_mapped is not None:
                return None  # ::ffff:8.8.8.8 is 8.8.8.8
    for kind, flag in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return kind
    if not address.is_global:
        return "non-global"  # shared (100.64.0.0/10), documentation, benchmarking …
    return None


def _kind_label(kind: str) -> str:
    labels = {
        "unspecified": _("unspecified"),
        "loopback": _("loopback"),
        "link-local": _("link-local"),
        "multicast": _("multicast"),
        "private": _("private"),
        "reserved": _("reserved"),
        "non-global": _("non-global"),
    }
    return labels.get(kind, kind)


def _refusal(host: str, address: IPAddress, kind: str) -> AddressRefused:
    shown = host if host_literal(host) == address else f"{host} ({address})"
    return AddressRefused(
        _(
            "%(host)s is a %(kind)s address; webhooks may only go to public addresses "
            "(an operator can allow an intranet receiver with GRIDLINK_WEBHOOK_ALLOW_PRIVATE)."
        )
        % {"host": shown, "kind": _kind_label(kind)}
    )


def addresses_check(host: str, addresses: list[IPAddress], rules: Allowed) -> None:
    """Raise `AddressRefused` unless every address of `host` may be reached."""
    if host_normal(host) in rules.names:
        return
    for address in addresses:
        kind = address_kind(address)
        if kind is not None and not rules.allows(address):
            raise _refusal(host, address, kind)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to for TCP (raises `socket.gaierror` if none)."""
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    ):
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def is_local_name(host: str) -> bool:
    name = host_normal(host)
    return name == "localhost" or name.endswith(".localhost")


def url_parts(url: str) -> SplitResult:
    """The parts of an absolute http(s) URL with a host and no credentials, or
    `AddressRefused` with the code of what is wrong (`url_scheme`, `url_credentials`)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (reading it raises ValueError on a bad port)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in SCHEMES
        or not parts.hostname
        or any(ch.isspace() or ord(ch) < 32 for ch in url)
    ):
        raise AddressRefused(
            _("%(value)s is not an http:// or https:// address with a host name.") % {"value": url},
            code="url_scheme",
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise AddressRefused(
            _("Put no user name or password in the address; receivers check the signature."),
            code="url_credentials",
        )
    return parts


def url_port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def url_problem(url: str) -> AddressRefused | None:
    """What is wrong with `url` as a webhook receiver, when it is registered, or None.

    A name that does not resolve now is accepted (the receiver may not be published yet):
    every delivery checks it again (`delivery_addresses`)."""
    try:
        parts = url_parts(url)
        host = str(parts.hostname)
        rules = allowed()
        literal = host_literal(host)
        if literal is not None:
            addresses_check(host, [literal], rules)
            return None
        if is_local_name(host):
            if host_normal(host) in rules.names:
                return None
            raise _refusal(host, ipaddress.ip_address("127.0.0.1"), "loopback")
        try:
            addresses = resolve(host, url_port(parts))
        except (OSError, UnicodeError):
            return None
        addresses_check(host, addresses, rules)
    except AddressRefused as exc:
        return exc
    return None


def delivery_addresses(url: str) -> tuple[SplitResult, list[IPAddress]]:
    """The URL's parts and the addresses to connect to, checked now; `AddressRefused` if
    the URL or any address it resolves to may not be reached, or if it does not resolve."""
    parts = url_parts(url)
    host = str(parts.hostname)
    rules = allowed()
    literal = host_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        if is_local_name(host) and host_normal(host) not in rules.names:
            raise _refusal(host, ipaddress.ip_address("127.0.0.1"), "loopback")
        try:
            addresses = resolve(host, url_port(parts))
        except (OSError, UnicodeError) as exc:
            raise AddressRefused(
                _("%(host)s does not resolve (%(error)s).") % {"host": host, "error": exc},
                code="url_unresolved",
            ) from None
    addresses_check(host, addresses, rules)
    return parts, addresses
