"""Shared helpers for the case tests: a published taxonomy, departments, people and API calls.

The district tree and personas come from `tests/conftest.py`. `CaseWorld` adds what the case
workflow needs: three departments serving the whole district (one of them the command
centre), a handler and head for each, a district dispatcher, a hotline operator and a second
grid worker of grid A1-1 to verify.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

from django.test import Client
from PIL import Image

from gridlink.accounts.roles import Role
from tests.factories import DepartmentFactory, RoleAssignmentFactory, UserFactory
from tests.reference_data import ensure_reference_data

# A point inside grid A1-1 (370211001001001: lon 120.0–120.1, lat 35.8–35.9).
A11 = {"lat": 35.85, "lon": 120.05}
# An exposed-garbage sub-class: handled in working hours, no required attributes.
CATEGORY = "E0102"


@dataclass
class CaseWorld:
    tree: Any
    personas: Any
    departments: dict[str, Any] = field(default_factory=dict)
    people: dict[str, Any] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)

    def client(self, name: str) -> Client:
        if name not in self.clients:
            c = Client()
            user = self.people.get(name) or getattr(self.personas, name)
            c.force_login(user)
            self.clients[name] = c
        return self.clients[name]


def build_world(tree: Any, personas: Any) -> CaseWorld:
    # The shipped taxonomy (published) and the calendar are loaded once per test database
    # (tests/reference_data.py); this only reloads them after a transactional test's flush.
    ensure_reference_data()
    world = CaseWorld(tree=tree, personas=personas)
    for code, kind, name in (
        ("CC", "command_centre", "区指挥中心"),
        ("UM", "urban_management", "区城管局"),
        ("HS", "housing", "区住建局"),
        ("EC", "ecology", "区生态环境分局"),
    ):
        dept = DepartmentFactory(code=code, kind=kind, name_zh=name)
        dept.areas.add(tree.district)
        world.departments[code] = dept

    def person(username: str, role: str, **scope: Any) -> Any:
        user = UserFactory(username=username)
        RoleAssignmentFactory(user=user, role=role, **scope)
        world.people[username] = user
        return user

    for code in ("UM", "HS", "EC", "CC"):
        person(f"h_{code}", Role.DEPT_HANDLER, department=world.departments[code])
        person(f"head_{code}", Role.DEPT_HEAD, department=world.departments[code])
    person("district_disp", Role.DISPATCHER, area=tree.district)
    person("hotline", Role.HOTLINE_OPERATOR, area=tree.district)
    person("grid1b", Role.GRID_WORKER, area=tree.grids[0])
    person("comm_staff", Role.COMMUNITY_STAFF, area=tree.communities[0])
    return world


def png_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def post_json(client: Client, url: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def upload(client: Client, data: bytes | None = None, name: str = "p.png") -> str:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        "/api/v1/uploads", {"file": SimpleUploadedFile(name, data or png_bytes(), "image/png")}
    )
    assert response.status_code == 201, response.content
    return str(response.json()["key"])


def report(client: Client, **overrides: Any) -> Any:
    body: dict[str, Any] = {
        "channel": "resident_web",
        "category_code": CATEGORY,
        "description": "小区门口垃圾堆放三天无人清理，气味很大",
        **A11,
        "reporter_phone": "13800138000",
    }
    body.update(overrides)
    return post_json(client, "/api/v1/cases", body)


def act(client: Client, case: dict[str, Any], action: str, **inputs: Any) -> Any:
    """Take `action` stating the version last seen; returns the response."""
    return post_json(
        client,
        f"/api/v1/cases/{case['id']}/actions/{action}",
        {"version": case["version"], **inputs},
    )


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:800])
    return dict(response.json())
