"""Creating and updating registry records through the JSON API (`POST /registry/{kind}`,
`PATCH /registry/{kind}/{id}`): the import's row rules, one record at a time, under the
caller's `registry.edit` scope."""

import datetime as dt
import json

import pytest

from gridlink.core.errors import NotPermitted
from gridlink.core.models import AuditEvent
from gridlink.core.validators import make_credit_code, make_id_number
from gridlink.registry.exchange import InvalidFields, OutOfScope, registry_upsert
from gridlink.registry.models import Building, Household, Organisation, Resident
from tests.factories import (
    BuildingFactory,
    HouseholdFactory,
    OrganisationFactory,
    ResidentFactory,
    TagFactory,
)

API = "/api/v1/registry"
ID_NUMBER = "370211199001011233"  # valid; the 17th digit (3) is odd: male, born 1990-01-01
OTHER_ID = make_id_number("370211", dt.date(1985, 6, 15), 42)


def post(client, kind, body):
    return client.post(f"{API}/{kind}", body, content_type="application/json")


def patch(client, kind, pk, body):
    return client.patch(f"{API}/{kind}/{pk}", body, content_type="application/json")


def saved_events():
    return list(AuditEvent.objects.filter(action="registry.record_saved").order_by("seq"))


def fields_of(response):
    return {e["field"] for e in response.json()["errors"]}


def zhang_san(grid, **values):
    """The resident of ID_NUMBER, with the sex and birth date the number holds."""
    return ResidentFactory(
        grid=grid, id_number=ID_NUMBER, sex="M", birth_date=dt.date(1990, 1, 1), **values
    )


def resident_body(tree, **values):
    return {
        "id_number": ID_NUMBER,
        "name": "张三",
        "phone": "138-0013-8000",
        "grid_code": tree.grids[0].code,
        **values,
    }


# --- Creating ---------------------------------------------------------------------------


def test_a_grid_worker_creates_a_resident_in_their_grid(client, personas, tree):
    TagFactory(code="volunteer", name_zh="志愿者")
    client.force_login(personas.grid_worker)
    r = post(client, "residents", resident_body(tree, tags=["volunteer"]))
    assert r.status_code == 201, r.content
    body = r.json()
    resident = Resident.objects.get()
    assert body["id"] == resident.pk
    assert body["id_number"] == "370211********1233"
    assert body["phone"] == "138****8000"
    # No minor_under_14 tag is granted to the grid worker here: an age band, not the year.
    assert (body["sex"], body["birth_year"], body["tags"]) == ("M", None, ["volunteer"])
    assert body["age_band"] == "35-59"
    assert ID_NUMBER not in r.content.decode() and "13800138000" not in r.content.decode()
    assert (resident.phone, resident.birth_date) == ("13800138000", dt.date(1990, 1, 1))

    [event] = saved_events()
    assert (event.actor_username, event.target_type, event.target_id) == (
        "grid1",
        "residents",
        str(resident.pk),
    )
    assert event.data["outcome"] == "created"
    assert {"id_number", "name", "phone", "grid_code", "tags"} <= set(event.data["fields"])
    logged = json.dumps(event.data, ensure_ascii=False)
    for personal in (ID_NUMBER, "13800138000", "张三", "1990-01-01"):
        assert personal not in logged


def test_posting_an_existing_natural_key_updates_that_record(client, personas, tree):
    resident = zhang_san(tree.grids[0], phone="13800138000")
    client.force_login(personas.community_staff)
    r = post(client, "residents", resident_body(tree, name="张三丰", phone="13800138000"))
    assert r.status_code == 200, r.content
    assert r.json()["id"] == resident.pk
    resident.refresh_from_db()
    assert resident.name == "张三丰"
    assert [e.data for e in saved_events()] == [{"outcome": "updated", "fields": ["name"]}]


def test_creating_in_another_grid_is_refused_alike_whether_or_not_the_id_exists(
    client, personas, tree
):
    elsewhere = ResidentFactory(grid=tree.grids[4], id_number=OTHER_ID, name="李四")
    client.force_login(personas.grid_worker)  # grid A1-1 only
    grid_b = tree.grids[4].code
    answers = [
        post(client, "residents", resident_body(tree, id_number=OTHER_ID, grid_code=grid_b)),
        post(client, "residents", resident_body(tree, grid_code=grid_b)),  # a new ID number
        # The stored record's own values: the same answer, nothing compared.
        post(client, "residents", {"id_number": OTHER_ID, "name": "李四", "grid_code": grid_b}),
    ]
    assert {r.status_code for r in answers} == {403}
    assert len({r.content for r in answers}) == 1
    # Wrong values are checked first: the same 400 whether or not the ID number is stored.
    probes = [
        post(client, "residents", resident_body(tree, id_number=OTHER_ID, phone="1")),
        post(client, "residents", resident_body(tree, id_number=ID_NUMBER, phone="1")),
    ]
    assert [r.status_code for r in probes] == [400, 400]
    assert probes[0].json() == probes[1].json()
    assert fields_of(probes[0]) == {"phone"}
    assert answers[0].json()["errors"] == [
        {
            "code": "out_of_scope",
            "field": "grid_code",
            "message": answers[0].json()["errors"][0]["message"],
        }
    ]
    assert list(Resident.objects.all()) == [elsewhere]
    elsewhere.refresh_from_db()
    assert elsewhere.name == "李四"
    assert saved_events() == []


def test_every_bad_field_is_listed_and_nothing_is_written(client, personas, tree):
    client.force_login(personas.grid_worker)
    r = post(
        client,
        "residents",
        resident_body(
            tree, id_number="370211199001011234", phone="12345", household_number="H-NONE"
        ),
    )
    assert r.status_code == 400, r.content
    assert fields_of(r) == {"id_number", "phone", "household_number"}
    assert Resident.objects.count() == 0
    assert saved_events() == []


def test_the_service_raises_every_field_error_at_once(personas, tree):
    with pytest.raises(InvalidFields) as caught:
        registry_upsert(
            actor=personas.grid_worker,
            kind="residents",
            values=resident_body(
                tree,
                id_number="370211199001011234",
                phone="12345",
                household_number="H-NONE",
                colour="blue",
            ),
        )
    errors = caught.value.errors
    assert {e["field"] for e in errors} == {"id_number", "phone", "household_number", "colour"}
    assert {e["code"] for e in errors if e["field"] == "colour"} == {"unknown_column"}
    assert caught.value.as_dict() == errors[0]
    assert caught.value.status == 400
    assert Resident.objects.count() == 0


def test_creating_needs_the_required_columns(client, personas, tree):
    client.force_login(personas.grid_worker)
    r = post(client, "residents", {"id_number": ID_NUMBER, "phone": "13800138000"})
    assert r.status_code == 400
    assert r.json()["errors"][0] == {
        "code": "required",
        "field": "name",
        "message": r.json()["errors"][0]["message"],
    }
    with pytest.raises(InvalidFields) as caught:
        registry_upsert(actor=personas.grid_worker, kind="residents", values={"name": "王五"})
    assert {e["field"] for e in caught.value.errors} == {"id_number", "grid_code"}
    assert Resident.objects.count() == 0


def test_an_organisation_with_a_bad_credit_code_names_credit_code(client, personas, tree):
    client.force_login(personas.grid_worker)
    good = make_credit_code("91370211MA3C00001")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    body = {"name": "海岸商贸有限公司", "kind": "enterprise", "grid_code": tree.grids[0].code}
    r = post(client, "organisations", {**body, "credit_code": bad})
    assert r.status_code == 400
    assert fields_of(r) == {"credit_code"}
    assert Organisation.objects.count() == 0

    r = post(client, "organisations", {**body, "credit_code": good, "employees": 12})
    assert r.status_code == 201, r.content
    assert (r.json()["credit_code"], r.json()["employees"]) == (good, 12)


def test_a_building_and_a_household_in_it(client, personas, tree):
    client.force_login(personas.grid_worker)
    building = {
        "address_code": "370211001001001-0001",
        "address": "测试路1号",
        "grid_code": tree.grids[0].code,
        "lat": 35.85,
        "lon": 120.05,
        "use": "residential",
        "floors": 6,
    }
    r = post(client, "buildings", {**building, "lat": 95, "floors": 0})
    assert r.status_code == 400
    assert fields_of(r) == {"lat", "floors"}
    r = post(client, "buildings", building)
    assert r.status_code == 201, r.content
    assert (r.json()["lat"], r.json()["floors"]) == (35.85, 6)

    r = post(
        client,
        "households",
        {
            "number": "H0001",
            "grid_code": tree.grids[0].code,
            "building_address_code": "370211001001001-0001",
            "room": "1-101",
        },
    )
    assert r.status_code == 201, r.content
    assert r.json()["building"] == "370211001001001-0001"
    household = Household.objects.get()
    r = patch(client, "households", household.pk, {"room": "1-102"})
    assert (r.status_code, r.json()["room"]) == (200, "1-102")
    assert Building.objects.count() == 1


# --- Updating ---------------------------------------------------------------------------


def test_patching_a_phone_then_the_same_again_is_unchanged(client, personas, tree):
    resident = zhang_san(tree.grids[0], phone="13800138000")
    client.force_login(personas.grid_worker)
    r = patch(client, "residents", resident.pk, {"phone": "+86 139 0013 9000"})
    assert r.status_code == 200, r.content
    assert r.json()["phone"] == "139****9000"
    resident.refresh_from_db()
    assert resident.phone == "13900139000"
    assert [e.data for e in saved_events()] == [{"outcome": "updated", "fields": ["phone"]}]

    again = patch(client, "residents", resident.pk, {"phone": "13900139000"})
    assert again.status_code == 200
    assert again.json() == r.json()
    assert len(saved_events()) == 1  # nothing was written, so nothing is logged


def test_patching_may_not_change_the_natural_key(client, personas, tree):
    resident = zhang_san(tree.grids[0])
    client.force_login(personas.grid_worker)
    r = patch(client, "residents", resident.pk, {"id_number": OTHER_ID, "name": "改名"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["code"] == "key_changed"
    assert fields_of(r) == {"id_number"}
    resident.refresh_from_db()
    assert resident.id_number == ID_NUMBER
    assert resident.name != "改名"
    # The same key, written in lower case, is the same key.
    org = OrganisationFactory(grid=tree.grids[0], credit_code=make_credit_code("91370211MA3C00001"))
    r = patch(
        client, "organisations", org.pk, {"credit_code": org.credit_code.lower(), "employees": 3}
    )
    assert (r.status_code, r.json()["employees"]) == (200, 3)


def test_patching_out_of_view_is_404(client, personas, tree):
    elsewhere = ResidentFactory(grid=tree.grids[1])  # grid A1-2: not the grid worker's
    client.force_login(personas.grid_worker)
    assert patch(client, "residents", elsewhere.pk, {"phone": "13900139000"}).status_code == 404
    assert patch(client, "residents", 999_999, {"phone": "13900139000"}).status_code == 404
    assert saved_events() == []


def test_moving_a_record_out_of_the_edit_scope_is_refused(client, personas, tree):
    resident = ResidentFactory(grid=tree.grids[0])
    client.force_login(personas.grid_worker)
    r = patch(client, "residents", resident.pk, {"grid_code": tree.grids[1].code})
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == "out_of_scope"
    resident.refresh_from_db()
    assert resident.grid_id == tree.grids[0].pk


@pytest.mark.parametrize("persona", ["dept_handler", "supervisor"])
def test_viewing_without_edit_is_403(client, personas, tree, persona):
    resident = ResidentFactory(grid=tree.grids[4], phone="13800138000")  # street B
    client.force_login(getattr(personas, persona))
    assert client.get(f"{API}/residents/{resident.pk}").status_code == 200
    r = patch(client, "residents", resident.pk, {"phone": "13900139000"})
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == "edit_denied"
    r = post(client, "residents", resident_body(tree, grid_code=tree.grids[4].code))
    assert r.status_code == 403
    resident.refresh_from_db()
    assert resident.phone == "13800138000"
    assert Resident.objects.count() == 1


def test_the_service_refuses_without_edit_and_outside_scope(personas, tree):
    with pytest.raises(NotPermitted):
        registry_upsert(actor=personas.dispatcher, kind="households", values={})
    with pytest.raises(OutOfScope):
        registry_upsert(
            actor=personas.grid_worker,
            kind="households",
            values={"number": "H1", "grid_code": tree.grids[2].code},
        )
    assert Household.objects.count() == 0


def test_anonymous_is_401(client, tree):
    resident = ResidentFactory(grid=tree.grids[0])
    assert post(client, "residents", resident_body(tree)).status_code == 401
    assert patch(client, "residents", resident.pk, {"phone": "13900139000"}).status_code == 401
    assert Resident.objects.count() == 1


# --- Hostile or malformed bodies --------------------------------------------------------


def test_a_nul_character_is_a_400_and_nothing_is_written(client, personas, tree):
    client.force_login(personas.grid_worker)
    r = client.post(
        f"{API}/residents",
        json.dumps(resident_body(tree, name="张\u0000三")),
        content_type="application/json",
    )
    assert r.status_code == 400
    assert Resident.objects.count() == 0
    # Callers other than the API get the same refusal from the service, by column.
    with pytest.raises(InvalidFields) as caught:
        registry_upsert(
            actor=personas.grid_worker, kind="residents", values=resident_body(tree, name="张\x00")
        )
    assert [(e["field"], e["code"]) for e in caught.value.errors] == [("name", "nul")]


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"name": "张" * 5000}, "name", "too_long"),
        ({"name": "张" * 51}, "name", "max_length"),
        ({"tags": ["x"] * 101}, "tags", "too_long"),
        ({"tags": ["a;b"]}, "tags", "wrong_type"),
        ({"tags": [1]}, "tags", "wrong_type"),
        ({"phone": ["13800138000"]}, "phone", "wrong_type"),
        ({"phone": {"number": "13800138000"}}, "phone", "wrong_type"),
        ({"name": True}, "name", "wrong_type"),
        ({"id": 5}, "id", "unknown_column"),
        ({"password": "x"}, "password", "unknown_column"),
    ],
)
def test_malformed_values_are_a_400_naming_the_field(client, personas, tree, values, field, code):
    client.force_login(personas.grid_worker)
    r = post(client, "residents", resident_body(tree, **values))
    assert r.status_code == 400, r.content
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [(field, code)]
    assert Resident.objects.count() == 0


def test_a_body_that_is_not_an_object_is_a_422(client, personas, tree):
    client.force_login(personas.grid_worker)
    r = client.post(f"{API}/residents", "[1, 2]", content_type="application/json")
    assert r.status_code == 422
    r = client.post(f"{API}/residents", "{not json", content_type="application/json")
    assert 400 <= r.status_code < 500


def test_numbers_and_nulls_read_like_cells(client, personas, tree):
    """A number is its text; null is a blank cell (empties a field, keeps a default)."""
    resident = ResidentFactory(grid=tree.grids[0], phone="13800138000")
    client.force_login(personas.grid_worker)
    r = patch(
        client, "residents", resident.pk, {"phone": None, "residence_type": None, "sex": None}
    )
    assert r.status_code == 200, r.content
    resident.refresh_from_db()
    assert (resident.phone, resident.residence_type) == ("", "registered")
    r = patch(client, "residents", resident.pk, {"phone": 13900139000})
    assert r.json()["phone"] == "139****9000"


def test_existing_read_endpoints_still_answer(client, personas, tree):
    building = BuildingFactory(grid=tree.grids[0])
    HouseholdFactory(grid=tree.grids[0], building=building)
    client.force_login(personas.grid_worker)
    assert client.get(f"{API}/buildings").json()["items"][0]["id"] == building.pk
    assert client.get(f"{API}/households").status_code == 200
    assert client.get(f"{API}/buildings/{building.pk}").status_code == 200


def test_refused_creates_are_audited_and_limited(client, personas, tree, settings):
    settings.GRIDLINK_REGISTRY_REFUSALS_PER_HOUR = 2
    ResidentFactory(grid=tree.grids[4], id_number=OTHER_ID)
    client.force_login(personas.grid_worker)  # grid A1-1 only
    probe = resident_body(tree, id_number=OTHER_ID)  # valid, in the worker's own grid
    statuses = [post(client, "residents", probe).status_code for _ in range(3)]
    assert statuses == [403, 403, 429]
    refusals = AuditEvent.objects.filter(action="registry.create_refused")
    assert [(e.actor_username, e.target_type, e.outcome) for e in refusals] == [
        ("grid1", "residents", "refused")
    ] * 2  # the third was not looked at: the limit was used up
    assert OTHER_ID not in json.dumps([e.data for e in refusals])
    # Until the window ends, the caller's creates wait; another caller is not affected.
    blocked = post(client, "residents", resident_body(tree))
    assert blocked.status_code == 429
    assert 0 < int(blocked["Retry-After"]) <= 3600
    client.force_login(personas.community_staff)
    assert post(client, "residents", resident_body(tree)).status_code == 201
