"""Merge candidates (`GET /cases/{id}/duplicates` and the case page's merge panel) are
filtered by the viewer's visibility inside the query: no list of visible case ids is loaded
into memory, so no cap on such a list can drop a candidate (the API capped it at 10,000 ids,
newest first, and silently missed older duplicates)."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridlink.cases.models import Case
from gridlink.cases.services.intake import Report, case_create, duplicates_of
from gridlink.cases.workflow import State
from tests.cases_support import CATEGORY, build_world

TEXT = "小区门口垃圾堆放三天无人清理，气味很大"
# Either side of the boundary between street A (lon < 120.2) and street B, 70 m apart.
IN_A = {"lat": 35.85, "lon": 120.1996}
IN_B = {"lat": 35.85, "lon": 120.2003}


@pytest.fixture
def world(tree, personas, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_world(tree, personas)


def _report(world: Any, where: dict[str, float], n: int, **extra: Any) -> Case:
    report = Report(channel="hotline", category_code=CATEGORY, description=TEXT,
                    external_number=f"12345-{n}", **where, **extra)  # fmt: skip
    case = case_create(actor=world.people["hotline"], report=report).case
    Case.objects.filter(pk=case.pk).update(state=State.ACCEPTED)  # offered when older too
    return Case.objects.select_related("category").get(pk=case.pk)


def _ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [d["id"] for d in response.json()]


def test_only_visible_candidates_are_offered(world):
    older_a = _report(world, IN_A, 1)
    older_b = _report(world, IN_B, 2)
    anchor = _report(world, IN_A, 3)
    url = f"/api/v1/cases/{anchor.pk}/duplicates"
    assert _ids(world.client("dispatcher").get(url)) == [older_a.pk]  # street A only
    assert sorted(_ids(world.client("district_disp").get(url))) == [older_a.pk, older_b.pk]
    # The same rule for the service call behind the case page's merge panel.
    street_a = world.personas.dispatcher
    assert [c.pk for c in duplicates_of(anchor, visible_to=street_a)] == [older_a.pk]
    assert {c.pk for c in duplicates_of(anchor)} == {older_a.pk, older_b.pk}


def test_a_department_sees_candidates_through_its_tasks(world):
    """Visibility with the `Exists` on joint-handling tasks is part of the same query."""
    dup = _report(world, IN_B, 1)
    anchor = _report(world, IN_B, 2)
    housing = world.departments["HS"]
    handler = world.people["h_HS"]
    assert duplicates_of(anchor, visible_to=handler) == []
    dup.tasks.create(department=housing, is_lead=False, report_in_due_at=dup.created_at,
                     deadline_at=dup.created_at)  # fmt: skip
    assert [c.pk for c in duplicates_of(anchor, visible_to=handler)] == [dup.pk]


def test_no_list_of_visible_ids_is_loaded(world):
    dup = _report(world, IN_A, 1)
    anchor = _report(world, IN_A, 2)
    client = world.client("dispatcher")
    url = f"/api/v1/cases/{anchor.pk}/duplicates"
    with CaptureQueriesContext(connection) as captured:
        assert _ids(client.get(url)) == [dup.pk]
    bare_ids = re.compile(r'^SELECT\s+"cases_case"\."id"\s+FROM\s+"cases_case"', re.I)
    for query in captured.captured_queries:
        sql = query["sql"]
        assert not bare_ids.search(sql), sql
        assert not re.search(r"\bLIMIT\s+10000\b", sql), sql
    candidates = [q["sql"] for q in captured.captured_queries if '"lat" BETWEEN' in q["sql"]]
    assert len(candidates) == 1
    assert '"path"' in candidates[0]  # the visibility rule (the scope's area path) is in it


@pytest.mark.django_db
def test_an_old_duplicate_behind_ten_thousand_newer_cases_is_found(world):
    """The former cap: the newest 10,000 visible ids. With more visible cases than that, an
    older duplicate is still offered."""
    dup = _report(world, IN_A, 1)
    filler = []
    for _ in range(10_001):  # visible to the dispatcher, but closed: never candidates
        clone = Case.objects.get(pk=dup.pk)
        clone.pk = None
        clone.tracking_code = secrets.token_hex(6).upper()
        clone.state = State.CLOSED
        filler.append(clone)
    Case.objects.bulk_create(filler, batch_size=500)
    anchor = _report(world, IN_A, 2)
    url = f"/api/v1/cases/{anchor.pk}/duplicates"
    assert _ids(world.client("dispatcher").get(url)) == [dup.pk]
    page = world.client("district_disp").get(f"/cases/{anchor.pk}/")
    assert page.status_code == 200
    assert f'name="parent_case_id" value="{dup.pk}"' in page.content.decode()
