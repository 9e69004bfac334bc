"""End-to-end through the HTTP API only: a joint-handling case from report to supervision,
a grid worker's patrol case handled on the spot, and a suspension that stops the clock.

Every step is an HTTP request made as the person who would take it (`force_login`; the
anonymous reporter acts by tracking code). Time is frozen and moved with `time_machine`, on
working days of March 2026 (no holidays), in Asia/Shanghai.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import translation

from gridlink.accounts.models import RoleAssignment
from gridlink.accounts.roles import Role
from gridlink.outbox.models import OutboxEntry
from tests.cases_support import act, build_world, ok, post_json, report, upload

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# Monday 2 March 2026, 09:00 in Shanghai: a working morning.
MONDAY_9 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


def refused(response: Any, status: int, code: str) -> None:
    """The request was refused with `status` and the first error's `code`."""
    assert response.status_code == status, (response.status_code, response.content[:800])
    assert response.json()["errors"][0]["code"] == code, response.json()


def fetch(client: Client, case: dict[str, Any]) -> dict[str, Any]:
    response = client.get(f"/api/v1/cases/{case['id']}")
    body = ok(response)
    assert response["ETag"] == f'"{body["id"]}-{body["version"]}"'
    return body


def task_step(client: Client, case: dict[str, Any], dept_id: int, step: str, **body: Any) -> Any:
    task = next(t for t in case["tasks"] if t["department_id"] == dept_id)
    return post_json(
        client, f"/api/v1/tasks/{task['id']}/{step}", {"version": case["version"], **body}
    )


def feedback(
    anon: Client, code: str, satisfaction: str, solved: bool, rating_key: str
) -> dict[str, Any]:
    return ok(
        post_json(
            anon,
            f"/api/v1/track/{code}/feedback",
            {"satisfaction": satisfaction, "solved": solved, "rating_key": rating_key},
        )
    )


# The whole joint-handling story, as the timeline should tell it (event kinds, in order).
JOINT_TIMELINE = [
    "reported",
    "accept",
    "file",
    "dispatch",
    "return_not_our_duty",
    "whistle",
    "task_reported_in",  # HS
    "task_reported_in",  # UM
    "task_reported_in",  # EC, late
    "sign_for",
    "start_handling",
    "request_extension",
    "endorse_extension",
    "approve_extension",
    "task_done",  # UM
    "task_done",  # EC
    "submit_result",
    "send_for_verification",
    "verify_fail",
    "start_handling",
    "submit_result",
    "send_for_verification",
    "verify_pass",
    "close",
    "task_rated",
    "task_rated",
    "task_rated",
    "rate",
    "reopen",
    "start_handling",
    "submit_result",
    "send_for_verification",
    "verify_pass",
    "close",
    "rate",
    "reopen",
    "supervise",
]
INTERNAL = {
    "return_not_our_duty",
    "request_extension",
    "endorse_extension",
    "verify_fail",
    "send_for_verification",
    "task_reported_in",
    "task_done",
    "task_rated",
    "supervise",
}


def test_joint_case_from_report_to_supervision(world):
    depts = world.departments
    um, hs, ec = depts["UM"].pk, depts["HS"].pk, depts["EC"].pk
    # HS's handler also walks grid A1-1, so the handler-is-not-the-verifier rule is what
    # stops them verifying their own work, not a missing role.
    RoleAssignment.objects.create(
        user=world.people["h_HS"],
        role=Role.GRID_WORKER,
        area=world.tree.grids[0],
        valid_from=dt.date(2020, 1, 1),
    )
    grid_worker = world.personas.grid_worker

    with time_machine.travel(MONDAY_9, tick=False) as clock:
        anon = Client()
        created = ok(report(anon), 201)
        code, rating_key = created["tracking_code"], created["rating_key"]
        assert created["version"] == 1

        # 1–3: accept, file, dispatch to urban management, which returns it.
        disp = world.client("district_disp")
        case = fetch(disp, created)
        case = ok(act(disp, case, "accept"))
        case = ok(act(disp, case, "file"))
        case = ok(act(disp, case, "dispatch", unit_id=f"department:{um}"))
        h_um = world.client("h_UM")
        refused(act(h_um, fetch(h_um, case), "return_not_our_duty"), 400, "required")
        case = ok(act(h_um, fetch(h_um, case), "return_not_our_duty", reason="非本单位职责"))
        assert case["state"] == "returned"
        assert case["return_count"] == 1

        # Whistle: three departments, housing leads.
        case = fetch(disp, case)
        assert "whistle" in case["allowed_actions"]
        case = ok(act(disp, case, "whistle", department_ids=[um, hs, ec], lead_department_id=hs))
        assert case["state"] == "dispatched"
        assert case["whistled"] is True
        assert case["unit_department_id"] == hs
        assert {t["department_id"]: t["is_lead"] for t in case["tasks"]} == {
            um: False,
            hs: True,
            ec: False,
        }
        assert {t["state"] for t in case["tasks"]} == {"summoned"}

        # Report in: HS and UM within 30 minutes, EC after.
        h_hs, h_ec = world.client("h_HS"), world.client("h_EC")
        clock.shift(dt.timedelta(minutes=10))
        case = ok(task_step(h_hs, fetch(h_hs, case), hs, "report-in"))
        case = ok(task_step(h_um, fetch(h_um, case), um, "report-in"))
        refused(task_step(h_um, fetch(h_um, case), um, "report-in"), 400, "already")
        clock.shift(dt.timedelta(minutes=21))  # 31 minutes after the whistle
        case = ok(task_step(h_ec, fetch(h_ec, case), ec, "report-in"))
        late = {t["department_id"]: t["reported_in_late"] for t in case["tasks"]}
        assert late == {um: False, hs: False, ec: True}

        # The lead signs for the case, starts, and asks for its one extension.
        case = fetch(h_hs, case)
        assert "sign_for" in case["allowed_actions"]
        case = ok(act(h_hs, case, "sign_for"))
        case = ok(act(h_hs, case, "start_handling"))
        assert case["state"] == "in_progress"
        deadline_before = dt.datetime.fromisoformat(case["deadline_at"])
        # Signed at 09:31: 4 working hours, lunch 12:00–13:30 off → 15:01.
        assert deadline_before == dt.datetime(2026, 3, 2, 15, 1, tzinfo=SHANGHAI)
        case = ok(act(h_hs, case, "request_extension", reason="需协调产权单位", duration="2d"))
        assert case["state"] == "extension_requested"
        # Two-step approval: the housing bureau's head endorses, then the dispatcher decides.
        head_hs = world.client("head_HS")
        case = ok(act(head_hs, fetch(head_hs, case), "endorse_extension"))
        assert case["state"] == "extension_endorsed"
        case = fetch(disp, case)
        case = ok(act(disp, case, "approve_extension"))
        assert case["state"] == "extended"
        assert case["extension_count"] == 1
        extended = dt.datetime.fromisoformat(case["deadline_at"])
        assert extended > deadline_before
        # Two more working days, the deadline's own day not counted: Wednesday 17:30.
        assert extended == dt.datetime(2026, 3, 4, 17, 30, tzinfo=SHANGHAI)
        case = fetch(h_hs, case)
        assert "request_extension" not in case["allowed_actions"]
        assert act(h_hs, case, "request_extension", reason="再延", duration="1d").status_code in (
            400,
            409,
        )

        # 事不完、人不撤: the lead cannot submit while co-tasks are open.
        key = upload(h_hs)
        refused(
            act(h_hs, case, "submit_result", evidence=[key], result="已修复"), 400, "tasks_open"
        )
        refused(task_step(h_um, fetch(h_um, case), um, "complete"), 400, "required")
        case = ok(task_step(h_um, fetch(h_um, case), um, "complete", result="清运完毕"))
        case = ok(task_step(h_ec, fetch(h_ec, case), ec, "complete", result="已检测"))
        case = fetch(h_hs, case)
        case = ok(act(h_hs, case, "submit_result", evidence=[key], result="已修复"))
        assert case["state"] == "handled"
        assert {t["state"] for t in case["tasks"]} == {"done"}

        # Verification: not by the handler; the grid worker fails it once.
        case = fetch(disp, case)
        refused(
            act(disp, case, "send_for_verification", verifier_id=world.people["h_HS"].pk),
            400,
            "verifier_is_handler",
        )
        case = ok(act(disp, case, "send_for_verification", verifier_id=grid_worker.pk))
        assert case["state"] == "verifying"
        case = fetch(h_hs, case)
        assert "verify_pass" not in case["allowed_actions"]
        refused(act(h_hs, case, "verify_pass"), 403, "verifier_is_handler")
        gw = world.client("grid_worker")
        case = fetch(gw, case)
        assert {"verify_pass", "verify_fail"} <= set(case["allowed_actions"])
        case = ok(act(gw, case, "verify_fail", reason="现场仍有残留"))
        assert case["state"] == "rework"
        assert case["verify_fail_count"] == 1

        # Rework: start again (still no second extension), resubmit, verify, close.
        case = fetch(h_hs, case)
        case = ok(act(h_hs, case, "start_handling"))
        assert "request_extension" not in case["allowed_actions"]
        refused(
            act(h_hs, case, "request_extension", reason="再延", duration="1d"),
            400,
            "extension_limit",
        )
        case = ok(act(h_hs, case, "submit_result", evidence=[upload(h_hs)], result="返工完成"))
        case = ok(act(disp, fetch(disp, case), "send_for_verification", verifier_id=grid_worker.pk))
        refused(act(h_hs, fetch(h_hs, case), "verify_pass"), 403, "verifier_is_handler")
        case = ok(act(gw, fetch(gw, case), "verify_pass"))
        assert case["state"] == "verified"
        case = ok(act(disp, fetch(disp, case), "close"))
        assert case["state"] == "closed"
        assert case["closed_at"]

        # The whistling centre rates each department's participation.
        for dept_id, rating in ((um, 5), (hs, 4), (ec, 3)):
            case = ok(task_step(disp, case, dept_id, "rate", rating=rating))
        assert {t["department_id"]: t["rating"] for t in case["tasks"]} == {um: 5, hs: 4, ec: 3}
        refused(task_step(h_hs, fetch(h_hs, case), hs, "rate", rating=5), 403, "forbidden")

        # The reporter is dissatisfied: redo by the same unit.
        assert ok(anon.get(f"/api/v1/track/{code}"))["can_rate"] is True
        public = feedback(anon, code, "dissatisfied", False, rating_key)
        assert public["state"] == "reopened"
        case = fetch(disp, case)
        assert case["state"] == "reopened"
        assert case["unit_department_id"] == hs
        assert case["level"] == "district_department"
        assert case["dissatisfied_count"] == 1
        assert case["supervised"] is False

        # Redo: handle, verify, close again (the clock moved on a working day).
        clock.shift(dt.timedelta(days=1))
        world.clients.clear()  # sessions last 8 hours
        h_hs, disp, gw = (
            world.client("h_HS"),
            world.client("district_disp"),
            world.client("grid_worker"),
        )
        case = fetch(h_hs, case)
        assert "start_handling" in case["allowed_actions"]
        case = ok(act(h_hs, case, "start_handling"))
        assert "request_extension" not in case["allowed_actions"]
        case = ok(act(h_hs, case, "submit_result", evidence=[upload(h_hs)], result="重办完成"))
        case = ok(act(disp, fetch(disp, case), "send_for_verification", verifier_id=grid_worker.pk))
        case = ok(act(gw, fetch(gw, case), "verify_pass"))
        case = ok(act(disp, fetch(disp, case), "close"))

        # Dissatisfied again: reopened and under supervision.
        public = feedback(anon, code, "dissatisfied", False, rating_key)
        assert public["state"] == "reopened"
        case = fetch(disp, case)

    assert case["state"] == "reopened"
    assert case["supervised"] is True
    assert case["dissatisfied_count"] == 2
    assert case["unit_department_id"] == hs

    # The staff timeline: every step, in order, each with the role that took it.
    events = case["events"]
    kinds = [e["kind"] for e in events]
    assert kinds == JOINT_TIMELINE
    for e in events:
        assert e["actor_role"], e
    roles = {(e["kind"], e["actor_role"]) for e in events}
    assert ("reopen", "system") in roles
    assert ("supervise", "system") in roles
    assert ("rate", Role.RESIDENT) in roles
    assert ("reported", Role.RESIDENT) in roles
    assert ("whistle", Role.DISPATCHER) in roles
    assert ("verify_fail", Role.GRID_WORKER) in roles
    assert [e["kind"] for e in events if not e["public"]] == [
        k for k in JOINT_TIMELINE if k in INTERNAL
    ]
    supervise = next(e for e in events if e["kind"] == "supervise")
    assert supervise["reason"]
    late_events = [e for e in events if e["kind"] == "task_reported_in" and e["data"]["late"]]
    assert len(late_events) == 1

    # One version per event: the case is at version N after N events, and the outbox entry
    # of each event carries versions 1, 2, …, N in order.
    assert case["version"] == len(events)
    entries = [
        e for e in OutboxEntry.objects.order_by("id") if e.payload.get("case_id") == case["id"]
    ]
    assert [e.topic for e in entries] == [f"case.{k}" for k in JOINT_TIMELINE]
    assert [e.payload["version"] for e in entries] == list(range(1, len(events) + 1))

    # The public timeline has the public events only: no return, extension request,
    # failed verification or other internal step.
    tracked = ok(Client().get(f"/api/v1/track/{code}"))
    public_kinds = [e["kind"] for e in tracked["timeline"]]
    assert public_kinds == [k for k in JOINT_TIMELINE if k not in INTERNAL]
    assert not INTERNAL & set(public_kinds)
    assert tracked["state"] == "reopened"
    assert tracked["can_rate"] is False
    assert "supervised" not in tracked

    # The supervision flag shows in the staff list filter.
    world.clients.clear()  # the sessions were opened in frozen time
    listed = ok(world.client("district_disp").get("/api/v1/cases?supervised=true"))
    assert [c["id"] for c in listed["items"]] == [created["id"]]
    assert listed["items"][0]["tracking_code"] is None  # staff never see the reporter's code


def test_patrol_report_handled_on_the_spot_and_verified_by_another_grid_worker(world):
    with time_machine.travel(MONDAY_9, tick=False):
        gw = world.client("grid_worker")
        created = ok(report(gw, channel="grid_patrol", reporter_phone=""), 201)
        assert created["state"] == "reported"
        case = fetch(gw, created)
        assert {"file_directly", "handle_on_the_spot"} <= set(case["allowed_actions"])
        case = ok(act(gw, case, "file_directly"))
        assert case["state"] == "filed"
        refused(act(gw, case, "handle_on_the_spot"), 400, "required")
        case = ok(act(gw, case, "handle_on_the_spot", evidence=[upload(gw)], result="已清理"))
        assert case["state"] == "handled"
        assert case["level"] == "grid"
        assert [p["stage"] for p in case["photos"]] == ["result"]

        disp = world.client("district_disp")
        case = fetch(disp, case)
        refused(
            act(disp, case, "send_for_verification", verifier_id=world.personas.grid_worker.pk),
            400,
            "verifier_is_handler",
        )
        other = world.people["grid1b"]
        case = ok(act(disp, case, "send_for_verification", verifier_id=other.pk))
        case = fetch(gw, case)
        assert "verify_pass" not in case["allowed_actions"]
        refused(act(gw, case, "verify_pass"), 403, "verifier_is_handler")
        gw_b = world.client("grid1b")
        case = ok(act(gw_b, fetch(gw_b, case), "verify_pass"))
        assert case["state"] == "verified"
        case = ok(act(disp, fetch(disp, case), "close"))
        assert case["state"] == "closed"

    kinds = [e["kind"] for e in case["events"]]
    assert kinds == [
        "reported",
        "file_directly",
        "handle_on_the_spot",
        "send_for_verification",
        "verify_pass",
        "close",
    ]
    roles = [e["actor_role"] for e in case["events"]]
    assert roles == [
        Role.GRID_WORKER,
        Role.GRID_WORKER,
        Role.GRID_WORKER,
        Role.DISPATCHER,
        Role.GRID_WORKER,
        Role.DISPATCHER,
    ]
    assert case["version"] == len(kinds)


def test_suspension_stops_the_deadline_clock(world):
    um = world.departments["UM"].pk
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        anon = Client()
        created = ok(report(anon), 201)
        disp = world.client("district_disp")
        case = ok(act(disp, fetch(disp, created), "accept"))
        case = ok(act(disp, case, "file"))
        case = ok(act(disp, case, "dispatch", unit_id=f"department:{um}"))
        h_um = world.client("h_UM")
        case = ok(act(h_um, fetch(h_um, case), "sign_for"))
        case = ok(act(h_um, case, "start_handling"))
        # Exposed garbage: 4 working hours from 09:00 → 14:30 (lunch 12:00–13:30 off).
        original = dt.datetime.fromisoformat(case["deadline_at"])
        assert original == dt.datetime(2026, 3, 2, 14, 30, tzinfo=SHANGHAI)

        clock.shift(dt.timedelta(hours=1))  # Monday 10:00
        refused(act(h_um, case, "request_suspension"), 400, "required")
        case = ok(act(h_um, case, "request_suspension", reason="需等待管线迁改"))
        assert case["state"] == "suspension_requested"
        head_um = world.client("head_UM")
        case = ok(act(head_um, fetch(head_um, case), "endorse_suspension"))
        case = ok(act(disp, fetch(disp, case), "approve_suspension"))
        assert case["state"] == "suspended"
        assert "resume" in case["allowed_actions"]

        # Two working days later (Wednesday 10:00): 15 working hours were suspended.
        clock.shift(dt.timedelta(days=2))
        world.clients.clear()  # sessions last 8 hours
        disp = world.client("district_disp")
        case = ok(act(disp, fetch(disp, case), "resume"))
        assert case["state"] == "in_progress"

    resumed = dt.datetime.fromisoformat(case["deadline_at"])
    # Monday 14:30 + 15 working hours: Mon 3 h, Tue 7.5 h, Wed 4.5 h → Wednesday 14:30.
    assert resumed == dt.datetime(2026, 3, 4, 14, 30, tzinfo=SHANGHAI)
    assert resumed > original
    assert [e["kind"] for e in case["events"]][-4:] == [
        "request_suspension",
        "endorse_suspension",
        "approve_suspension",
        "resume",
    ]


def test_staff_timeline_names_who_took_each_step(world):
    """SPEC §3 "Timeline": every event records its actor. Staff reading a case see who took
    each step, public events included; only the resident's tracking view leaves names out."""
    with time_machine.travel(MONDAY_9, tick=False):
        created = ok(report(Client()), 201)
        disp = world.client("district_disp")
        case = ok(act(disp, fetch(disp, created), "accept"))
        case = ok(act(disp, case, "file"))
        case = ok(act(disp, case, "dispatch", unit_id=f"department:{world.departments['UM'].pk}"))
        h_um = world.client("h_UM")
        case = ok(act(h_um, fetch(h_um, case), "return_not_our_duty", reason="非本单位职责"))
        case = fetch(disp, case)
        public = ok(Client().get(f"/api/v1/track/{created['tracking_code']}"))

    actors = [(e["kind"], e["public"], e["actor"]) for e in case["events"]]
    assert actors == [
        ("reported", True, ""),  # anonymous reporter
        ("accept", True, "district_disp"),
        ("file", True, "district_disp"),
        ("dispatch", True, "district_disp"),
        ("return_not_our_duty", False, "h_UM"),
    ]
    assert all("actor" not in e for e in public["timeline"])
