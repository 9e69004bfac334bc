"""Answers kept for `Idempotency-Key` retries do not pile up: the hourly
`purge_idempotency_keys` deletes those older than GRIDLINK_IDEMPOTENCY_RETENTION_HOURS
(48 by default), in both tables (`core.IdempotentResponse`, case intake's
`cases.IdempotencyRecord`); a retry inside the window still replays, one after it acts anew.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from gridlink.cases.models import Case, IdempotencyRecord
from gridlink.core.idempotency import idempotency_purge
from gridlink.core.models import IdempotentResponse
from gridlink.core.schedule import periodic_jobs
from gridlink.core.tasks import PERIODIC, purge_idempotency_keys
from tests.cases_support import A11, CATEGORY, build_world, post_json

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def world(tree: Any, personas: Any) -> Any:
    return build_world(tree, personas)


def report(client: Client, key: str, text: str = "小区门口垃圾堆放三天无人清理") -> Any:
    body = {"channel": "resident_web", "category_code": CATEGORY, "description": text,
            **A11, "reporter_phone": "13800138000"}  # fmt: skip
    return post_json(client, "/api/v1/cases", body, HTTP_IDEMPOTENCY_KEY=key)


def accept(world: Any, key: str) -> tuple[Client, str, Any]:
    """A case accepted through the API with `key`; returns the client, URL and answer."""
    created = report(Client(), f"intake-{key}", text=f"路灯不亮 {key}")
    assert created.status_code == 201, created.content
    case = Case.objects.get(pk=created.json()["id"])
    disp = world.client("district_disp")
    url = f"/api/v1/cases/{case.pk}/actions/accept"
    first = post_json(disp, url, {"version": case.version}, HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 200, first.content
    return disp, url, (first, case.version)


def age(model: Any, key: str, by: dt.timedelta) -> None:
    """Make the stored answers for `key` older by `by` (their creation time moved back)."""
    rows = model.objects.filter(key=key)
    assert rows.exists()
    for row in rows:
        model.objects.filter(pk=row.pk).update(created_at=row.created_at - by)


def test_old_answers_go_and_fresh_ones_stay(world, settings):
    settings.GRIDLINK_IDEMPOTENCY_RETENTION_HOURS = 48
    accept(world, "old")
    accept(world, "edge")
    accept(world, "fresh")
    age(IdempotentResponse, "old", 49 * HOUR)
    age(IdempotencyRecord, "intake-old", 49 * HOUR)
    age(IdempotentResponse, "edge", 47 * HOUR)
    age(IdempotencyRecord, "intake-edge", 47 * HOUR)

    assert idempotency_purge() == {"core.IdempotentResponse": 1, "cases.IdempotencyRecord": 1}
    assert set(IdempotentResponse.objects.values_list("key", flat=True)) == {"edge", "fresh"}
    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {
        "intake-edge",
        "intake-fresh",
    }
    assert Case.objects.count() == 3  # only the kept answers go, never what they answered
    assert idempotency_purge() == {"core.IdempotentResponse": 0, "cases.IdempotencyRecord": 0}


def test_a_retry_inside_the_window_still_replays(world, settings):
    settings.GRIDLINK_IDEMPOTENCY_RETENTION_HOURS = 48
    disp, url, (first, version) = accept(world, "a-1")
    age(IdempotentResponse, "a-1", 47 * HOUR)
    intake = report(Client(), "r-1")
    age(IdempotencyRecord, "r-1", 47 * HOUR)
    purge_idempotency_keys.call()  # the periodic task itself

    again = post_json(disp, url, {"version": version}, HTTP_IDEMPOTENCY_KEY="a-1")
    assert again["Idempotent-Replayed"] == "true"
    assert again.status_code == first.status_code and again.json() == first.json()
    twice = report(Client(), "r-1")
    assert twice["Idempotent-Replayed"] == "true"
    assert twice.json()["id"] == intake.json()["id"]
    assert Case.objects.count() == 2


def test_after_the_window_an_old_key_is_a_new_request(world, settings):
    settings.GRIDLINK_IDEMPOTENCY_RETENTION_HOURS = 48
    first = report(Client(), "r-2")
    age(IdempotencyRecord, "r-2", 49 * HOUR)
    idempotency_purge()
    second = report(Client(), "r-2")
    assert second.status_code == 201 and "Idempotent-Replayed" not in second
    assert second.json()["id"] != first.json()["id"]


def test_the_retention_is_a_setting(world, settings):
    accept(world, "k")
    age(IdempotentResponse, "k", 3 * HOUR)
    settings.GRIDLINK_IDEMPOTENCY_RETENTION_HOURS = 4
    assert idempotency_purge(now=timezone.now())["core.IdempotentResponse"] == 0
    settings.GRIDLINK_IDEMPOTENCY_RETENTION_HOURS = 2
    assert idempotency_purge(now=timezone.now())["core.IdempotentResponse"] == 1


def test_the_purge_runs_hourly():
    task, every = PERIODIC["purge_idempotency_keys"]
    assert task is purge_idempotency_keys and every == HOUR
    assert "purge_idempotency_keys" in periodic_jobs()
