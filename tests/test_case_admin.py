"""The back office shows cases read-only: no add, change or delete; the timeline inline."""

from __future__ import annotations

import pytest
from django.test import Client

from gridlink.cases.models import Case
from tests.cases_support import build_world, ok, report
from tests.factories import UserFactory


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


def test_superuser_sees_cases_read_only(world):
    created = ok(report(Client()), 201)
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    c = Client()
    c.force_login(admin_user)
    listing = c.get("/admin/cases/case/")
    assert listing.status_code == 200
    assert f"/admin/cases/case/{created['id']}/change/" in listing.content.decode()
    assert created["tracking_code"] not in listing.content.decode()  # the reporter's code
    page = c.get(f"/admin/cases/case/{created['id']}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="_save"' not in body  # view only
    assert "13800138000" not in body  # contact details stay out of the back office
    assert c.get("/admin/cases/case/add/").status_code == 403
    response = c.post(f"/admin/cases/case/{created['id']}/change/", {"title": "changed"})
    assert response.status_code == 403
    assert Case.objects.get(pk=created["id"]).title != "changed"
