"""Sign-in throttling on the shared rate limiter (`gridlink.core.ratelimit`).

After `GRIDLINK_LOGIN_MAX_FAILURES` failures for one username, or five times as many from
one address, within `GRIDLINK_LOGIN_LOCK_SECONDS` (a window starting at the first failure),
further attempts are refused until the window has passed. Shared by every app server
because the counts live in the database.

Each attempt reserves its failure *before* the password is checked, with the limiter's one
atomic statement, and a right password gives the reservation back. So concurrent guesses
cannot slip through between a count and a check: exactly the limit of them is tried.
Refused attempts are given back too, so they never count as failures.
"""

from __future__ import annotations

from gridlink.core.ratelimit import (
    LIMITS,
    client_key,
    named_client,
    rate_count,
    rate_peek,
    rate_refund,
)

IP_FACTOR = 5  # the address limit is this many times the username's (see LIMITS)


def _buckets(username: str, ip: str | None) -> list[tuple[str, str]]:
    buckets = [("login.username", named_client(f"username:{username[:150]}"))]
    if ip:
        buckets.append(("login.address", client_key(ip=ip)))
    return buckets


def login_retry_after(*, username: str, ip: str | None) -> int | None:
    """Seconds to wait before another attempt, or None if an attempt is allowed now."""
    waits = [rate_peek(limit, client=client) for limit, client in _buckets(username, ip)]
    found = [w for w in waits if w is not None]
    return max(found) if found else None


def login_attempt_begin(*, username: str, ip: str | None) -> int | None:
    """Reserve this attempt's failure in each count; None if it may go ahead, else the
    seconds to wait (and nothing stays reserved)."""
    taken: list[tuple[str, str]] = []
    for limit, client in _buckets(username, ip):
        hits, wait = rate_count(limit, client=client)
        taken.append((limit, client))
        if hits > LIMITS[limit].count():
            for reserved_limit, reserved_client in taken:
                rate_refund(reserved_limit, client=reserved_client)
            return wait
    return None


def login_attempt_succeeded(*, username: str, ip: str | None) -> None:
    """The password was right: give back the failure `login_attempt_begin` reserved."""
    for limit, client in _buckets(username, ip):
        rate_refund(limit, client=client)
