"""Rate limits (`gridlink.core.ratelimit`): one atomic statement per request, shared by every
process through the database, 429 with the true `Retry-After` on every limited endpoint.

The concurrency tests use real threads, each with its own database connection, released
together at a barrier (the pattern of tests/test_case_concurrency.py); they run on SQLite
and on PostgreSQL:
    .venv/bin/pytest -q tests/test_ratelimit.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridlink_abuse .venv/bin/pytest -q \
        tests/test_ratelimit.py
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import translation

from gridlink.cases.models import Case
from gridlink.core.models import RateBucket
from gridlink.core.ratelimit import (
    LIMITS,
    RateLimited,
    rate_buckets_purge,
    rate_count,
    rate_hit,
    rate_peek,
    rate_refund,
)
from gridlink.core.tasks import PERIODIC, purge_rate_buckets
from gridlink.open311.services import client_application_create
from tests.cases_support import build_world, png_bytes, report
from tests.open311_support import post_request

T0 = "2026-03-02 09:00:00 +0800"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _together(calls: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Run `calls` in threads released at once; [("ok", result) | ("error", exception)]."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, Any]] = [("missing", None)] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=20)
            results[index] = ("ok", call())
        except Exception as exc:  # noqa: BLE001 — the test inspects whatever was raised
            results[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a request hung"
    return results


# --- The limiter ---------------------------------------------------------------------------


def test_every_limit_is_read_from_settings(settings):
    for name, limit in LIMITS.items():
        assert limit.count() > 0, name
        assert limit.window() > 0, name


def test_exactly_the_limit_passes_and_retry_after_is_the_true_wait(db, settings):
    settings.GRIDLINK_TRACK_RATE_PER_HOUR = 3
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(3):
            rate_hit("track.lookup", client="c1")
        traveller.shift(600)
        with pytest.raises(RateLimited) as refused:
            rate_hit("track.lookup", client="c1")
        assert refused.value.retry_after == 3600 - 600
        assert refused.value.status == 429
        assert "3000 seconds" in refused.value.message
        assert rate_peek("track.lookup", client="c1") == 3000
        # Refused requests do not move the window; another client has its own.
        traveller.shift(2999)
        with pytest.raises(RateLimited) as again:
            rate_hit("track.lookup", client="c1")
        assert again.value.retry_after == 1
        rate_hit("track.lookup", client="c2")
        traveller.shift(1)
        assert rate_peek("track.lookup", client="c1") is None
        rate_hit("track.lookup", client="c1")  # a new window
        assert rate_count("track.lookup", client="c1") == (2, 3600)


def test_a_refund_gives_one_request_back(db, settings):
    settings.GRIDLINK_FEEDBACK_RATE_PER_HOUR = 1
    rate_hit("track.feedback", client="c")
    assert rate_peek("track.feedback", client="c") is not None
    rate_refund("track.feedback", client="c")
    assert rate_peek("track.feedback", client="c") is None
    rate_hit("track.feedback", client="c")


def test_unknown_limits_are_a_programming_error(db):
    with pytest.raises(KeyError):
        rate_hit("no.such.limit", client="c")


def test_the_periodic_job_removes_ended_windows_only(db):
    with time_machine.travel(T0, tick=False) as traveller:
        rate_hit("track.lookup", client="old")
        traveller.shift(3000)
        rate_hit("track.lookup", client="new")
        traveller.shift(601)
        assert purge_rate_buckets.call() == 1
        assert rate_buckets_purge() == 0
        assert [b.key for b in RateBucket.objects.all()] == [
            RateBucket.objects.get().key
        ] and RateBucket.objects.get().key.endswith(":new")
    assert PERIODIC["purge_rate_buckets"] == (purge_rate_buckets, dt.timedelta(minutes=10))


@pytest.mark.django_db(transaction=True)
def test_concurrent_clients_get_exactly_the_limit_through(settings):
    """The reproduction: 8 concurrent clients, a limit of 19 — exactly 19 pass."""
    settings.GRIDLINK_TRACK_RATE_PER_HOUR = 19

    def three_requests() -> int:
        passed = 0
        for _ in range(3):
            try:
                rate_hit("track.lookup", client="shared")
                passed += 1
            except RateLimited:
                pass
        return passed

    results = _together([three_requests] * 8)
    assert all(kind == "ok" for kind, _ in results), results
    assert sum(value for _kind, value in results) == 19
    assert RateBucket.objects.get().hits == 24


@pytest.mark.django_db(transaction=True)
def test_concurrent_anonymous_reports_get_exactly_the_limit_through(tree, personas, settings):
    """End to end through the API: 8 clients behind one address at once, limit 5."""
    build_world(tree, personas)
    settings.GRIDLINK_INTAKE_RATE_PER_HOUR = 5

    def two_reports(index: int) -> list[int]:
        client = Client(REMOTE_ADDR="10.20.30.40")
        return [
            report(client, description=f"路口垃圾桶满溢 第{index}-{n}次").status_code
            for n in range(2)
        ]

    results = _together([lambda i=i: two_reports(i) for i in range(8)])
    assert all(kind == "ok" for kind, _ in results), results
    statuses = sorted(s for _kind, value in results for s in value)
    assert statuses == [201] * 5 + [429] * 11
    assert Case.objects.count() == 5


# --- The limited endpoints -------------------------------------------------------------------


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


def _refused_429(response: Any, *, wait: int | None = None) -> None:
    assert response.status_code == 429, response.content[:300]
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 3600
    if wait is not None:
        assert retry_after == wait
    body = response.json() if response["Content-Type"].startswith("application/json") else None
    if isinstance(body, dict):  # the API's error shape (Open311 sends its own list)
        assert body["errors"][0]["code"] == "rate_limited"
    elif isinstance(body, list):
        assert body[0]["code"] == 429


def test_tracking_lookups_are_limited_per_client(world, settings):
    settings.GRIDLINK_TRACK_RATE_PER_HOUR = 3
    code = report(Client()).json()["tracking_code"]
    anon = Client()
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(2):
            assert anon.get(f"/api/v1/track/{code}").status_code == 200
        assert anon.get("/api/v1/track/WRONGCODE234").status_code == 404  # misses count too
        traveller.shift(100)
        _refused_429(anon.get(f"/api/v1/track/{code}"), wait=3500)
        _refused_429(anon.get(f"/track/{code}/"), wait=3500)  # the web page shares the limit
        assert Client(REMOTE_ADDR="10.1.1.1").get(f"/api/v1/track/{code}").status_code == 200


def test_feedback_is_limited_per_client(world, settings):
    settings.GRIDLINK_FEEDBACK_RATE_PER_HOUR = 1
    anon = Client()
    body = {"satisfaction": "satisfied", "solved": True}
    url = "/api/v1/track/WRONGCODE234/feedback"
    first = anon.post(url, body, content_type="application/json")
    assert first.status_code == 404
    _refused_429(anon.post(url, body, content_type="application/json"))


def test_uploads_are_limited_per_client(world, settings):
    settings.GRIDLINK_UPLOAD_RATE_PER_HOUR = 2
    anon = Client()

    def send() -> Any:
        photo = SimpleUploadedFile("p.png", png_bytes(), "image/png")
        return anon.post("/api/v1/uploads", {"file": photo})

    assert [send().status_code for _ in range(2)] == [201, 201]
    _refused_429(send())


def test_open311_posts_are_limited_per_application_with_the_true_wait(world, settings):
    settings.GRIDLINK_OPEN311_RATE_PER_HOUR = 1
    api_key = client_application_create(actor=None, name="resident app")[1]
    anon = Client()
    with time_machine.travel(T0, tick=False) as traveller:
        assert post_request(anon, "json", api_key).status_code == 201
        traveller.shift(1000)
        _refused_429(post_request(anon, "json", api_key, description="第二处"), wait=2600)


def test_the_report_form_says_the_real_wait(world, settings):
    settings.GRIDLINK_INTAKE_RATE_PER_HOUR = 1
    anon = Client()
    with time_machine.travel(T0, tick=False) as traveller:
        assert report(anon).status_code == 201  # the API and the form share the limit
        traveller.shift(1000)
        form = {
            "category_code": "E0102",
            "description": "小区门口垃圾堆放三天无人清理",
            "lat": "35.85",
            "lon": "120.05",
            "reporter_phone": "13800138000",
        }
        response = anon.post("/report/", form)
        _refused_429(response, wait=2600)
        assert "2600" in response.content.decode()  # in the page's language
