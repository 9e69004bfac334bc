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
    code = created["tracking_code"]
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
            data={"satisfaction": "satisfied", "solved": True},
            content_type="application/json",
        )
    )
    assert rated["state"] == "evaluated"
