import datetime as dt

import pytest
from django.db import models

from gridlink.accounts.services import api_token_create
from gridlink.geo.locator import locator
from gridlink.geo.models import Area
from gridlink.geo.services import geo_revision_bump
from tests.factories import AreaFactory, square


def test_anonymous_gets_401_with_a_reason(client, tree):
    r = client.get("/api/v1/areas/tree")
    assert r.status_code == 401
    assert "Authentication required" in r.json()["detail"]


def test_tree_nests_the_hierarchy(client, personas):
    client.force_login(personas.resident)
    r = client.get("/api/v1/areas/tree", {"depth": 4})
    assert r.status_code == 200
    [district] = r.json()
    assert district["code"] == "370211"
    assert [s["code"] for s in district["children"]] == ["370211001", "370211002"]
    assert len(district["children"][0]["children"][0]["children"]) == 2


def test_subtree_from_a_root(client, personas):
    client.force_login(personas.resident)
    r = client.get("/api/v1/areas/tree", {"root": "370211002", "depth": 1})
    [street] = r.json()
    assert street["code"] == "370211002"
    assert {c["code"] for c in street["children"]} == {"370211002001", "370211002002"}
    assert all(c["children"] == [] for c in street["children"])


def test_detail_has_polygon_ancestors_children_and_departments(client, personas):
    client.force_login(personas.resident)
    r = client.get("/api/v1/areas/370211002001")
    body = r.json()
    assert body["geometry"]["type"] == "Polygon"
    assert [a["code"] for a in body["ancestors"]] == ["370211", "370211002"]
    assert [c["code"] for c in body["children"]] == ["370211002001001", "370211002001002"]
    assert body["parent_code"] == "370211002"
    assert client.get("/api/v1/areas/999999").status_code == 404


def test_departments_list_their_areas(client, personas):
    client.force_login(personas.resident)
    [dept] = client.get("/api/v1/departments").json()
    assert dept["area_codes"] == ["370211002"]


@pytest.mark.parametrize(
    ("lat", "lon", "code"),
    [
        (35.85, 120.05, "370211001001001"),
        (35.95, 120.35, "370211002002002"),
        (35.81, 120.15, "370211001001002"),
    ],
)
def test_locate_returns_grid_and_ancestors(client, personas, lat, lon, code):
    client.force_login(personas.resident)
    body = client.get("/api/v1/areas/locate", {"lat": lat, "lon": lon}).json()
    assert body["area"]["code"] == code
    assert [a["level"] for a in body["chain"]] == [1, 2, 3, 4]
    assert body["chain"][0]["code"] == "370211"


def test_point_outside_every_grid_is_a_clear_404(client, personas):
    client.force_login(personas.resident)
    r = client.get("/api/v1/areas/locate", {"lat": 39.9, "lon": 116.4})
    assert r.status_code == 404
    assert "No grid contains this point" in r.json()["detail"]


@pytest.mark.parametrize(
    "params", [{"lat": 95, "lon": 120}, {"lat": "abc", "lon": 120}, {"lat": 35.9}]
)
def test_bad_coordinates_name_the_field(client, personas, params):
    client.force_login(personas.resident)
    r = client.get("/api/v1/areas/locate", params)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields & {"lat", "lon"}


def test_locator_sees_a_new_grid_after_a_revision_bump(client, personas, tree, settings):
    settings.GRIDLINK_LOCATOR_REFRESH_SECONDS = 0
    client.force_login(personas.resident)
    assert client.get("/api/v1/areas/locate", {"lat": 36.05, "lon": 120.05}).status_code == 404
    community = tree.communities[1]
    AreaFactory(
        code=community.code + "003",
        level=4,
        kind="grid",
        parent=community,
        geometry=square(120.0, 36.0, 120.1, 36.1),
    )
    # Another process changed the areas: only the revision in the database tells us.
    from gridlink.geo.models import GeoRevision

    GeoRevision.objects.filter(pk=1).update(revision=models.F("revision") + 1)
    body = client.get("/api/v1/areas/locate", {"lat": 36.05, "lon": 120.05}).json()
    assert body["area"]["code"] == community.code + "003"


def test_expired_grids_are_not_located(client, personas, tree):
    grid = Area.objects.get(code="370211001001001")
    import datetime as dt

    Area.objects.filter(pk=grid.pk).update(valid_to=dt.date(2021, 1, 1))
    geo_revision_bump()
    locator.invalidate()
    client.force_login(personas.resident)
    assert client.get("/api/v1/areas/locate", {"lat": 35.85, "lon": 120.05}).status_code == 404


def test_bearer_token_authenticates_and_revoked_token_does_not(client, personas):
    from gridlink.accounts.services import api_token_revoke

    token, full = api_token_create(actor=None, user=personas.supervisor, name="bridge")
    r = client.get("/api/v1/areas", {"level": 2}, HTTP_AUTHORIZATION=f"Bearer {full}")
    assert r.status_code == 200
    assert [a["code"] for a in r.json()] == ["370211001", "370211002"]
    assert client.get("/api/v1/areas", HTTP_AUTHORIZATION=f"Bearer {full}x").status_code == 401
    assert client.get("/api/v1/areas", HTTP_AUTHORIZATION="Bearer gl_nope_nope").status_code == 401
    api_token_revoke(actor=None, token=token)
    assert client.get("/api/v1/areas", HTTP_AUTHORIZATION=f"Bearer {full}").status_code == 401


def test_openapi_document_is_served(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/v1/areas/locate" in paths
    assert "/api/v1/registry/residents/{resident_id}/unmask" in paths


def test_an_area_cannot_be_moved_to_another_parent(tree):
    from django.core.exceptions import ValidationError

    community = Area.objects.get(code="370211002001")
    community.parent = tree.streets[0]
    with pytest.raises(ValidationError) as info:
        community.full_clean()
    assert "parent" in info.value.message_dict


def test_a_direct_save_that_moves_an_area_keeps_subtree_paths_right(tree, personas):
    from gridlink.accounts.permissions import can_in_area, forget_cached_scopes
    from gridlink.accounts.roles import Cap

    community = Area.objects.get(code="370211002001")
    grid = Area.objects.get(code="370211002001001")
    assert not can_in_area(personas.dispatcher, Cap.REGISTRY_VIEW, grid)  # street A's dispatcher
    community.parent = tree.streets[0]
    community.save()
    grid.refresh_from_db()
    assert grid.path == f"{tree.streets[0].path}{community.pk}/{grid.pk}/"
    forget_cached_scopes(personas.dispatcher)
    assert can_in_area(personas.dispatcher, Cap.REGISTRY_VIEW, grid)


def test_an_over_long_code_is_404_not_a_prefix_match(client, personas):
    client.force_login(personas.resident)
    assert client.get("/api/v1/areas/370211001001001001999").status_code == 404
    assert client.get("/api/v1/areas/37021100100100x").status_code == 404


def test_the_locator_notices_a_grid_expiring_at_midnight(client, personas, tree, settings):
    import time_machine

    grid = Area.objects.get(code="370211001001001")
    Area.objects.filter(pk=grid.pk).update(valid_to=dt.date(2027, 1, 1))
    settings.GRIDLINK_LOCATOR_REFRESH_SECONDS = 0
    with time_machine.travel("2026-12-31 23:59 +0800"):
        client.force_login(personas.resident)
        assert client.get("/api/v1/areas/locate", {"lat": 35.85, "lon": 120.05}).status_code == 200
    with time_machine.travel("2027-01-01 00:01 +0800"):
        client.force_login(personas.resident)
        assert client.get("/api/v1/areas/locate", {"lat": 35.85, "lon": 120.05}).status_code == 404
