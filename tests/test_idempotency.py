"""Retries and races (issue 10 §4): `Idempotency-Key` on opening supervision orders, on
respond/close, on case actions and on the joint-handling task steps (a retry with the same
key and body replays the first answer and writes nothing more; another body is a 400 naming
`Idempotency-Key`), and the version check on supervision respond and close (If-Match 412,
body `version` 409, neither 428; two responses at once: exactly one wins).

The concurrent tests use real connections in threads (as tests/test_case_concurrency.py);
run them on both backends:
    .venv/bin/pytest -q tests/test_idempotency.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridlink_idem .venv/bin/pytest -q \
        tests/test_idempotency.py
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
from gridlink.cases.services.transitions import case_transition
from gridlink.cases.workflow import Action
from gridlink.core.models import IdempotentResponse
from gridlink.outbox.models import OutboxEntry
from gridlink.supervision.models import SupervisionEvent, SupervisionOrder
from gridlink.supervision.services import order_open
from tests.cases_support import A11, CATEGORY, build_world, post_json

URL = "/api/v1/supervision/orders"
ROUNDS = 3


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def world(tree: Any, personas: Any) -> Any:
    return build_world(tree, personas)


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def new_case(world: Any, *steps: tuple[str, dict[str, Any]]) -> Case:
    """A case in grid A1-1, moved on by system transitions (`steps`)."""
    created = case_create(
        actor=world.personas.grid_worker,
        report=Report(channel="grid_patrol", category_code=CATEGORY,
                      description="小区门口垃圾堆放三天无人清理", **A11),
    )  # fmt: skip
    for action, inputs in steps:
        case_transition(actor=None, case_id=created.case.pk, action=action, version=None,
                        inputs=inputs, system=True)  # fmt: skip
    return Case.objects.get(pk=created.case.pk)


def dispatched(world: Any) -> Case:
    return new_case(
        world,
        (Action.ACCEPT, {}),
        (Action.FILE, {}),
        (Action.DISPATCH, {"unit_id": f"department:{world.departments['UM'].pk}"}),
    )


def open_order(world: Any) -> SupervisionOrder:
    return order_open(
        actor=world.personas.supervisor,
        case=dispatched(world),
        instructions="请于期限内处置并反馈",
        deadline_days=3,
    )


def counts() -> dict[str, int]:
    return {
        "orders": SupervisionOrder.objects.count(),
        "order_events": SupervisionEvent.objects.count(),
        "case_events": CaseEvent.objects.count(),
        "outbox": OutboxEntry.objects.count(),
    }


def replayed(first: Any, again: Any) -> None:
    """`again` is the replay of `first`: same status, body and ETag, marked as a replay."""
    assert first.status_code // 100 == 2, first.content[:500]
    assert "Idempotent-Replayed" not in first
    assert again["Idempotent-Replayed"] == "true"
    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert again.get("ETag") == first.get("ETag")
    assert again["Content-Type"] == first["Content-Type"]


def reused(response: Any) -> None:
    assert response.status_code == 400, response.content[:500]
    error = response.json()["errors"][0]
    assert error["field"] == "Idempotency-Key" and error["code"] == "idempotency_key_reused"


# --- Replays ---------------------------------------------------------------------------------


def test_opening_an_order_twice_with_one_key_opens_it_once(world):
    case = dispatched(world)
    sup = client_for(world.personas.supervisor)
    body = {"case_id": case.pk, "instructions": "限期清运", "deadline_days": 3}
    first = post_json(sup, URL, body, HTTP_IDEMPOTENCY_KEY="open-1")
    assert first.status_code == 201, first.content
    before = counts()
    again = post_json(sup, URL, body, HTTP_IDEMPOTENCY_KEY="open-1")
    replayed(first, again)
    assert counts() == before
    assert first.json()["version"] == 1 and first["ETag"] == f'"{first.json()["id"]}-1"'

    reused(post_json(sup, URL, {**body, "deadline_days": 5}, HTTP_IDEMPOTENCY_KEY="open-1"))
    assert counts() == before
    # Another caller's key of the same name is theirs: it acts.
    other = client_for(world.people["district_disp"])
    assert post_json(other, URL, body, HTTP_IDEMPOTENCY_KEY="open-1").status_code == 403
    # Without a key a second request is a second order.
    assert post_json(sup, URL, body).status_code == 201
    assert SupervisionOrder.objects.count() == before["orders"] + 1


def test_a_bad_key_is_refused_before_anything_is_done(world):
    case = dispatched(world)
    sup = client_for(world.personas.supervisor)
    body = {"case_id": case.pk, "instructions": "限期清运", "deadline_days": 3}
    before = counts()
    for key in ("k" * 101, "tab\tkey"):
        response = post_json(sup, URL, body, HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert counts() == before


def test_a_retried_response_and_close_replay(world):
    order = open_order(world)
    respond_url, close_url = f"{URL}/{order.pk}/respond", f"{URL}/{order.pk}/close"
    h_um = world.client("h_UM")
    first = post_json(h_um, respond_url, {"response": "已清运", "version": 1},
                      HTTP_IDEMPOTENCY_KEY="r-1")  # fmt: skip
    before = counts()
    again = post_json(h_um, respond_url, {"response": "已清运", "version": 1},
                      HTTP_IDEMPOTENCY_KEY="r-1")  # fmt: skip
    replayed(first, again)
    assert counts() == before
    assert SupervisionOrder.objects.get(pk=order.pk).version == 2
    # The same retry without the key is told the order has moved on.
    stale = post_json(h_um, respond_url, {"response": "已清运", "version": 1})
    assert stale.status_code == 409 and stale.json()["errors"][0]["field"] == "version"
    reused(post_json(h_um, respond_url, {"response": "另一回答", "version": 1},
                     HTTP_IDEMPOTENCY_KEY="r-1"))  # fmt: skip

    sup = client_for(world.personas.supervisor)
    closed = post_json(sup, close_url, {"accept": True, "version": 2}, HTTP_IDEMPOTENCY_KEY="c-1")
    before = counts()
    again = post_json(sup, close_url, {"accept": True, "version": 2}, HTTP_IDEMPOTENCY_KEY="c-1")
    replayed(closed, again)
    assert again.json()["state"] == "closed" and again.json()["version"] == 3
    assert counts() == before
    assert SupervisionEvent.objects.filter(order=order, kind="accepted").count() == 1


def test_a_retried_case_action_replays(world):
    case = new_case(world)
    disp = world.client("district_disp")
    url = f"/api/v1/cases/{case.pk}/actions/accept"
    first = post_json(disp, url, {"version": case.version}, HTTP_IDEMPOTENCY_KEY="a-1")
    before = counts()
    again = post_json(disp, url, {"version": case.version}, HTTP_IDEMPOTENCY_KEY="a-1")
    replayed(first, again)
    assert counts() == before
    assert Case.objects.get(pk=case.pk).version == case.version + 1
    assert CaseEvent.objects.filter(case=case, kind="accept").count() == 1
    reused(post_json(disp, url, {"version": case.version, "reason": "x"},
                     HTTP_IDEMPOTENCY_KEY="a-1"))  # fmt: skip
    # The same key on another endpoint is another request too.
    reused(post_json(disp, f"/api/v1/cases/{case.pk}/actions/file", {"version": case.version},
                     HTTP_IDEMPOTENCY_KEY="a-1"))  # fmt: skip
    # A refusal is not kept: after a stale version, the same key with the right one acts.
    stale = post_json(disp, f"/api/v1/cases/{case.pk}/actions/file", {"version": 1},
                      HTTP_IDEMPOTENCY_KEY="f-1")  # fmt: skip
    assert stale.status_code == 409
    filed = post_json(disp, f"/api/v1/cases/{case.pk}/actions/file",
                      {"version": case.version + 1}, HTTP_IDEMPOTENCY_KEY="f-2")  # fmt: skip
    assert filed.status_code == 200 and filed.json()["state"] == "filed"


def test_retried_task_steps_replay(world):
    um, hs = world.departments["UM"].pk, world.departments["HS"].pk
    case = new_case(
        world,
        (Action.ACCEPT, {}),
        (Action.FILE, {}),
        (Action.WHISTLE, {"department_ids": [um, hs], "lead_department_id": hs}),
    )
    task = case.tasks.get(department_id=um)
    h_um, disp = world.client("h_UM"), world.client("district_disp")
    steps = [
        (h_um, "report-in", {}),
        (h_um, "complete", {"result": "已清理路面"}),
        (disp, "rate", {"rating": 4}),
    ]
    version = case.version
    for client, step, inputs in steps:
        url = f"/api/v1/tasks/{task.pk}/{step}"
        body = {"version": version, **inputs}
        first = post_json(client, url, body, HTTP_IDEMPOTENCY_KEY=f"t-{step}")
        before = counts()
        again = post_json(client, url, body, HTTP_IDEMPOTENCY_KEY=f"t-{step}")
        replayed(first, again)
        assert counts() == before, step
        # Without the key the retry is refused: the case has moved on.
        assert post_json(client, url, body).status_code == 409
        version = first.json()["version"]
        assert Case.objects.get(pk=case.pk).version == version
    kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds.count("task_done") == 1 and kinds.count("task_rated") == 1


def test_keys_are_stored_only_for_answers_given(world):
    order = open_order(world)
    h_um = world.client("h_UM")
    url = f"{URL}/{order.pk}/respond"
    refused = post_json(h_um, url, {"response": " ", "version": 1}, HTTP_IDEMPOTENCY_KEY="e-1")
    assert refused.status_code == 400
    assert not IdempotentResponse.objects.filter(key="e-1").exists()
    done = post_json(h_um, url, {"response": "已清运", "version": 1}, HTTP_IDEMPOTENCY_KEY="e-2")
    assert done.status_code == 200
    stored = IdempotentResponse.objects.get(key="e-2")
    assert stored.owner == f"user:{world.people['h_UM'].pk}" and stored.status == 200


# --- Versions on supervision orders ---------------------------------------------------------


def test_stale_versions_are_refused_on_respond_and_close(world):
    order = open_order(world)
    respond_url, close_url = f"{URL}/{order.pk}/respond", f"{URL}/{order.pk}/close"
    h_um, sup = world.client("h_UM"), client_for(world.personas.supervisor)
    shown = sup.get(f"{URL}/{order.pk}")
    assert shown["ETag"] == f'"{order.pk}-1"' and shown.json()["version"] == 1

    bad = post_json(h_um, respond_url, {"response": "x"}, HTTP_IF_MATCH='"nonsense"')
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "If-Match"
    none = post_json(h_um, respond_url, {"response": "x"})
    assert none.status_code == 428 and none.json()["errors"][0]["field"] == "version"
    stale = post_json(h_um, respond_url, {"response": "x"}, HTTP_IF_MATCH=f'"{order.pk}-0"')
    assert stale.status_code == 412
    assert stale.json()["errors"][0] == {**stale.json()["errors"][0], "field": "version",
                                         "code": "stale_version"}  # fmt: skip
    assert stale.json()["current"]["version"] == 1 and stale["ETag"] == shown["ETag"]
    done = post_json(h_um, respond_url, {"response": "已清运"}, HTTP_IF_MATCH=shown["ETag"])
    assert done.status_code == 200 and done["ETag"] == f'"{order.pk}-2"'

    # The supervisor decides on what they saw: version 1 is before the response.
    old = post_json(sup, close_url, {"accept": True, "version": 1})
    assert old.status_code == 409 and old.json()["errors"][0]["field"] == "version"
    assert old.json()["current"]["state"] == "responded"
    old_tag = post_json(sup, close_url, {"accept": True}, HTTP_IF_MATCH=shown["ETag"])
    assert old_tag.status_code == 412
    assert post_json(sup, close_url, {"accept": True}).status_code == 428
    fresh = SupervisionOrder.objects.get(pk=order.pk)
    assert fresh.state == "responded" and fresh.version == 2
    rejected = post_json(sup, close_url, {"accept": False, "note": "仍有垃圾"},
                         HTTP_IF_MATCH=done["ETag"])  # fmt: skip
    assert rejected.status_code == 200 and rejected.json()["state"] == "reopened"
    assert rejected.json()["version"] == 3


# --- Races -----------------------------------------------------------------------------------


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
        assert not thread.is_alive(), "a request hung"
    return results


@pytest.mark.django_db(transaction=True)
def test_two_responses_with_one_version_one_wins(world):
    handlers = [client_for(world.people["h_UM"]), client_for(world.people["head_UM"])]
    for _round in range(ROUNDS):
        order = open_order(world)
        url = f"{URL}/{order.pk}/respond"

        def post(client: Client, text: str, url: str = url) -> Any:
            return post_json(client, url, {"response": text, "version": 1})

        results = _together(lambda: post(handlers[0], "甲"), lambda: post(handlers[1], "乙"))
        assert all(kind == "ok" for kind, _value in results), results
        statuses = sorted(value.status_code for _kind, value in results)
        assert statuses == [200, 409], [v.content[:300] for _k, v in results]
        lost = next(v for _k, v in results if v.status_code == 409)
        assert lost.json()["errors"][0]["code"] == "stale_version"
        assert lost.json()["current"]["version"] == 2
        fresh = SupervisionOrder.objects.get(pk=order.pk)
        assert fresh.version == 2 and fresh.state == "responded"
        assert SupervisionEvent.objects.filter(order=order, kind="responded").count() == 1
        assert OutboxEntry.objects.filter(topic="supervision.responded",
                                          payload__order_id=order.pk).count() == 1  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_one_key_sent_twice_at_once_acts_once(world):
    """A client that retries before its first request has answered: both get the one answer."""
    case = dispatched(world)
    sup = [client_for(world.personas.supervisor), client_for(world.personas.supervisor)]
    for index in range(ROUNDS):
        before = SupervisionOrder.objects.count()
        body = {"case_id": case.pk, "instructions": f"限期清运 {index}", "deadline_days": 3}

        def post(client: Client, body: dict[str, Any] = body, index: int = index) -> Any:
            return post_json(client, URL, body, HTTP_IDEMPOTENCY_KEY=f"twin-{index}")

        results = _together(lambda: post(sup[0]), lambda: post(sup[1]))
        assert all(kind == "ok" for kind, _value in results), results
        answers = [value for _kind, value in results]
        assert [a.status_code for a in answers] == [201, 201], [a.content[:300] for a in answers]
        assert answers[0].json() == answers[1].json()
        assert sorted(a.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
        assert SupervisionOrder.objects.count() == before + 1
