"""No lost update (SPEC §6): two actors on one case at once → one succeeds, the other is told
the current state.

Real concurrent connections: each thread has its own database connection (closed at the
thread's end) and all start together at a barrier. On PostgreSQL the loser waits on the row
lock and then sees the new version; on SQLite it waits for the write lock (IMMEDIATE
transactions, busy timeout) and then sees the new version. Either way: `StaleVersion`.

Run on both backends:
    .venv/bin/pytest -q tests/test_case_concurrency.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridlink_h1 .venv/bin/pytest -q \
        tests/test_case_concurrency.py
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import translation

from gridlink.cases.models import Case, CaseEvent
from gridlink.cases.services.intake import Report, case_create
from gridlink.cases.services.transitions import StaleVersion, case_transition
from gridlink.cases.workflow import State
from tests.cases_support import A11, CATEGORY, act, build_world, ok

ROUNDS = 3


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _together(*calls: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run `calls` in threads released at once; [("ok", result) | ("error", exception)]."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, Any]] = [("missing", None)] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = ("ok", call())
        except Exception as exc:  # noqa: BLE001 — the test inspects whatever was raised
            results[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a transition hung"
    return results


def _new_case(world: Any) -> Case:
    created = case_create(
        actor=world.personas.grid_worker,
        report=Report(
            channel="grid_patrol",
            category_code=CATEGORY,
            description="路口垃圾桶满溢，垃圾散落一地",
            **A11,
        ),
    )
    return created.case


def _to_filed(world: Any, case: Case) -> Case:
    for action in ("accept", "file"):
        case = case_transition(actor=world.people["district_disp"], case_id=case.pk,
                               action=action, version=case.version)  # fmt: skip
    return case


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


SCENARIOS = {
    # name: (state to start from, (action, inputs) of the first actor, ... of the second)
    "accept-accept": ("reported", ("accept", {}), ("accept", {})),
    "accept-invalidate": ("reported", ("accept", {}), ("invalidate", {"reason": "重复上报"})),
    "dispatch-whistle": (
        "filed",
        ("dispatch", {"unit_id": "department:{UM}"}),
        ("whistle", {"department_ids": ["{UM}", "{HS}"], "lead_department_id": "{UM}"}),
    ),
}


def _fill(inputs: dict[str, Any], world: Any) -> dict[str, Any]:
    ids = {code: dept.pk for code, dept in world.departments.items()}

    def fill(value: Any) -> Any:
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
            return ids[value[1:-1]]
        if isinstance(value, str):
            return value.format(**ids)
        return value

    return {name: fill(value) for name, value in inputs.items()}


def _transition_call(
    actor: Any, case_id: int, version: int, action: str, inputs: dict[str, Any]
) -> Callable[[], Case]:
    def call() -> Case:
        return case_transition(
            actor=actor, case_id=case_id, action=action, version=version, inputs=inputs
        )

    return call


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_two_dispatchers_at_once_one_wins(world, scenario):
    start, first, second = SCENARIOS[scenario]
    actors = [world.personas.dispatcher, world.people["district_disp"]]
    for _round in range(ROUNDS):
        case = _new_case(world)
        if start == "filed":
            case = _to_filed(world, case)
        seen = case.version
        events_before = CaseEvent.objects.filter(case_id=case.pk).count()
        calls = [
            _transition_call(actor, case.pk, seen, action, _fill(inputs, world))
            for actor, (action, inputs) in zip(actors, (first, second), strict=True)
        ]
        results = _together(*calls)

        winners = [value for kind, value in results if kind == "ok"]
        losers = [value for kind, value in results if kind == "error"]
        assert len(winners) == 1, results
        assert len(losers) == 1, results
        assert isinstance(losers[0], StaleVersion), repr(losers[0])
        assert losers[0].status == 409
        assert losers[0].code == "stale_version"

        fresh = Case.objects.get(pk=case.pk)
        assert fresh.version == seen + 1
        assert fresh.state == winners[0].state
        # The loser was told the current state: the exception carries the case as it is now.
        assert losers[0].case.version == seen + 1
        assert losers[0].case.state == fresh.state
        assert CaseEvent.objects.filter(case_id=case.pk).count() == events_before + 1


@pytest.mark.django_db(transaction=True)
def test_two_requests_with_one_etag_one_gets_412(world):
    disp_a = Client()
    disp_a.force_login(world.personas.dispatcher)
    disp_b = Client()
    disp_b.force_login(world.people["district_disp"])
    for _round in range(ROUNDS):
        case = _new_case(world)
        shown = disp_a.get(f"/api/v1/cases/{case.pk}")
        etag = shown["ETag"]
        assert etag
        assert disp_b.get(f"/api/v1/cases/{case.pk}")["ETag"] == etag
        url = f"/api/v1/cases/{case.pk}/actions/accept"

        def post(client: Client, url: str = url, etag: str = etag) -> Any:
            return client.post(url, data="{}", content_type="application/json",
                               HTTP_IF_MATCH=etag)  # fmt: skip

        results = _together(lambda: post(disp_a), lambda: post(disp_b))
        assert all(kind == "ok" for kind, _value in results), results
        statuses = sorted(value.status_code for _kind, value in results)
        assert statuses == [200, 412], [v.content[:300] for _k, v in results]
        won = next(v for _k, v in results if v.status_code == 200)
        lost = next(v for _k, v in results if v.status_code == 412)
        body = lost.json()
        assert body["errors"][0]["code"] == "stale_version"
        assert body["current"]["version"] == case.version + 1
        assert body["current"]["state"] == State.ACCEPTED
        assert lost["ETag"] == won["ETag"] != etag
        assert Case.objects.get(pk=case.pk).version == case.version + 1
        assert CaseEvent.objects.filter(case_id=case.pk, kind="accept").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_loser_retries_with_the_current_version(world):
    """After a 409 the loser reloads and its action applies to the new state."""
    disp = world.client("district_disp")
    case = ok(disp.get(f"/api/v1/cases/{_new_case(world).pk}"))
    ok(act(disp, case, "accept"))
    stale = act(disp, case, "accept")
    assert stale.status_code == 409
    current = stale.json()["current"]
    assert current["state"] == State.ACCEPTED
    assert ok(act(disp, current, "file"))["state"] == State.FILED
