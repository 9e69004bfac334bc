"""Supervision orders (督办): opening on a case or a unit, who may do what, responses,
closing, the overdue sweep, bad input through the API, and the counts for schemes.

The tree and personas come from tests/conftest.py (the supervisor covers the district);
`build_world` adds departments UM/HS/EC/CC serving the whole district and their staff.
Cases are made in grid A1-1 and dispatched to UM by system transitions.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from gridlink.accounts.roles import Role
from gridlink.cases.models import Case, CaseEvent
from gridlink.cases.services.intake import Report, case_create
from gridlink.cases.services.transitions import case_transition
from gridlink.cases.workflow import Action
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.core.schedule import periodic_jobs
from gridlink.core.worktime import add_working_days
from gridlink.outbox.models import OutboxEntry
from gridlink.supervision.models import OrderState, SupervisionEvent, SupervisionOrder
from gridlink.supervision.selectors import (
    order_counts_for_unit,
    order_counts_for_units,
    orders_visible_to,
)
from gridlink.supervision.services import (
    WrongState,
    order_close,
    order_open,
    order_respond,
    orders_sweep,
)
from gridlink.supervision.tasks import sweep_supervision_orders
from tests.cases_support import A11, CATEGORY, build_world, post_json
from tests.factories import RoleAssignmentFactory, UserFactory

URL = "/api/v1/supervision/orders"
TZ = ZoneInfo("Asia/Shanghai")
MONDAY = dt.datetime(2026, 3, 2, 10, 0, tzinfo=TZ)


@pytest.fixture
def world(tree: Any, personas: Any) -> Any:
    return build_world(tree, personas)


def person(username: str, role: str, **scope: Any) -> Any:
    user = UserFactory(username=username)
    RoleAssignmentFactory(user=user, role=role, **scope)
    return user


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def dispatched_case(world: Any, unit: str = "UM") -> Case:
    """A case in grid A1-1, filed and dispatched to department `unit`."""
    created = case_create(
        actor=world.personas.grid_worker,
        report=Report(channel="grid_patrol", category_code=CATEGORY,
                      description="小区门口垃圾堆放三天无人清理", **A11),
    )  # fmt: skip
    steps = [
        (Action.ACCEPT, {}),
        (Action.FILE, {}),
        (Action.DISPATCH, {"unit_id": f"department:{world.departments[unit].pk}"}),
    ]
    for action, inputs in steps:
        case_transition(
            actor=None, case_id=created.case.pk, action=action, version=None, inputs=inputs,
            system=True,
        )  # fmt: skip
    return Case.objects.get(pk=created.case.pk)


def open_on(world: Any, *, actor: Any = None, now: dt.datetime | None = None, **target: Any):
    return order_open(
        actor=actor or world.personas.supervisor,
        instructions="请于期限内处置并反馈",
        deadline_days=3,
        now=now,
        **target,
    )


def seen(order: Any) -> int:
    """The order's version as a client reading it now would see it."""
    return SupervisionOrder.objects.values_list("version", flat=True).get(pk=order.pk)


def fields_of(response: Any) -> set[str]:
    return {e["field"] for e in response.json()["errors"]}


def supervision_outbox() -> list[str]:
    return list(
        OutboxEntry.objects.filter(topic__startswith="supervision.")
        .order_by("id")
        .values_list("topic", flat=True)
    )


# --- Opening ---------------------------------------------------------------------------------


def test_open_on_a_case_puts_the_case_under_supervision(world):
    case = dispatched_case(world)
    response = post_json(
        client_for(world.personas.supervisor),
        URL,
        {"case_id": case.pk, "instructions": "垃圾堆放三天未处理，限期清运", "deadline_days": 3,
         "level": "urgent"},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert re.fullmatch(r"DB-\d{4}-000001", body["code"])
    assert body["target_kind"] == "case" and body["case_id"] == case.pk
    assert body["state"] == "open" and body["level"] == "urgent"
    assert body["accountable_department_id"] == world.departments["UM"].pk
    assert [e["kind"] for e in body["events"]] == ["opened"]
    order = SupervisionOrder.objects.get()
    assert order.deadline_at == add_working_days(start_at=order.opened_at, days=3)
    case.refresh_from_db()
    assert case.supervised
    supervise = CaseEvent.objects.get(case=case, kind=Action.SUPERVISE)
    assert order.code in supervise.reason
    assert supervise.actor_id == world.personas.supervisor.pk
    assert supervision_outbox() == ["supervision.opened"]


def test_a_second_order_on_a_supervised_case_adds_no_case_event(world):
    case = dispatched_case(world)
    first = open_on(world, case=case)
    second = open_on(world, case=case.pk)
    assert first.code != second.code
    assert CaseEvent.objects.filter(case=case, kind=Action.SUPERVISE).count() == 1
    assert SupervisionOrder.objects.filter(case=case).count() == 2


def test_open_on_a_closed_case_leaves_the_case_alone(world):
    case = dispatched_case(world)
    Case.objects.filter(pk=case.pk).update(state="closed")
    open_on(world, case=case)
    case.refresh_from_db()
    assert not case.supervised
    assert not CaseEvent.objects.filter(case=case, kind=Action.SUPERVISE).exists()


def test_a_superuser_opens_through_the_system_role(world):
    case = dispatched_case(world)
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    open_on(world, actor=root, case=case)
    event = CaseEvent.objects.get(case=case, kind=Action.SUPERVISE)
    assert event.actor_role == "system" and event.actor_id == root.pk


def test_open_on_a_department_and_on_an_area(world, tree):
    hs = world.departments["HS"]
    on_department = open_on(world, department=hs)
    assert on_department.accountable_department_id == hs.pk
    on_area = open_on(world, area=tree.communities[0].pk)
    assert on_area.accountable_area_id == tree.communities[0].pk
    assert on_area.code.endswith("000002")
    assert supervision_outbox() == ["supervision.opened", "supervision.opened"]
    with pytest.raises(DomainError) as caught:
        open_on(world, area=tree.district)
    assert caught.value.field == "area_id"


def test_an_undispatched_case_is_held_against_its_grid(world, tree):
    created = case_create(
        actor=world.personas.grid_worker,
        report=Report(channel="grid_patrol", category_code=CATEGORY,
                      description="小区门口垃圾堆放三天无人清理", **A11),
    )  # fmt: skip
    order = open_on(world, case=created.case)
    assert order.accountable_area_id == tree.grids[0].pk


# --- Who may open ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "target", "allowed"),
    [
        ("district_supervisor", "case", True),
        ("district_supervisor", "department", True),
        ("district_supervisor", "area", True),
        ("street_a_supervisor", "case", True),
        ("street_a_supervisor", "area", True),
        ("street_a_supervisor", "department", False),  # serves the district, beyond street A
        ("street_a_supervisor", "department_b", False),  # serves street B
        ("street_b_supervisor", "case", False),
        ("street_b_supervisor", "area", False),
        ("street_b_supervisor", "department_b", True),
        ("superuser", "case", True),
        ("dispatcher", "case", False),
        ("community_staff", "area", False),
        ("grid_worker", "case", False),
        ("dept_handler", "department_b", False),
        ("admin", "case", False),
        ("resident", "case", False),
    ],
)
def test_who_may_open(world, tree, who, target, allowed):
    case = dispatched_case(world)
    p = world.personas
    actors = {
        "district_supervisor": p.supervisor,
        "street_a_supervisor": lambda: person("sup_a", Role.SUPERVISOR, area=tree.streets[0]),
        "street_b_supervisor": lambda: person("sup_b", Role.SUPERVISOR, area=tree.streets[1]),
        "superuser": lambda: UserFactory(username="root", is_superuser=True),
        "dispatcher": p.dispatcher,
        "community_staff": p.community_staff,
        "grid_worker": p.grid_worker,
        "dept_handler": p.dept_handler,
        "admin": p.admin,
        "resident": p.resident,
    }
    actor = actors[who]
    actor = actor() if callable(actor) else actor
    targets = {
        "case": {"case": case},
        "department": {"department": world.departments["UM"]},
        "department_b": {"department": p.department},
        "area": {"area": tree.communities[0]},
    }
    if allowed:
        assert open_on(world, actor=actor, **targets[target]).state == OrderState.OPEN
    else:
        with pytest.raises(NotPermitted):
            open_on(world, actor=actor, **targets[target])
        assert not SupervisionOrder.objects.exists()
        assert supervision_outbox() == []


# --- Responding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "who", "allowed"),
    [
        ("case", "h_UM", True),
        ("case", "head_UM", True),
        ("case", "comm1", True),  # community staff over the case's grid
        ("case", "disp1", True),  # street A dispatcher
        ("case", "h_HS", False),  # another department
        ("case", "grid1", False),
        ("case", "sup1", False),
        ("department", "head_HS", True),
        ("department", "h_UM", False),
        ("department", "comm1", False),
        ("community", "comm1", True),
        ("community", "disp1", True),
        ("community", "grid1", False),  # a grid worker of one grid does not answer for it
        ("community", "h_UM", False),
        ("grid", "grid1", True),
        ("grid", "comm1", True),
        ("grid", "dept1", False),
    ],
)
def test_who_may_respond(world, tree, target, who, allowed):
    targets = {
        "case": {"case": dispatched_case(world)},
        "department": {"department": world.departments["HS"]},
        "community": {"area": tree.communities[0]},
        "grid": {"area": tree.grids[0]},
    }
    order = open_on(world, **targets[target])
    from gridlink.accounts.models import User

    actor = User.objects.get(username=who)
    if allowed:
        done = order_respond(
            actor=actor, order_id=order.pk, version=seen(order), response="已清运完毕"
        )
        assert done.state == OrderState.RESPONDED and done.responded_by_id == actor.pk
        assert orders_visible_to(actor).filter(pk=order.pk).exists()
    else:
        with pytest.raises(NotPermitted):
            order_respond(
                actor=actor, order_id=order.pk, version=seen(order), response="已清运完毕"
            )
        order.refresh_from_db()
        assert order.state == OrderState.OPEN and order.response == ""


def test_respond_through_the_api(world):
    order = open_on(world, case=dispatched_case(world))
    url = f"{URL}/{order.pk}/respond"
    assert post_json(world.client("h_HS"), url, {"response": "x", "version": 1}).status_code == 404
    unversioned = post_json(world.client("h_UM"), url, {"response": "已清运完毕"})
    assert unversioned.status_code == 428 and fields_of(unversioned) == {"version"}
    empty = post_json(world.client("h_UM"), url, {"response": "  ", "version": 1})
    assert empty.status_code == 400 and fields_of(empty) == {"response"}
    done = post_json(world.client("h_UM"), url, {"response": "已清运完毕", "version": 1})
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "responded"
    assert done.json()["version"] == 2 and done["ETag"] == f'"{order.pk}-2"'
    again = post_json(world.client("h_UM"), url, {"response": "再次反馈", "version": 2})
    assert again.status_code == 409 and fields_of(again) == {"state"}
    assert [e["kind"] for e in done.json()["events"]] == ["opened", "responded"]


# --- Closing ---------------------------------------------------------------------------------


def test_accept_closes_the_order(world):
    order = open_on(world, case=dispatched_case(world))
    url = f"{URL}/{order.pk}/close"
    sup = client_for(world.personas.supervisor)
    early = post_json(sup, url, {"accept": True, "version": 1})
    assert early.status_code == 409 and fields_of(early) == {"state"}
    order_respond(actor=world.people["h_UM"], order_id=order.pk, version=1, response="已清运完毕")
    assert post_json(world.client("h_UM"), url, {"accept": True, "version": 2}).status_code == 403
    missing = post_json(sup, url, {"version": 2})
    assert missing.status_code == 400 and fields_of(missing) == {"accept"}
    unversioned = post_json(sup, url, {"accept": True})
    assert unversioned.status_code == 428 and fields_of(unversioned) == {"version"}
    closed = post_json(sup, url, {"accept": True, "version": 2})
    assert closed.status_code == 200, closed.content
    assert closed.json()["state"] == "closed"
    assert closed.json()["version"] == 3
    assert closed.json()["closed_by"] == world.personas.supervisor.username
    assert supervision_outbox() == [
        "supervision.opened", "supervision.responded", "supervision.closed"
    ]  # fmt: skip


def test_reject_reopens_with_a_new_deadline(world):
    order = open_on(world, case=dispatched_case(world), now=MONDAY)
    order_respond(
        actor=world.people["h_UM"],
        order_id=order.pk,
        version=seen(order),
        response="已处理",
        now=MONDAY,
    )
    with pytest.raises(DomainError) as caught:
        order_close(
            actor=world.personas.supervisor,
            order_id=order.pk,
            version=seen(order),
            accept=False,
            note="",
        )
    assert caught.value.field == "note"
    later = MONDAY + dt.timedelta(days=1)
    reopened = order_close(
        actor=world.personas.supervisor, order_id=order.pk, version=seen(order), accept=False,
        note="现场仍有垃圾", now=later,
    )  # fmt: skip
    assert reopened.state == OrderState.REOPENED
    assert reopened.deadline_at == add_working_days(start_at=later, days=3)
    order_respond(
        actor=world.people["h_UM"],
        order_id=order.pk,
        version=seen(order),
        response="已彻底清运",
        now=later,
    )
    closed = order_close(
        actor=world.personas.supervisor,
        order_id=order.pk,
        version=seen(order),
        accept=True,
        note="",
    )
    assert closed.state == OrderState.CLOSED
    kinds = list(SupervisionEvent.objects.filter(order=order).values_list("kind", flat=True))
    assert kinds == ["opened", "responded", "rejected", "responded", "accepted"]


def test_who_may_close(world, tree):
    order = open_on(world, area=tree.communities[0])
    order_respond(
        actor=world.personas.community_staff,
        order_id=order.pk,
        version=seen(order),
        response="已整改",
    )
    sup_b = person("sup_b", Role.SUPERVISOR, area=tree.streets[1])
    with pytest.raises(NotPermitted):
        order_close(actor=sup_b, order_id=order.pk, version=seen(order), accept=True)
    with pytest.raises(NotPermitted):
        order_close(
            actor=world.personas.community_staff,
            order_id=order.pk,
            version=seen(order),
            accept=True,
        )
    sup_a = person("sup_a", Role.SUPERVISOR, area=tree.streets[0])  # not the opener, in scope
    assert (
        order_close(actor=sup_a, order_id=order.pk, version=seen(order), accept=True).state
        == OrderState.CLOSED
    )


# --- The sweep -------------------------------------------------------------------------------


def test_sweep_escalates_overdue_orders_once_per_period(world, tree):
    order = open_on(world, area=tree.grids[0], now=MONDAY)
    answered = open_on(world, area=tree.grids[1], now=MONDAY)
    order_respond(actor=world.personas.community_staff, order_id=answered.pk,
                  version=seen(answered), response="ok", now=MONDAY)  # fmt: skip
    first_deadline = order.deadline_at
    assert orders_sweep(now=first_deadline) == {"overdue": 0, "escalated": 0}

    after = first_deadline + dt.timedelta(minutes=1)
    assert orders_sweep(now=after) == {"overdue": 1, "escalated": 1}
    order.refresh_from_db()
    assert order.overdue and order.escalated and order.escalation_count == 1
    assert order.escalated_at == after
    second_deadline = add_working_days(start_at=first_deadline, days=3)
    assert order.deadline_at == second_deadline

    events = SupervisionEvent.objects.count()
    outbox = supervision_outbox()
    assert orders_sweep(now=after) == {"overdue": 0, "escalated": 0}  # idempotent
    assert SupervisionEvent.objects.count() == events and supervision_outbox() == outbox
    assert outbox[-1] == "supervision.escalated"

    assert orders_sweep(now=second_deadline + dt.timedelta(minutes=1)) == {
        "overdue": 0, "escalated": 1
    }  # fmt: skip
    order.refresh_from_db()
    assert order.escalation_count == 2
    answered.refresh_from_db()
    assert not answered.overdue and answered.escalation_count == 0


def test_a_long_outage_escalates_once_and_moves_past_now(world, tree):
    order = open_on(world, area=tree.grids[0], now=MONDAY)
    much_later = MONDAY + dt.timedelta(days=40)
    assert orders_sweep(now=much_later)["escalated"] == 1
    order.refresh_from_db()
    assert order.escalation_count == 1 and order.deadline_at > much_later
    assert orders_sweep(now=much_later)["escalated"] == 0


def test_a_late_response_counts_as_overdue(world, tree):
    order = open_on(world, area=tree.grids[0], now=MONDAY)
    late = order_respond(actor=world.personas.grid_worker, order_id=order.pk,
                         version=seen(order), response="迟到反馈",
                         now=order.deadline_at + dt.timedelta(hours=1))  # fmt: skip
    assert late.overdue and not late.escalated


def test_the_periodic_task(world, tree):
    jobs = periodic_jobs()
    task, every = jobs["sweep_supervision_orders"]
    assert task is sweep_supervision_orders and every == dt.timedelta(minutes=5)
    open_on(world, area=tree.grids[0], now=timezone.now() - dt.timedelta(days=30))
    assert sweep_supervision_orders.call() == {"overdue": 1, "escalated": 1}


# --- Bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"instructions": "x", "deadline_days": 3}, 400, "target"),
        ({"case_id": "CASE", "department_id": "HS", "instructions": "x", "deadline_days": 3},
         400, "target"),
        ({"area_id": "A1", "department_id": "HS", "case_id": "CASE", "instructions": "x",
          "deadline_days": 3}, 400, "target"),
        ({"case_id": "CASE", "instructions": "x", "deadline_days": 0}, 400, "deadline_days"),
        ({"case_id": "CASE", "instructions": "x", "deadline_days": 31}, 400, "deadline_days"),
        ({"case_id": "CASE", "instructions": "x"}, 400, "deadline_days"),
        ({"case_id": "CASE", "instructions": "x", "deadline_days": "three"}, 422,
         "deadline_days"),
        ({"case_id": "CASE", "instructions": "   ", "deadline_days": 3}, 400, "instructions"),
        ({"case_id": "CASE", "deadline_days": 3}, 400, "instructions"),
        ({"case_id": "CASE", "instructions": "x" * 2001, "deadline_days": 3}, 400,
         "instructions"),
        ({"case_id": "CASE", "instructions": "x", "deadline_days": 3, "level": "red"}, 400,
         "level"),
        ({"case_id": 999999, "instructions": "x", "deadline_days": 3}, 400, "case_id"),
        ({"department_id": 999999, "instructions": "x", "deadline_days": 3}, 400,
         "department_id"),
        ({"area_id": 999999, "instructions": "x", "deadline_days": 3}, 400, "area_id"),
        ({"area_id": "DISTRICT", "instructions": "x", "deadline_days": 3}, 400, "area_id"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_by_name_and_writes_nothing(world, tree, body, status, field):
    case = dispatched_case(world)
    ids = {"CASE": case.pk, "HS": world.departments["HS"].pk, "A1": tree.communities[0].pk,
           "DISTRICT": tree.district.pk}  # fmt: skip
    body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    events = CaseEvent.objects.count()
    response = post_json(client_for(world.personas.supervisor), URL, body)
    assert response.status_code == status, response.content
    assert any(field in (f or "") for f in fields_of(response)), response.json()
    assert not SupervisionOrder.objects.exists()
    assert supervision_outbox() == []
    assert CaseEvent.objects.count() == events
    assert not Case.objects.get(pk=case.pk).supervised


def test_unknown_orders_and_filters(world):
    sup = client_for(world.personas.supervisor)
    for response in (
        sup.get(f"{URL}/424242"),
        post_json(sup, f"{URL}/424242/respond", {"response": "x"}),
        post_json(sup, f"{URL}/424242/close", {"accept": True}),
    ):
        assert response.status_code == 404 and fields_of(response) == {"order_id"}
    for query, field in (("state=nope", "state"), ("unit=street:1", "unit"),
                         ("unit=area:999999", "unit"), ("limit=0", "limit")):  # fmt: skip
        response = sup.get(f"{URL}?{query}")
        assert response.status_code == 400 and fields_of(response) == {field}
    assert Client().get(URL).status_code == 401


# --- Reading ---------------------------------------------------------------------------------


def test_list_is_scoped_and_filtered(world, tree, django_assert_max_num_queries):
    on_case = open_on(world, case=dispatched_case(world))
    on_hs = open_on(world, department=world.departments["HS"])
    on_b = open_on(world, area=tree.communities[2])  # street B
    on_grid = open_on(world, area=tree.grids[0], now=timezone.now() - dt.timedelta(days=30))
    orders_sweep()
    order_respond(
        actor=world.people["head_HS"], order_id=on_hs.pk, version=seen(on_hs), response="已部署整改"
    )

    def ids(client: Client, query: str = "") -> list[int]:
        response = client.get(f"{URL}?{query}")
        assert response.status_code == 200, response.content
        return [o["id"] for o in response.json()["items"]]

    sup = client_for(world.personas.supervisor)
    with django_assert_max_num_queries(8):
        assert ids(sup) == [on_grid.pk, on_b.pk, on_hs.pk, on_case.pk]
    assert ids(sup, "overdue=true") == [on_grid.pk]
    assert ids(sup, "state=open") == [on_grid.pk, on_b.pk, on_case.pk]
    assert ids(sup, "state=responded&state=closed") == [on_hs.pk]
    assert ids(sup, f"unit=department:{world.departments['UM'].pk}") == [on_case.pk]
    assert ids(sup, f"unit=area:{tree.streets[0].pk}") == [on_grid.pk]
    assert ids(sup, f"case={on_case.case_id}") == [on_case.pk]
    page = sup.get(f"{URL}?limit=2").json()
    assert [o["id"] for o in page["items"]] == [on_grid.pk, on_b.pk]
    assert ids(sup, f"limit=2&before={page['next_before']}") == [on_hs.pk, on_case.pk]

    assert ids(world.client("h_UM")) == [on_case.pk]
    assert ids(world.client("head_HS")) == [on_hs.pk]
    assert ids(client_for(world.personas.grid_worker)) == [on_grid.pk]
    assert ids(client_for(world.personas.community_staff)) == [on_grid.pk, on_case.pk]
    assert ids(client_for(world.personas.resident)) == []
    sup_b = client_for(person("sup_b", Role.SUPERVISOR, area=tree.streets[1]))
    assert ids(sup_b) == [on_b.pk]
    assert sup_b.get(f"{URL}/{on_case.pk}").status_code == 404
    detail = sup.get(f"{URL}/{on_grid.pk}").json()
    assert [e["kind"] for e in detail["events"]] == ["opened", "escalated"]


def test_admin_list_is_read_only(world, admin_client, tree):
    order = open_on(world, area=tree.grids[0])
    assert admin_client.get("/admin/supervision/supervisionorder/").status_code == 200
    page = admin_client.get(f"/admin/supervision/supervisionorder/{order.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert admin_client.get("/admin/supervision/supervisionorder/add/").status_code == 403


# --- Counts for assessment schemes -----------------------------------------------------------


def test_counts_for_a_unit_over_a_period(world, tree):
    um = world.departments["UM"]
    march = [MONDAY + dt.timedelta(days=d) for d in (0, 1, 2)]
    for at in march:
        open_on(world, case=dispatched_case(world), now=at)
    open_on(world, department=um, now=march[0])
    open_on(world, department=um, now=dt.datetime(2026, 4, 1, 9, 0, tzinfo=TZ))  # April
    open_on(world, area=tree.grids[0], now=march[0])
    open_on(world, area=tree.communities[0], now=march[0])
    orders_sweep(
        now=dt.datetime(2026, 3, 6, 18, 0, tzinfo=TZ)
    )  # all March orders but the Wednesday case's

    counts = order_counts_for_unit(
        unit_kind="department", unit_id=um.pk, start=dt.date(2026, 3, 1), end=dt.date(2026, 4, 1)
    )
    assert counts == {"opened": 4, "overdue": 3, "escalated": 3}
    assert order_counts_for_unit(
        unit_kind="department", unit_id=um.pk, start=dt.date(2026, 3, 3), end=dt.date(2026, 4, 2)
    ) == {"opened": 3, "overdue": 1, "escalated": 1}
    community_alone = order_counts_for_unit(
        unit_kind="area", unit_id=tree.communities[0].pk, start=MONDAY, end=march[2]
    )
    assert community_alone == {"opened": 1, "overdue": 1, "escalated": 1}
    street = order_counts_for_unit(
        unit_kind="area", unit_id=tree.streets[0].pk, start=MONDAY, end=march[2], subtree=True
    )
    assert street == {"opened": 2, "overdue": 2, "escalated": 2}
    for kwargs, field in (
        ({"unit_kind": "person", "unit_id": 1}, "unit_kind"),
        ({"unit_kind": "department", "unit_id": 999999}, "unit_id"),
        ({"unit_kind": "area", "unit_id": 999999}, "unit_id"),
    ):
        with pytest.raises(DomainError) as caught:
            order_counts_for_unit(**kwargs, start=MONDAY, end=march[2])
        assert caught.value.field == field
    with pytest.raises(DomainError) as caught:
        order_counts_for_unit(
            unit_kind="area", unit_id=tree.grids[0].pk, start=march[2], end=MONDAY
        )
    assert caught.value.field == "end"

    # The batched form the scorecards use gives the same counts, unit by unit.
    many = order_counts_for_units(
        departments=[um.pk],
        areas=[a.path for a in (tree.streets[0], tree.communities[0], tree.grids[0])],
        start=dt.date(2026, 3, 1),
        end=dt.date(2026, 4, 1),
    )
    assert many[f"dept:{um.pk}"] == counts
    for area in (tree.streets[0], tree.communities[0], tree.grids[0]):
        one = order_counts_for_unit(unit_kind="area", unit_id=area.pk, subtree=True,
                                    start=dt.date(2026, 3, 1), end=dt.date(2026, 4, 1))  # fmt: skip
        assert many.get(area.path, {"opened": 0, "overdue": 0, "escalated": 0}) == one


def test_wrong_state_is_a_conflict(world, tree):
    order = open_on(world, area=tree.grids[0])
    with pytest.raises(WrongState):
        order_close(
            actor=world.personas.supervisor, order_id=order.pk, version=seen(order), accept=True
        )
