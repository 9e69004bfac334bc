"""A first pass through the case API: report, file, dispatch, sign, handle, verify, close, rate."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from tests.cases_support import act, build_world, ok, report, upload


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


def test_simple_loop(world):
    anon = Client()
    created = ok(report(anon), 201)
    assert created["state"] == "reported"
    code, rating_key = created["tracking_code"], created["rating_key"]
    disp = world.client("district_disp")
    case = ok(disp.get(f"/api/v1/cases/{created['id']}"))
    assert "accept" in case["allowed_actions"]
    case = ok(act(disp, case, "accept"))
    case = ok(act(disp, case, "file"))
    assert case["level"] == "grid", case["routing_reason"]
    case = ok(act(disp, case, "dispatch", unit_id=f"department:{world.departments['UM'].pk}"))
    assert case["deadline_at"]
    um = world.client("h_UM")
    case = ok(um.get(f"/api/v1/cases/{case['id']}"))
    case = ok(act(um, case, "sign_for"))
    case = ok(act(um, case, "start_handling"))
    key = upload(um)
    case = ok(act(um, case, "submit_result", evidence=[key], result="已清理"))
    case = ok(act(disp, case, "send_for_verification", verifier_id=world.personas.grid_worker.pk))
    gw = world.client("grid_worker")
    case = ok(gw.get(f"/api/v1/cases/{case['id']}"))
    case = ok(act(gw, case, "verify_pass"))
    case = ok(act(disp, case, "close"))
    public = ok(anon.get(f"/api/v1/track/{code}"))
    assert public["can_rate"]
    rated = ok(
        anon.post(
            f"/api/v1/track/{code}/feedback",
            data={"satisfaction": "satisfied", "solved": True, "rating_key": rating_key},
            content_type="application/json",
        )
    )
    assert rated["state"] == "evaluated"


def test_hotline_case_gets_a_callback_that_the_operator_records(world):
    from gridlink.cases.models import Case
    from gridlink.cases.services.transitions import case_transition

    hotline = world.client("hotline")
    created = ok(
        report(hotline, channel="hotline", external_number="12345-0001", reporter_name="王女士"),
        201,
    )
    case = Case.objects.get(pk=created["id"])
    disp, um, gw = (world.people["district_disp"], world.people["h_UM"],
                    world.personas.grid_worker)  # fmt: skip
    steps = [
        (disp, "accept", {}),
        (disp, "file", {}),
        (disp, "dispatch", {"unit_id": f"department:{world.departments['UM'].pk}"}),
        (um, "sign_for", {}),
        (um, "start_handling", {}),
        (um, "submit_result", {"evidence": [upload(world.client("h_UM"))], "result": "已清理"}),
        (disp, "send_for_verification", {"verifier_id": gw.pk}),
        (gw, "verify_pass", {}),
        (disp, "close", {}),
    ]
    for actor, action, inputs in steps:
        case = case_transition(actor=actor, case_id=case.pk, action=action,
                               version=case.version, inputs=inputs)  # fmt: skip
    assert case.callback_due_at is not None and case.callback_due_at > case.closed_at
    due = ok(hotline.get("/api/v1/cases?callback_due=true"))
    assert [c["id"] for c in due["items"]] == [case.pk]
    detail = ok(hotline.get(f"/api/v1/cases/{case.pk}"))
    assert "rate" in detail["allowed_actions"]
    ok(act(hotline, detail, "rate", satisfaction="basically_satisfied", solved=True))
    assert ok(hotline.get("/api/v1/cases?callback_due=true"))["items"] == []
