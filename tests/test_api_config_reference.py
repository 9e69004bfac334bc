"""Configuration through the API: routing rules, taxonomy drafts and publishing, and the
working calendar (`/api/v1/admin/…`).

Who may: only an active superuser, as for accounts and webhooks (tests/test_api_config.py);
every other persona gets 403, an anonymous caller 401, and nothing is written. Every write
is audited; bad input — unknown codes, rules the model refuses, hostile values — is a 4xx
naming the field and writes nothing.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridlink.accounts.roles import Role
from gridlink.cases.models import Case, RoutingRule, TaxonomyVersion
from gridlink.cases.routing import route_for
from gridlink.cases.services import SHIPPED_TAXONOMY
from gridlink.core.models import AuditEvent, CalendarDay
from gridlink.core.worktime import add_working_days, current_calendar
from tests.cases_support import CATEGORY, act, build_world, ok, report
from tests.factories import DepartmentFactory, RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db

RULES = "/api/v1/admin/routing/rules"
VERSIONS = "/api/v1/admin/taxonomy/versions"
DAYS = "/api/v1/admin/calendar/days"


def send(client: Client, method: str, url: str, body: Any = None) -> Any:
    data = json.dumps(body) if body is not None else None
    return getattr(client, method)(url, data=data, content_type="application/json")


def fields(response: Any) -> set[str]:
    """The fields an error names (schema errors say `body.<field>` or `path.<field>`)."""
    return {str(e["field"]).rsplit(".", 1)[-1] for e in response.json()["errors"]}


def counts() -> tuple[int, ...]:
    return (
        RoutingRule.objects.count(),
        TaxonomyVersion.objects.count(),
        CalendarDay.objects.count(),
        AuditEvent.objects.exclude(action__startswith="auth.").count(),  # sign-ins aside
    )


@pytest.fixture
def root(tree):
    user = UserFactory(username="root", is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(user)
    return client


@functools.cache
def _shipped() -> dict[str, Any]:
    return json.loads(SHIPPED_TAXONOMY.read_text(encoding="utf-8"))


def small_file(code: str = "2099.1") -> dict[str, Any]:
    """A valid taxonomy file: the shipped catalogue's first two major classes, first two
    sub-classes each, under a new version code."""
    raw = copy.deepcopy(_shipped())
    raw["version"] = {"code": code, "name": f"试行 {code}", "notes": ""}
    raw["classes"] = raw["classes"][:2]
    for major in raw["classes"]:
        major["subclasses"] = major["subclasses"][:2]
    return raw


def rule_body(personas, **over: Any) -> dict[str, Any]:
    body = {
        "category_code": CATEGORY,
        "area": "370211002",
        "level": "district_department",
        "unit_department": personas.department.code,
        "priority": 5,
        "note": "城管B中队负责街道B的垃圾",
    }
    body.update(over)
    return body


# --- Who may --------------------------------------------------------------------------------

# (method, url, body) of every endpoint; {rule} is a rule id, {v} a version code.
ENDPOINTS = [
    ("get", RULES, None),
    ("post", RULES, {"level": "street", "unit_area": "370211001"}),
    ("get", RULES + "/{rule}", None),
    ("patch", RULES + "/{rule}", {"priority": 9}),
    ("post", RULES + "/{rule}/end", {}),
    ("delete", RULES + "/{rule}", None),
    ("get", "/api/v1/admin/routing/check", None),
    ("get", VERSIONS, None),
    ("post", VERSIONS, "FILE"),
    ("get", VERSIONS + "/{v}", None),
    ("post", VERSIONS + "/{v}/publish", None),
    ("get", DAYS + "?year=2026", None),
    ("put", DAYS + "/2026-12-02", {"kind": "holiday", "name_zh": "停工日"}),
    ("delete", DAYS + "/2026-01-01", None),
    ("post", "/api/v1/admin/calendar/years/2026/confirm", None),
]


@pytest.mark.parametrize(("method", "url", "body"), ENDPOINTS)
def test_only_a_superuser_may_configure(personas, root, method, url, body):
    rule = RoutingRule.objects.create(
        level="street", unit_area=personas.dispatcher.role_assignments.get().area,
        valid_from=dt.date(2026, 1, 1),
    )  # fmt: skip
    draft = send(root, "post", VERSIONS, small_file())
    assert draft.status_code == 201, draft.content
    url = url.format(rule=rule.pk, v="2099.1")
    body = small_file("2099.2") if body == "FILE" else body
    before = counts()
    assert send(Client(), method, url, body).status_code == 401
    for name in ("admin", "supervisor", "dispatcher", "grid_worker", "resident", "dept_handler"):
        client = Client()
        client.force_login(getattr(personas, name))
        response = send(client, method, url, body)
        assert response.status_code == 403, (name, method, url, response.content)
        assert "superuser" in response.json()["detail"]
    assert counts() == before
    rule.refresh_from_db()
    assert (rule.priority, rule.valid_to) == (0, None)
    assert not TaxonomyVersion.objects.get(code="2099.1").is_published
    assert CalendarDay.objects.filter(date=dt.date(2026, 1, 1)).exists()


def test_the_openapi_document_covers_the_reference_endpoints(client):
    document = client.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    for method, url, _ in ENDPOINTS:
        template = url.split("?")[0].replace("{rule}", "{rule_id}").replace("{v}", "{code}")
        template = template.replace("2026-12-02", "{day}").replace("2026-01-01", "{day}")
        template = template.replace("years/2026", "years/{year}")
        assert method in paths[template], (method, template)
        assert "configuration" in paths[template][method]["tags"]
    # The upload documents the taxonomy file format, not just "an object".
    upload = paths[VERSIONS]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"format", "version", "classes"} <= set(upload["properties"])
    assert "$ref" not in json.dumps(upload)


def test_a_superuser_token_scripts_the_reference_data(personas):
    from gridlink.accounts.services import api_token_create

    robot = UserFactory(username="robot", is_superuser=True)
    _, token = api_token_create(actor=None, user=robot, name="set-up script")
    client = Client(headers={"Authorization": f"Bearer {token}"})
    created = send(client, "post", RULES, rule_body(personas))
    assert created.status_code == 201, created.content
    day = send(client, "put", DAYS + "/2026-12-02", {"kind": "holiday", "name_zh": "停工日"})
    assert day.status_code == 200, day.content
    actions = set(AuditEvent.objects.filter(actor_id=robot.pk).values_list("action", flat=True))
    assert actions == {"routing_rule.created", "calendar.day_set"}


# --- Routing rules ------------------------------------------------------------------------


def test_a_rule_created_over_the_api_routes_cases(root, personas, tree):
    from gridlink.cases.models import Category

    category = Category.objects.get(version__is_current=True, code=CATEGORY)
    grid_b = tree.grids[4]  # a grid of street B
    created = send(root, "post", RULES, rule_body(personas))
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["in_force"] is True and rule["unit_department"] == "CG-B"
    assert rule["valid_from"] == timezone.localdate().isoformat()
    decision = route_for(category=category, area=grid_b)
    assert decision.rule is not None and decision.rule.pk == rule["id"]
    event = AuditEvent.objects.get(action="routing_rule.created", target_id=str(rule["id"]))
    assert event.data["unit_department"] == "CG-B" and event.data["area"] == "370211002"

    changed = send(root, "patch", f"{RULES}/{rule['id']}", {"priority": 7, "area": None})
    assert changed.status_code == 200, changed.content
    assert changed.json()["priority"] == 7 and changed.json()["area"] is None
    event = AuditEvent.objects.get(action="routing_rule.changed")
    assert event.data["fields"] == ["area", "priority"]
    assert event.data["before"] == {"area": "370211002", "priority": 5}

    # Ending it today: no longer in force, still on record; cases fall back.
    ended = send(root, "post", f"{RULES}/{rule['id']}/end", {})
    assert ended.status_code == 400 and fields(ended) == {"valid_to"}  # it starts today
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    ended = send(root, "post", f"{RULES}/{rule['id']}/end", {"valid_to": tomorrow.isoformat()})
    assert ended.status_code == 200 and ended.json()["valid_to"] == tomorrow.isoformat()
    assert route_for(category=category, area=grid_b, on=tomorrow).rule is None
    assert send(root, "get", f"{RULES}/{rule['id']}").json()["valid_to"] == tomorrow.isoformat()
    assert AuditEvent.objects.filter(action="routing_rule.ended").count() == 1


def test_rules_are_listed_by_category_area_and_in_force(root, personas):
    made = [
        send(root, "post", RULES, rule_body(personas)).json(),
        send(root, "post", RULES, rule_body(personas, category_code="E01", area=None)).json(),
        send(root, "post", RULES, rule_body(personas, active=False)).json(),
    ]
    assert all("id" in m for m in made), made

    def ids(query: str) -> list[int]:
        response = send(root, "get", f"{RULES}?{query}")
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["items"]]

    assert ids(f"category={CATEGORY}") == [made[0]["id"], made[2]["id"]]
    assert ids("category=E01") == [made[1]["id"]]
    assert ids("area=370211002") == [made[0]["id"], made[2]["id"]]
    assert ids("area=*") == [made[1]["id"]]
    assert ids("in_force=false") == [made[2]["id"]]
    assert made[2]["id"] not in ids("in_force=true")
    page = send(root, "get", f"{RULES}?limit=1").json()
    assert len(page["items"]) == 1 and page["next_after"] == page["items"][0]["id"]
    rest = send(root, "get", f"{RULES}?limit=500&after={page['next_after']}").json()
    assert page["items"][0]["id"] not in [r["id"] for r in rest["items"]]
    assert send(root, "get", f"{RULES}/999999").status_code == 404


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"category_code": "E9999"}, "category_code"),  # well-shaped, not in the taxonomy
        ({"category_code": "X01"}, "category_code"),
        ({"area": "999999"}, "area"),
        ({"unit_department": "NOPE"}, "unit_department"),
        ({"unit_department": None}, "unit_department"),  # no unit at all
        ({"level": "street", "unit_department": None, "unit_area": "370211001001"}, "unit_area"),
        ({"unit_area": "370211001"}, "unit_department"),  # both units
        ({"level": "district_department", "unit_department": None, "unit_area": "370211001"},
         "unit_area"),
        ({"level": "emperor"}, "level"),
        ({"valid_from": "2027-01-02", "valid_to": "2027-01-02"}, "valid_to"),
        ({"valid_from": "2027-02-30"}, "valid_from"),
        ({"valid_from": "0001-01-01"}, "valid_from"),
        ({"valid_to": "9999-12-31"}, "valid_to"),
        ({"priority": 10**30}, "priority"),
        ({"priority": "high"}, "priority"),
        ({"active": "maybe"}, "active"),
        ({"note": "x" * 2001}, "note"),
        ({"area": ["370211"]}, "area"),
        ({"note": "a\x00b"}, "note"),
    ],
)  # fmt: skip
def test_bad_rules_name_the_field_and_write_nothing(root, personas, over, field):
    before = counts()
    response = send(root, "post", RULES, rule_body(personas, **over))
    assert response.status_code in (400, 422), response.content
    assert field in fields(response), response.json()
    assert counts() == before


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"level": None}, "level"),
        ({"unit_department": "NOPE"}, "unit_department"),
        ({"valid_to": "2020-01-01"}, "valid_to"),  # before it starts
        ({"category_code": "E7777"}, "category_code"),
        ({"id": 5}, "id"),
    ],
)
def test_bad_rule_changes_name_the_field_and_change_nothing(root, personas, patch, field):
    rule = send(root, "post", RULES, rule_body(personas)).json()
    before = counts()
    response = send(root, "patch", f"{RULES}/{rule['id']}", patch)
    assert response.status_code in (400, 422), response.content
    assert field in fields(response), response.json()
    assert counts() == before
    assert send(root, "get", f"{RULES}/{rule['id']}").json() == rule


def test_overlapping_rules_are_accepted_and_resolved_by_precedence(root, personas, tree):
    """Neither the model nor the admin refuses overlapping rules: the more specific, then
    the higher priority, then the older one wins (docs/routing.md)."""
    from gridlink.cases.models import Category

    other = DepartmentFactory(code="HW-B", name_zh="环卫B")
    first = send(root, "post", RULES, rule_body(personas)).json()
    second = send(root, "post", RULES, rule_body(personas, unit_department=other.code)).json()
    higher = send(root, "post", RULES, rule_body(personas, priority=6)).json()
    assert {first["id"], second["id"], higher["id"]} <= set(
        RoutingRule.objects.values_list("pk", flat=True)
    )
    category = Category.objects.get(version__is_current=True, code=CATEGORY)
    assert route_for(category=category, area=tree.grids[4]).rule.pk == higher["id"]


def test_a_rule_that_routed_a_case_is_ended_not_deleted(root, personas, tree):
    world = build_world(tree, personas)
    rule = send(root, "post", RULES, rule_body(personas, area="370211001")).json()
    unused = send(root, "post", RULES, rule_body(personas, category_code="E01")).json()
    created = ok(report(Client()), 201)  # in grid A1-1, street A
    disp = world.client("district_disp")
    case = ok(disp.get(f"/api/v1/cases/{created['id']}"))
    case = ok(act(disp, case, "accept"))
    case = ok(act(disp, case, "file"))  # filing routes it
    assert Case.objects.get(pk=case["id"]).routing_rule_id == rule["id"]
    refused = send(root, "delete", f"{RULES}/{rule['id']}")
    assert refused.status_code == 409 and "valid_to" in refused.json()["detail"]
    assert RoutingRule.objects.filter(pk=rule["id"]).exists()
    assert send(root, "delete", f"{RULES}/{unused['id']}").status_code == 204
    assert not RoutingRule.objects.filter(pk=unused["id"]).exists()
    deleted = AuditEvent.objects.get(action="routing_rule.deleted")
    assert deleted.target_id == str(unused["id"]) and deleted.data["category_code"] == "E01"


def test_routing_check_names_the_targets_nobody_can_sign_for(root, personas):
    empty = DepartmentFactory(code="NOBODY", name_zh="无人部门")
    before = send(root, "get", "/api/v1/admin/routing/check")
    assert before.status_code == 200, before.content
    assert "NOBODY" not in {g["unit_code"] for g in before.json()["unstaffed"]}
    rule = send(root, "post", RULES, rule_body(personas, unit_department="NOBODY")).json()
    check = send(root, "get", "/api/v1/admin/routing/check").json()
    gaps = [g for g in check["unstaffed"] if g["unit_code"] == "NOBODY"]
    assert len(gaps) == 1 and check["ok"] is False
    gap = gaps[0]
    assert gap["rule_id"] == rule["id"] and gap["unit_kind"] == "department"
    assert gap["pairs"] == 4  # E0102 in the four grids of street B
    assert gap["examples"][0][0] == CATEGORY and gap["examples"][0][1].startswith("370211002")
    RoleAssignmentFactory(user=UserFactory(), role=Role.DEPT_HANDLER, department=empty)
    after = send(root, "get", "/api/v1/admin/routing/check").json()
    assert "NOBODY" not in {g["unit_code"] for g in after["unstaffed"]}


# --- Taxonomy drafts and publishing -------------------------------------------------------


def test_a_draft_is_uploaded_reviewed_and_published(root):
    listed = send(root, "get", VERSIONS).json()
    assert [v["state"] for v in listed if v["state"] == "current"] == ["current"]
    previous = next(v["code"] for v in listed if v["state"] == "current")

    uploaded = send(root, "post", VERSIONS, small_file())
    assert uploaded.status_code == 201, uploaded.content
    draft = uploaded.json()
    assert (draft["code"], draft["state"], draft["major_classes"], draft["subclasses"]) == (
        "2099.1", "draft", 2, 4,
    )  # fmt: skip
    assert AuditEvent.objects.filter(action="taxonomy.load").get().data["version"] == "2099.1"
    again = send(root, "post", VERSIONS, small_file())
    assert again.status_code == 200 and again.json()["content_sha256"] == draft["content_sha256"]
    assert AuditEvent.objects.filter(action="taxonomy.load").count() == 1  # unchanged

    # A draft's content is replaced by a new upload of the same code.
    changed = small_file()
    changed["classes"] = changed["classes"][:1]
    replaced = send(root, "post", VERSIONS, changed)
    assert replaced.status_code == 200 and replaced.json()["subclasses"] == 2
    assert AuditEvent.objects.filter(action="taxonomy.load").last().data["replaced"] is True

    shown = send(root, "get", f"{VERSIONS}/2099.1").json()
    assert shown["version"]["state"] == "draft"
    assert [c["code"] for c in shown["classes"]] == [changed["classes"][0]["code"]]
    assert len(shown["classes"][0]["subclasses"]) == 2

    published = send(root, "post", f"{VERSIONS}/2099.1/publish")
    assert published.status_code == 200, published.content
    assert published.json()["state"] == "current"
    event = AuditEvent.objects.get(action="taxonomy.publish")
    assert event.data["previous"] == previous and event.actor_username == "root"
    states = {v["code"]: v["state"] for v in send(root, "get", VERSIONS).json()}
    assert states["2099.1"] == "current" and states[previous] == "published"

    twice = send(root, "post", f"{VERSIONS}/2099.1/publish")
    assert twice.status_code == 400 and twice.json()["errors"][0]["code"] == "taxonomy_published"
    frozen = send(root, "post", VERSIONS, small_file())  # other content than the published one
    assert frozen.status_code == 400 and fields(frozen) == {"code"}  # version.code
    assert send(root, "get", f"{VERSIONS}/1999.9").status_code == 404
    assert send(root, "post", f"{VERSIONS}/1999.9/publish").status_code == 404


def _bad(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`raw` with the value at the dotted `path` replaced (numbers index lists)."""
    bad = copy.deepcopy(raw)
    node: Any = bad
    steps = [int(s) if s.isdigit() else s for s in path.split(".")]
    for step in steps[:-1]:
        node = node[step]
    node[steps[-1]] = value
    return bad


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        ("classes.0.subclasses.0.deadlines.handle.amount", 10**20, "deadlines.handle.amount"),
        ("classes.0.subclasses.0.deadlines.handle.amount", "2", "deadlines.handle.amount"),
        ("classes.0.subclasses.0.urgency", "whenever", "urgency"),
        ("classes.0.subclasses.1.code", "C0199X", "code"),
        ("classes.0.subclasses.0.default_level", None, "default_level"),
        ("version.code", "next", "version.code"),
        ("format", "gridlink-taxonomy/9", "format"),
        ("classes", [], "classes"),
    ],
)
def test_bad_uploads_name_the_path_and_write_nothing(root, path, value, where):
    raw = small_file()
    before = counts()
    response = send(root, "post", VERSIONS, _bad(raw, path, value))
    assert response.status_code == 400, response.content
    named = {str(e["field"]) for e in response.json()["errors"]}
    assert any(f.endswith(where) for f in named), named
    if path.startswith("classes.0.subclasses.0."):  # named by the sub-class's code
        code = raw["classes"][0]["subclasses"][0]["code"]
        assert f"{code}.{where}" in named, named
    assert counts() == before


@pytest.mark.parametrize("body", [[1, 2], "text", 5, None])
def test_an_upload_that_is_no_object_is_refused(root, body):
    before = counts()
    response = root.post(VERSIONS, data=json.dumps(body), content_type="application/json")
    assert response.status_code in (400, 422), response.content
    assert response.json()["errors"]
    assert counts() == before


def test_a_draft_with_a_nul_is_refused_before_anything(root):
    raw = _bad(small_file(), "classes.0.subclasses.0.name_zh", "井\x00盖")
    before = counts()
    response = send(root, "post", VERSIONS, raw)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "classes.0.subclasses.0.name_zh"
    assert counts() == before


# --- Working calendar -----------------------------------------------------------------------


def test_a_years_days_are_listed_with_the_working_day_count(root):
    response = send(root, "get", DAYS + "?year=2026")
    assert response.status_code == 200, response.content
    year = response.json()
    rows = CalendarDay.objects.filter(date__year=2026)
    assert len(year["days"]) == rows.count() > 20
    assert year["provisional"] is False and year["no_data"] is False
    new_year = next(d for d in year["days"] if d["date"] == "2026-01-01")
    assert new_year["kind"] == "holiday" and new_year["working"] is False
    # 2026 has 365 days; the weekdays minus the weekday holidays plus the make-up days.
    weekdays = sum((dt.date(2026, 1, 1) + dt.timedelta(days=i)).weekday() < 5 for i in range(365))
    off = rows.filter(kind="holiday").exclude(date__week_day__in=[1, 7]).count()
    extra = rows.filter(kind="makeup_workday", date__week_day__in=[1, 7]).count()
    assert year["working_days"] == weekdays - off + extra
    empty = send(root, "get", DAYS + "?year=2999").json()
    assert empty["days"] == [] and empty["no_data"] is True


def test_setting_a_day_changes_deadlines_at_once(root):
    """The per-process calendar cache (`current_calendar`) sees a day set or removed
    through the API before the next deadline is computed."""
    start = dt.datetime(2026, 12, 1, 10, 0, tzinfo=current_calendar().tz)  # a Tuesday
    # Computed once before the change: the process has the calendar cached.
    assert add_working_days(start_at=start, days=1).date() == dt.date(2026, 12, 2)
    made = send(root, "put", DAYS + "/2026-12-02", {"kind": "holiday", "name_zh": " 停工日 "})
    assert made.status_code == 200, made.content
    assert made.json()["name_zh"] == "停工日" and made.json()["source"] == "admin"
    assert add_working_days(start_at=start, days=1).date() == dt.date(2026, 12, 3)

    # Saturday 5 December made a working day: one working day from Friday is Saturday.
    friday = start + dt.timedelta(days=3)
    saturday = send(
        root, "put", DAYS + "/2026-12-05",
        {"kind": "makeup_workday", "name_zh": "调休上班", "name_en": "Make-up workday"},
    )  # fmt: skip
    assert saturday.status_code == 200 and saturday.json()["working"] is True
    assert add_working_days(start_at=friday, days=1).date() == dt.date(2026, 12, 5)

    assert send(root, "delete", DAYS + "/2026-12-02").status_code == 204
    assert add_working_days(start_at=start, days=1).date() == dt.date(2026, 12, 2)
    assert send(root, "delete", DAYS + "/2026-12-02").status_code == 404
    actions = list(
        AuditEvent.objects.filter(target_type="calendar_day")
        .order_by("id")
        .values_list("action", "target_id")
    )
    assert actions == [
        ("calendar.day_set", "2026-12-02"),
        ("calendar.day_set", "2026-12-05"),
        ("calendar.day_removed", "2026-12-02"),
    ]


def test_setting_a_seeded_day_makes_it_an_administrator_row(root):
    seeded = CalendarDay.objects.get(date=dt.date(2026, 1, 1))
    assert seeded.source != "admin"
    same = {"kind": seeded.kind, "name_zh": seeded.name_zh, "name_en": seeded.name_en}
    response = send(root, "put", DAYS + "/2026-01-01", same)
    assert response.status_code == 200 and response.json()["source"] == "admin"
    event = AuditEvent.objects.get(action="calendar.day_set")
    assert event.data["before"]["source"] == seeded.source
    again = send(root, "put", DAYS + "/2026-01-01", same)  # nothing changes the second time
    assert again.status_code == 200
    assert AuditEvent.objects.filter(action="calendar.day_set").count() == 1


def test_confirming_a_provisional_year(root):
    for day in (dt.date(2031, 1, 1), dt.date(2031, 10, 1)):
        CalendarDay.objects.create(
            date=day, kind="holiday", name_zh="节日", source="holidays", provisional=True
        )
    listed = send(root, "get", DAYS + "?year=2031").json()
    assert listed["provisional"] is True and 2031 in listed["provisional_years"]
    confirmed = send(root, "post", "/api/v1/admin/calendar/years/2031/confirm")
    assert confirmed.status_code == 200 and confirmed.json() == {"year": 2031, "confirmed": 2}
    assert not CalendarDay.objects.filter(date__year=2031, provisional=True).exists()
    event = AuditEvent.objects.get(action="calendar.confirmed")
    assert event.data == {"year": 2031, "days": 2} and event.actor_username == "root"
    again = send(root, "post", "/api/v1/admin/calendar/years/2031/confirm")
    assert again.json()["confirmed"] == 0
    assert AuditEvent.objects.filter(action="calendar.confirmed").count() == 1
    nothing = send(root, "post", "/api/v1/admin/calendar/years/2040/confirm")
    assert nothing.status_code == 400 and fields(nothing) == {"year"}


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("put", DAYS + "/2026-02-30", {"kind": "holiday", "name_zh": "x"}, "day"),
        ("put", DAYS + "/26-12-02", {"kind": "holiday", "name_zh": "x"}, "day"),
        ("put", DAYS + "/0001-01-01", {"kind": "holiday", "name_zh": "x"}, "day"),
        ("put", DAYS + "/2026-12-02", {"kind": "party", "name_zh": "x"}, "kind"),
        ("put", DAYS + "/2026-12-02", {"kind": "holiday", "name_zh": ""}, "name_zh"),
        ("put", DAYS + "/2026-12-02", {"kind": "holiday", "name_zh": "   "}, "name_zh"),
        ("put", DAYS + "/2026-12-02", {"kind": "holiday", "name_zh": "x" * 51}, "name_zh"),
        ("put", DAYS + "/2026-12-02", {"kind": "holiday", "name_zh": 5}, "name_zh"),
        ("put", DAYS + "/2026-12-02", {"kind": "holiday", "name_zh": "a\x00"}, "name_zh"),
        ("put", DAYS + "/2026-12-02", {"kind": "holiday"}, "name_zh"),
        ("delete", DAYS + "/2026-13-01", None, "day"),
        ("get", DAYS + "?year=99999999999999999999", None, "year"),
        ("get", DAYS + "?year=twenty", None, "year"),
        ("get", DAYS, None, "year"),
        ("post", "/api/v1/admin/calendar/years/99999999999999999999/confirm", None, "year"),
        ("post", "/api/v1/admin/calendar/years/-5/confirm", None, "year"),
    ],
)
def test_bad_calendar_input_names_the_field_and_writes_nothing(root, method, url, body, field):
    before = counts()
    response = send(root, method, url, body)
    assert response.status_code in (400, 422), response.content
    assert field in fields(response), response.json()
    assert counts() == before


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.dictionaries(
        st.sampled_from(["kind", "name_zh", "name_en", "extra"]),
        st.one_of(
            st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
            st.text(max_size=60), st.lists(st.integers(), max_size=2),
        ),
    ),
)  # fmt: skip
def test_any_day_body_is_stored_valid_or_refused_naming_a_field(root, body):
    """Whatever the body, the answer is a stored valid row or a 4xx naming a field —
    never a 500 and never a half-written row."""
    before = CalendarDay.objects.count()
    response = send(root, "put", DAYS + "/2026-12-09", body)
    if response.status_code == 200:
        row = CalendarDay.objects.get(date=dt.date(2026, 12, 9))
        assert row.kind in ("holiday", "makeup_workday") and 1 <= len(row.name_zh) <= 50
        assert row.source == "admin" and not row.provisional
        CalendarDay.objects.filter(pk=row.pk).delete()
    else:
        assert response.status_code in (400, 422), response.content
        assert all(e["field"] for e in response.json()["errors"]), response.json()
        assert CalendarDay.objects.count() == before


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.fixed_dictionaries(
        {},
        optional={
            "category_code": st.sampled_from(["", "E01", "E0102", "E9999", "C0101", "Q1"]),
            "area": st.sampled_from([None, "", "370211", "370211002", "370211001001", "999"]),
            "level": st.sampled_from(
                ["grid", "community", "street", "district_department", "district_centre", "x"]
            ),
            "unit_department": st.sampled_from([None, "CG-B", "NOPE"]),
            "unit_area": st.sampled_from(
                [None, "370211001", "370211001001", "370211001001001", "370211"]
            ),
            "priority": st.one_of(st.integers(-(10**7), 10**7), st.text(max_size=3)),
            "valid_from": st.sampled_from(["2026-01-01", "2030-02-28", "2026-02-29", None]),
            "valid_to": st.sampled_from([None, "2026-01-01", "2031-01-01", "bad"]),
        },
    )
)  # fmt: skip
def test_any_rule_body_is_a_valid_rule_or_refused_naming_a_field(root, personas, body):
    """Whatever the combination, a 201 stores a rule the model accepts (and the router can
    use); anything else is a 4xx naming a field, and nothing is written."""
    before = counts()
    response = send(root, "post", RULES, body)
    if response.status_code == 201:
        rule = RoutingRule.objects.get(pk=response.json()["id"])
        rule.full_clean()  # the model's own checks hold
        assert (rule.unit_department_id is None) != (rule.unit_area_id is None)
        assert AuditEvent.objects.filter(
            action="routing_rule.created", target_id=str(rule.pk)
        ).exists()
        rule.delete()
    else:
        assert response.status_code in (400, 422), response.content
        assert all(e["field"] for e in response.json()["errors"]), response.json()
        assert counts() == before
