"""Staff forms that hit a rate limit answer 429 with the true `Retry-After` (the form error
stays in the page), like the public report and tracking pages; nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from gridlink.cases.models import Case, CasePhoto
from gridlink.cases.services.intake import Report, case_create
from gridlink.cases.services.transitions import case_transition
from gridlink.cases.workflow import Action
from tests.cases_support import A11, CATEGORY, build_world, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tree: Any, personas: Any) -> Any:
    return build_world(tree, personas)


def english(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def photo() -> SimpleUploadedFile:
    return SimpleUploadedFile("p.png", png_bytes(), "image/png")


def patrol_data(**overrides: Any) -> dict[str, Any]:
    return {"category_code": CATEGORY, "description": "巡查发现垃圾堆放，气味很大",
            "lat": A11["lat"], "lon": A11["lon"], **overrides}  # fmt: skip


def refused_429(response: Any) -> None:
    assert response.status_code == 429, response.content.decode()[:2000]
    assert 3000 < int(response["Retry-After"]) <= 3600  # the window's true remainder
    assert "Too many requests from this client" in response.content.decode()


def test_a_patrol_report_over_the_staff_limit_is_a_429(world, settings):
    settings.GRIDLINK_STAFF_INTAKE_RATE_PER_HOUR = 1
    worker = english(world.personas.grid_worker)
    assert worker.post("/cases/patrol/", patrol_data()).status_code == 302
    refused = worker.post("/cases/patrol/", patrol_data(description="路灯不亮，晚上很黑"))
    refused_429(refused)
    assert refused.context["form"].non_field_errors()
    assert Case.objects.count() == 1


def test_patrol_photos_over_the_upload_limit_are_a_429(world, settings):
    settings.GRIDLINK_UPLOAD_RATE_PER_HOUR = 1
    worker = english(world.personas.grid_worker)
    refused_429(worker.post("/cases/patrol/", patrol_data(photos=[photo(), photo()])))
    assert not Case.objects.exists()


def test_evidence_over_the_upload_limit_on_a_case_action_is_a_429(world, settings):
    created = case_create(
        actor=world.personas.grid_worker,
        report=Report(channel="grid_patrol", category_code=CATEGORY,
                      description="小区门口垃圾堆放三天无人清理", **A11),
    ).case  # fmt: skip
    um = world.departments["UM"]
    for action, inputs in (
        (Action.ACCEPT, {}),
        (Action.FILE, {}),
        (Action.DISPATCH, {"unit_id": f"department:{um.pk}"}),
        (Action.SIGN_FOR, {}),
        (Action.START_HANDLING, {}),
    ):
        case_transition(actor=None, case_id=created.pk, action=action, version=None,
                        inputs=inputs, system=True)  # fmt: skip
    case = Case.objects.get(pk=created.pk)
    settings.GRIDLINK_UPLOAD_RATE_PER_HOUR = 1
    handler = english(world.people["h_UM"])
    url = f"/cases/{case.pk}/act/submit_result/"
    data = {"version": case.version, "result": "已清理"}
    refused = handler.post(url, {**data, "evidence": [photo(), photo()]})
    refused_429(refused)
    assert Case.objects.get(pk=case.pk).state == case.state
    assert not CasePhoto.objects.filter(case=case, stage="result").exists()
