"""Configuration through the API: accounts, role assignments and webhooks.

Who may: only an active superuser (like the admin's user pages); every other persona — the
district administrator role included — gets 403, and an anonymous caller 401. Every write
is audited; bad input is a 400 naming the field and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from gridlink.accounts.models import RoleAssignment, User
from gridlink.accounts.services import api_token_create
from gridlink.core.models import AuditEvent
from gridlink.outbox.models import WebhookEndpoint
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def send(client: Client, method: str, url: str, body: Any = None) -> Any:
    data = json.dumps(body) if body is not None else None
    return getattr(client, method)(url, data=data, content_type="application/json")


def fields(response: Any) -> set[str]:
    """The fields an error names (schema errors say `body.<field>`)."""
    return {str(e["field"]).rsplit(".", 1)[-1] for e in response.json()["errors"]}


@pytest.fixture
def root(tree):
    user = UserFactory(username="root", is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(user)
    return client


# (method, url, body) of every endpoint; {u} is a username, {r} a role id, {w} a webhook id.
ENDPOINTS = [
    ("get", "/api/v1/admin/users", None),
    ("post", "/api/v1/admin/users", {"username": "x1"}),
    ("get", "/api/v1/admin/users/{u}", None),
    ("patch", "/api/v1/admin/users/{u}", {"display_name": "x"}),
    ("post", "/api/v1/admin/users/{u}/roles", {"role": "grid_worker", "area": "370211"}),
    ("post", "/api/v1/admin/roles/{r}/end", {}),
    ("get", "/api/v1/admin/webhooks", None),
    ("post", "/api/v1/admin/webhooks", {"url": "https://example.org/h", "topics": ["case.*"]}),
    ("patch", "/api/v1/admin/webhooks/{w}", {"active": False}),
    ("delete", "/api/v1/admin/webhooks/{w}", None),
]


def _targets(personas) -> dict[str, Any]:
    assignment = RoleAssignment.objects.filter(user=personas.grid_worker).first()
    endpoint = WebhookEndpoint.objects.create(url="https://example.org/a", topics=["*"])
    return {"u": personas.grid_worker.username, "r": assignment.pk, "w": endpoint.pk}


@pytest.mark.parametrize(("method", "url", "body"), ENDPOINTS)
def test_only_a_superuser_may_configure(personas, method, url, body):
    ids = _targets(personas)
    url = url.format(**ids)
    before = (User.objects.count(), RoleAssignment.objects.count(), WebhookEndpoint.objects.count())
    assert send(Client(), method, url, body).status_code == 401
    for name in ("admin", "supervisor", "dispatcher", "grid_worker", "resident"):
        client = Client()
        client.force_login(getattr(personas, name))
        response = send(client, method, url, body)
        assert response.status_code == 403, (name, method, url, response.content)
        assert "superuser" in response.json()["detail"]
    after = (User.objects.count(), RoleAssignment.objects.count(), WebhookEndpoint.objects.count())
    assert after == before
    assert WebhookEndpoint.objects.get(pk=ids["w"]).active is True


def test_a_superuser_token_scripts_the_set_up(tree):
    user = UserFactory(username="robot", is_superuser=True)
    _, token = api_token_create(actor=None, user=user, name="set-up script")
    client = Client(headers={"Authorization": f"Bearer {token}"})
    created = send(client, "post", "/api/v1/admin/users", {"username": "wang", "phone": ""})
    assert created.status_code == 201, created.content
    granted = send(
        client, "post", "/api/v1/admin/users/wang/roles", {"role": "grid_worker", "area": "370211"}
    )
    assert granted.status_code == 201, granted.content
    assert AuditEvent.objects.filter(action="role.granted", actor_id=user.pk).count() == 1


def test_accounts_create_list_change(root):
    created = send(
        root,
        "post",
        "/api/v1/admin/users",
        {"username": "li.na", "display_name": "李娜", "phone": "13800138000", "password": None},
    )
    assert created.status_code == 201, created.content
    assert created.json()["roles"] == []
    assert not User.objects.get(username="li.na").has_usable_password()
    user = User.objects.get(username="li.na")
    assert AuditEvent.objects.filter(action="user.created", target_id=str(user.pk)).count() == 1

    listed = send(root, "get", "/api/v1/admin/users?limit=1")
    assert listed.status_code == 200
    assert len(listed.json()["items"]) == 1 and listed.json()["next_after"]

    changed = send(root, "patch", "/api/v1/admin/users/li.na", {"is_active": False})
    assert changed.status_code == 200 and changed.json()["is_active"] is False
    event = AuditEvent.objects.filter(action="user.changed", target_id=str(user.pk)).get()
    assert event.data["security_fields"] == ["is_active"]
    assert send(root, "get", "/api/v1/admin/users/nobody").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "root"}, "username"),  # taken
        ({"username": "bad name!"}, "username"),
        ({"username": "ok1", "phone": "12345"}, "phone"),
        ({"username": "ok2", "email": "not-an-address"}, "email"),
        ({"username": "ok3", "password": "123"}, "password"),
        ({"username": ""}, "username"),
    ],
)
def test_bad_accounts_name_the_field_and_write_nothing(root, body, field):
    before = User.objects.count(), AuditEvent.objects.count()
    response = send(root, "post", "/api/v1/admin/users", body)
    assert response.status_code in (400, 422), response.content
    assert field in fields(response)
    assert (User.objects.count(), AuditEvent.objects.count()) == before


def test_roles_granted_and_ended_with_history(root, personas):
    UserFactory(username="zhao")
    granted = send(
        root, "post", "/api/v1/admin/users/zhao/roles", {"role": "grid_worker", "area": "370211001"}
    )
    assert granted.status_code == 201, granted.content
    role = granted.json()
    assert role["active"] is True and role["area"] == "370211001"
    dept = send(
        root,
        "post",
        "/api/v1/admin/users/zhao/roles",
        {"role": "dept_handler", "department": personas.department.code},
    )
    assert dept.status_code == 201, dept.content
    ended = send(root, "post", f"/api/v1/admin/roles/{role['id']}/end", {})
    assert ended.status_code == 200 and ended.json()["valid_to"] is not None
    detail = send(root, "get", "/api/v1/admin/users/zhao").json()
    assert len(detail["roles"]) == 2  # the ended role stays on record
    actions = list(
        AuditEvent.objects.filter(target_type="role_assignment").values_list("action", flat=True)
    )
    assert sorted(actions) == ["role.ended", "role.granted", "role.granted"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "emperor", "area": "370211"}, "role"),
        ({"role": "grid_worker"}, "area"),
        ({"role": "grid_worker", "area": "999999"}, "area"),
        ({"role": "dept_handler", "area": "370211"}, "department"),
        ({"role": "dept_handler", "department": "NOPE"}, "department"),
        ({"role": "grid_worker", "area": "370211", "department": "CG-B"}, "area"),
        (
            {"role": "grid_worker", "area": "370211", "valid_from": "2027-01-02",
             "valid_to": "2027-01-01"},
            "valid_to",
        ),
        ({"role": "grid_worker", "area": "370211", "valid_from": "2027-13-01"}, "valid_from"),
    ],
)  # fmt: skip
def test_bad_role_grants_name_the_field_and_write_nothing(root, personas, body, field):
    UserFactory(username="qian")
    before = RoleAssignment.objects.count(), AuditEvent.objects.count()
    response = send(root, "post", "/api/v1/admin/users/qian/roles", body)
    assert response.status_code in (400, 422), response.content
    assert field in fields(response), response.json()
    assert (RoleAssignment.objects.count(), AuditEvent.objects.count()) == before


def test_the_same_role_twice_is_refused(root):
    UserFactory(username="sun")
    body = {"role": "grid_worker", "area": "370211"}
    assert send(root, "post", "/api/v1/admin/users/sun/roles", body).status_code == 201
    again = send(root, "post", "/api/v1/admin/users/sun/roles", body)
    assert again.status_code == 400 and fields(again) == {"role"}
    assert RoleAssignment.objects.filter(user__username="sun").count() == 1
    # Ended today, it can be granted again from tomorrow: history, not a duplicate.
    role_id = RoleAssignment.objects.get(user__username="sun").pk
    assert send(root, "post", f"/api/v1/admin/roles/{role_id}/end", {}).status_code == 200
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    later = send(root, "post", "/api/v1/admin/users/sun/roles", {**body, "valid_from": tomorrow})
    assert later.status_code == 201, later.content


def test_webhooks_secret_shown_once_changes_audited(root):
    created = send(
        root,
        "post",
        "/api/v1/admin/webhooks",
        {"url": "https://hooks.example.org/in", "topics": ["case.*"], "description": "区平台"},
    )
    assert created.status_code == 201, created.content
    hook = created.json()
    assert len(hook["secret"]) >= 16
    listed = send(root, "get", "/api/v1/admin/webhooks").json()
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "secret" not in listed[0] and hook["secret"] not in json.dumps(listed)
    paused = send(root, "patch", f"/api/v1/admin/webhooks/{hook['id']}", {"active": False})
    assert paused.status_code == 200 and paused.json()["active"] is False
    removed = send(root, "delete", f"/api/v1/admin/webhooks/{hook['id']}")
    assert removed.status_code == 204
    assert not WebhookEndpoint.objects.exists()
    actions = set(
        AuditEvent.objects.filter(target_type="webhook_endpoint").values_list("action", flat=True)
    )
    assert actions == {
        "webhook.endpoint_created",
        "webhook.endpoint_changed",
        "webhook.endpoint_removed",
    }


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("post", {"url": "ftp://example.org/x", "topics": ["case.*"]}, "url"),
        ("post", {"url": "https://user:pw@example.org/x", "topics": ["case.*"]}, "url"),
        ("post", {"url": "https://example.org/x", "topics": ["Not A Topic"]}, "topics"),
        ("post", {"url": "https://example.org/x", "topics": []}, "topics"),
        ("post", {"url": "https://example.org/x", "topics": ["*"], "secret": "short"}, "secret"),
        ("patch", {"topics": ["Bad Topic"]}, "topics"),
    ],
)
def test_bad_webhooks_name_the_field_and_write_nothing(root, method, body, field):
    existing = WebhookEndpoint.objects.create(url="https://example.org/a", topics=["*"])
    url = "/api/v1/admin/webhooks" + (f"/{existing.pk}" if method == "patch" else "")
    before = WebhookEndpoint.objects.count(), AuditEvent.objects.count()
    response = send(root, method, url, body)
    assert response.status_code in (400, 422), response.content
    assert field in fields(response), response.json()
    assert (WebhookEndpoint.objects.count(), AuditEvent.objects.count()) == before
    existing.refresh_from_db()
    assert existing.topics == ["*"]


def test_the_openapi_document_covers_the_configuration_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for _, url, _ in ENDPOINTS:
        template = url.replace("{u}", "{username}").replace("{r}", "{assignment_id}")
        template = template.replace("{w}", "{endpoint_id}")
        assert template in paths, template
