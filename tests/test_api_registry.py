import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridlink.core.models import AccessRecord
from tests.factories import OrganisationFactory, ResidentFactory, TagFactory


@pytest.fixture
def people(tree):
    """Two residents in grid A1-1, one in grid A1-2, one in street B."""
    g = tree.grids
    return {
        "a11": ResidentFactory(
            grid=g[0], id_number="370211199001011233", phone="13800138000", name="张三"
        ),
        "a11b": ResidentFactory(grid=g[0]),
        "a12": ResidentFactory(grid=g[1]),
        "b": ResidentFactory(grid=g[4]),
    }


def test_anonymous_is_401(client, people):
    assert client.get("/api/v1/registry/residents").status_code == 401
    r = client.post(
        "/api/v1/registry/residents/1/unmask", {"purpose": "x"}, content_type="application/json"
    )
    assert r.status_code == 401


def test_list_is_masked_and_scoped(client, personas, people):
    client.force_login(personas.grid_worker)
    items = client.get("/api/v1/registry/residents").json()["items"]
    assert {i["id"] for i in items} == {people["a11"].pk, people["a11b"].pk}
    row = next(i for i in items if i["id"] == people["a11"].pk)
    assert row["id_number"] == "370211********1233"
    assert row["phone"] == "138****8000"
    assert "370211199001011233" not in client.get("/api/v1/registry/residents").content.decode()


@pytest.mark.parametrize(
    ("persona", "visible"),
    [
        ("grid_worker", {"a11", "a11b"}),
        ("community_staff", {"a11", "a11b", "a12"}),
        ("dispatcher", {"a11", "a11b", "a12"}),
        ("dept_handler", {"b"}),
        ("supervisor", {"a11", "a11b", "a12", "b"}),
        ("admin", {"a11", "a11b", "a12", "b"}),
        ("resident", set()),
    ],
)
def test_scope_matrix(client, personas, people, persona, visible):
    client.force_login(getattr(personas, persona))
    ids = {i["id"] for i in client.get("/api/v1/registry/residents").json()["items"]}
    assert ids == {people[k].pk for k in visible}
    for key, resident in people.items():
        status = client.get(f"/api/v1/registry/residents/{resident.pk}").status_code
        assert status == (200 if key in visible else 404)


def test_unmask_with_purpose_reveals_and_logs(client, personas, people):
    client.force_login(personas.grid_worker)
    pk = people["a11"].pk
    r = client.post(
        f"/api/v1/registry/residents/{pk}/unmask",
        {"purpose": "核实案件 GL-2026-0001", "fields": ["id_number"]},
        content_type="application/json",
        REMOTE_ADDR="10.1.2.3",
    )
    assert r.status_code == 200, r.content
    assert r.json()["values"] == {"id_number": "370211199001011233"}
    record = AccessRecord.objects.get()
    assert (record.actor_username, record.kind, record.subject_type) == (
        "grid1",
        "unmask",
        "resident",
    )
    assert record.subject_ids == [pk]
    assert record.fields == ["id_number"]
    assert record.purpose == "核实案件 GL-2026-0001"
    assert record.ip == "10.1.2.3"
    assert record.outcome == "success"


def test_unmask_without_purpose_names_the_field_and_logs_nothing(client, personas, people):
    client.force_login(personas.grid_worker)
    r = client.post(
        f"/api/v1/registry/residents/{people['a11'].pk}/unmask",
        {"purpose": " "},
        content_type="application/json",
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "purpose"
    assert AccessRecord.objects.count() == 0


def test_unmask_unknown_field_is_refused(client, personas, people):
    client.force_login(personas.grid_worker)
    r = client.post(
        f"/api/v1/registry/residents/{people['a11'].pk}/unmask",
        {"purpose": "案件 12345", "fields": ["password"]},
        content_type="application/json",
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "fields"


def test_role_without_unmask_is_denied_and_the_attempt_logged(client, personas, people):
    client.force_login(personas.dept_handler)
    r = client.post(
        f"/api/v1/registry/residents/{people['b'].pk}/unmask",
        {"purpose": "案件 12345"},
        content_type="application/json",
    )
    assert r.status_code == 403
    record = AccessRecord.objects.get()
    assert record.outcome == "denied"


def test_unmask_out_of_scope_is_404(client, personas, people):
    client.force_login(personas.grid_worker)
    r = client.post(
        f"/api/v1/registry/residents/{people['b'].pk}/unmask",
        {"purpose": "案件 12345"},
        content_type="application/json",
    )
    assert r.status_code == 404
    assert AccessRecord.objects.count() == 0


def test_session_unmask_needs_csrf(personas, people):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.grid_worker)
    r = client.post(
        f"/api/v1/registry/residents/{people['a11'].pk}/unmask",
        {"purpose": "案件 12345"},
        content_type="application/json",
    )
    assert r.status_code in (401, 403)
    assert AccessRecord.objects.count() == 0


def test_sensitive_tags_only_for_granted_roles(client, personas, people):
    disability = TagFactory(
        code="disability", name_zh="残疾", sensitive=True, granted_roles=["community_staff"]
    )
    volunteer = TagFactory(code="volunteer", name_zh="志愿者")
    people["a11"].tags.add(disability, volunteer)
    client.force_login(personas.grid_worker)
    assert client.get(f"/api/v1/registry/residents/{people['a11'].pk}").json()["tags"] == [
        "volunteer"
    ]
    client.force_login(personas.community_staff)
    tags = client.get(f"/api/v1/registry/residents/{people['a11'].pk}").json()["tags"]
    assert sorted(tags) == ["disability", "volunteer"]


def test_list_search_is_by_name_only(client, personas, people):
    client.force_login(personas.supervisor)
    by_name = client.get("/api/v1/registry/residents", {"q": "张三"}).json()["items"]
    assert [i["id"] for i in by_name] == [people["a11"].pk]
    for probe in ("370211199001011233", "13800138000", "19900101"):
        assert client.get("/api/v1/registry/residents", {"q": probe}).json()["items"] == []


def _lookup(client, **body):
    return client.post("/api/v1/registry/residents/lookup", body, content_type="application/json")


def test_lookup_by_id_number_is_logged_with_its_purpose(client, personas, people):
    client.force_login(personas.community_staff)
    r = _lookup(client, id_number="370211199001011233", purpose="核实来电 12345-0001")
    assert r.status_code == 200, r.content
    [row] = r.json()["items"]
    assert row["id"] == people["a11"].pk
    assert row["id_number"] == "370211********1233"
    record = AccessRecord.objects.get()
    assert (record.kind, record.fields, record.subject_ids) == (
        "lookup",
        ["id_number"],
        [people["a11"].pk],
    )
    assert record.purpose == "核实来电 12345-0001"


def test_lookup_by_phone_and_a_miss_are_logged_too(client, personas, people):
    client.force_login(personas.community_staff)
    assert [
        i["id"] for i in _lookup(client, phone="13800138000", purpose="回访核实").json()["items"]
    ] == [people["a11"].pk]
    assert _lookup(client, phone="13900000000", purpose="回访核实").json()["items"] == []
    assert AccessRecord.objects.filter(kind="lookup").count() == 2


def test_lookup_finds_only_where_the_caller_may_unmask(client, personas, people):
    client.force_login(personas.grid_worker)  # grid A1-1 only
    assert (
        _lookup(client, id_number=people["b"].id_number, purpose="核实身份").json()["items"] == []
    )


@pytest.mark.parametrize("persona", ["dept_handler", "supervisor", "resident"])
def test_lookup_is_refused_without_the_unmask_capability_and_the_refusal_logged(
    client, personas, people, persona
):
    client.force_login(getattr(personas, persona))
    r = _lookup(client, id_number="370211199001011233", purpose="核实身份")
    assert r.status_code == 403
    assert AccessRecord.objects.get().outcome == "denied"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"purpose": "核实身份"}, "id_number"),
        (
            {"id_number": "370211199001011233", "phone": "13800138000", "purpose": "核实身份"},
            "id_number",
        ),
        ({"id_number": "370211199001011237", "purpose": "核实身份"}, "id_number"),
        ({"phone": "12345", "purpose": "核实身份"}, "phone"),
        ({"id_number": "370211199001011233", "purpose": ""}, "purpose"),
    ],
)
def test_bad_lookups_name_the_field_and_log_nothing(client, personas, people, body, field):
    client.force_login(personas.community_staff)
    r = _lookup(client, **body)
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == field
    assert AccessRecord.objects.count() == 0


def test_detail_is_masked_by_default(client, personas, people):
    client.force_login(personas.grid_worker)
    body = client.get(f"/api/v1/registry/residents/{people['a11'].pk}").json()
    assert body["id_number"] == "370211********1233"
    assert body["phone"] == "138****8000"
    assert "birth_date" not in body


@pytest.mark.parametrize(
    "request_args",
    [
        ("get", "/api/v1/registry/residents", {"q": "张\x00"}),
        ("get", "/api/v1/areas/370211%00", None),
    ],
)
def test_nul_characters_are_a_400_not_a_database_error(client, personas, request_args):
    method, url, params = request_args
    client.force_login(personas.supervisor)
    r = getattr(client, method)(url, params)
    assert r.status_code == 400
    assert "NUL" in r.json()["detail"]


def test_nul_in_a_json_body_is_a_400(client, personas, people):
    client.force_login(personas.grid_worker)
    r = client.post(
        f"/api/v1/registry/residents/{people['a11'].pk}/unmask",
        '{"purpose": "case\\u0000 12345"}',
        content_type="application/json",
    )
    assert r.status_code == 400
    assert AccessRecord.objects.count() == 0


def test_keyset_pagination_walks_every_row_once(client, personas, tree):
    for _ in range(7):
        ResidentFactory(grid=tree.grids[0])
    client.force_login(personas.supervisor)
    seen, after = [], 0
    while True:
        body = client.get("/api/v1/registry/residents", {"limit": 3, "after": after}).json()
        seen += [i["id"] for i in body["items"]]
        if body["next_after"] is None:
            break
        after = body["next_after"]
    assert len(seen) == 7 == len(set(seen))
    assert seen == sorted(seen)


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1000}, {"after": -1}, {"q": "x" * 101}])
def test_bad_list_parameters_name_the_field(client, personas, params):
    client.force_login(personas.supervisor)
    r = client.get("/api/v1/registry/residents", params)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == next(iter(params))


def test_list_query_count_does_not_grow_with_rows(client, personas, tree):
    client.force_login(personas.supervisor)
    for _ in range(3):
        ResidentFactory(grid=tree.grids[0])
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/registry/residents")
    for _ in range(20):
        ResidentFactory(grid=tree.grids[1])
    with CaptureQueriesContext(connection) as many:
        client.get("/api/v1/registry/residents")
    assert len(many) == len(few)


def test_organisations_masked_scoped_and_unmaskable(client, personas, tree):
    org = OrganisationFactory(grid=tree.grids[0], contact_phone="13912345678")
    other = OrganisationFactory(grid=tree.grids[5])
    client.force_login(personas.community_staff)
    items = client.get("/api/v1/registry/organisations").json()["items"]
    assert [i["id"] for i in items] == [org.pk]
    assert items[0]["contact_phone"] == "139****5678"
    assert client.get(f"/api/v1/registry/organisations/{other.pk}").status_code == 404
    r = client.post(
        f"/api/v1/registry/organisations/{org.pk}/unmask",
        {"purpose": "联系企业整改"},
        content_type="application/json",
    )
    assert r.json()["values"] == {"contact_phone": "13912345678"}
    assert AccessRecord.objects.get().subject_type == "organisation"


def test_a_refused_lookup_is_logged_even_without_purpose_or_valid_identifier(
    client, personas, people
):
    client.force_login(personas.supervisor)
    r = _lookup(client, id_number="123", purpose="")
    assert r.status_code == 403
    record = AccessRecord.objects.get()
    assert (record.kind, record.outcome) == ("lookup", "denied")


@pytest.mark.parametrize(
    ("persona", "sees"),
    [("grid_worker", True), ("community_staff", True), ("dispatcher", True), ("supervisor", False)],
)
def test_household_composition_only_for_roles_that_need_it(client, personas, tree, persona, sees):
    from tests.factories import HouseholdFactory

    household = HouseholdFactory(grid=tree.grids[0], number="H-37021100101")
    resident = ResidentFactory(grid=tree.grids[0], household=household, relation_to_head="户主")
    client.force_login(getattr(personas, persona))
    body = client.get(f"/api/v1/registry/residents/{resident.pk}").json()
    assert (body["household"], body["relation_to_head"]) == (
        ("H-37021100101", "户主") if sees else (None, None)
    )
    assert body["name"] == resident.name


def test_department_staff_do_not_see_household_composition(client, personas, tree):
    from tests.factories import HouseholdFactory

    household = HouseholdFactory(grid=tree.grids[4], number="H-B")
    resident = ResidentFactory(grid=tree.grids[4], household=household, relation_to_head="配偶")
    client.force_login(personas.dept_handler)
    body = client.get(f"/api/v1/registry/residents/{resident.pk}").json()
    assert body["household"] is None and body["relation_to_head"] is None
    page = client.get(f"/registry/residents/{resident.pk}/").content.decode()
    assert "H-B" not in page
