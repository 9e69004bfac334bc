"""Open311 GeoReport v2: every method in both formats, the filters and the error paths."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from gridlink.cases.models import Case, CaseEvent
from gridlink.open311.models import ClientApplication
from gridlink.open311.services import client_application_create, client_application_revoke
from tests import open311_schemas as schemas
from tests.cases_support import A11, build_world, png_bytes
from tests.open311_support import (
    BASE,
    EN,
    created_id,
    json_of,
    post_request,
    xml_errors,
    xml_of,
    xml_requests,
)

FORMATS = ["xml", "json"]


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


@pytest.fixture
def api_key(world) -> str:
    return client_application_create(actor=None, name="resident app")[1]


@pytest.fixture
def anon() -> Client:
    return Client()


# --- Discovery and services ----------------------------------------------------------------------


def test_discovery_in_both_formats(world, anon):
    root = xml_of(anon.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    endpoint = root.find("endpoints/endpoint")
    assert endpoint is not None
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint.findtext("url") == "http://testserver/open311/v2"
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]
    data = json_of(anon.get(f"{BASE}/discovery.json"), schemas.DISCOVERY)
    assert data["endpoints"][0]["url"] == "http://testserver/open311/v2"


def test_services_come_from_the_taxonomy(world, anon):
    data = json_of(anon.get(f"{BASE}/services.json", **EN), schemas.SERVICES)
    by_code = {s["service_code"]: s for s in data}
    assert by_code["E0102"]["service_name"] == "Exposed garbage"
    assert by_code["E0102"]["keywords"] == "garbage, litter, rubbish"
    assert by_code["E0102"]["metadata"] is True  # one optional attribute
    assert by_code["C0101"]["metadata"] is True
    assert by_code["C0101"]["group"]  # the major class
    assert all(len(code) == 5 for code in by_code)  # sub-classes only
    root = xml_of(anon.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    first = root.find("service")
    assert first is not None
    tags = [child.tag for child in first]
    assert tags == [
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    ]
    e0102 = next(s for s in root if s.findtext("service_code") == "E0102")
    assert e0102.findtext("service_name") == "暴露垃圾"  # the default language
    assert e0102.findtext("metadata") == "true"
    assert e0102.findtext("type") == "realtime"


def test_services_without_attributes_have_no_metadata(world, anon):
    data = json_of(anon.get(f"{BASE}/services.json"), schemas.SERVICES)
    assert any(s["metadata"] is False for s in data)


def test_service_definitions_in_both_formats_with_all_six_datatypes(world, anon):
    data = json_of(anon.get(f"{BASE}/services/C0101.json", **EN), schemas.SERVICE_DEFINITION)
    assert data["service_code"] == "C0101"
    cover = next(a for a in data["attributes"] if a["code"] == "cover_type")
    assert cover["required"] is True and cover["variable"] is True
    assert cover["datatype"] == "singlevaluelist"
    assert {"key": "cast_iron", "name": "Cast iron"} in cover["values"]
    orders = [a["order"] for a in data["attributes"]]
    assert orders == sorted(orders)
    root = xml_of(anon.get(f"{BASE}/services/C0101.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "C0101"
    attribute = root.find("attributes/attribute")
    assert attribute is not None
    assert attribute.findtext("variable") == "true"
    assert attribute.findtext("required") == "true"
    assert [v.findtext("key") for v in attribute.findall("values/value")][:2] == [
        "cast_iron",
        "composite",
    ]
    seen: set[str] = set()
    services = json_of(anon.get(f"{BASE}/services.json"), schemas.SERVICES)
    for service in services:
        if service["metadata"]:
            definition = anon.get(f"{BASE}/services/{service['service_code']}.json")
            body = json_of(definition, schemas.SERVICE_DEFINITION)
            seen |= {a["datatype"] for a in body["attributes"]}
    assert seen == set(schemas.DATATYPES)


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_definition_is_404(world, anon, fmt):
    response = anon.get(f"{BASE}/services/Z9999.{fmt}", **EN)
    assert response.status_code == 404
    if fmt == "xml":
        assert xml_errors(response) == [("404", "service_code: unknown service.")]
    else:
        assert json_of(response, schemas.ERRORS)[0]["code"] == 404


def test_unknown_format_and_method(world, anon):
    response = anon.get(f"{BASE}/services.html")
    assert response.status_code == 404
    assert xml_errors(response)[0][0] == "404"
    response = anon.delete(f"{BASE}/services.json")
    assert response.status_code == 405
    json_of(response, schemas.ERRORS)


# --- POST requests -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_creates_a_case_through_the_intake(world, anon, api_key, fmt):
    response = post_request(anon, fmt, api_key)
    assert response.status_code == 201, response.content
    if fmt == "xml":
        root = xml_of(response)
        assert root.tag == "service_requests"
        request = root.find("request")
        assert request is not None
        request_id = request.findtext("service_request_id") or ""
        token = request.findtext("token") or ""
        assert request.find("account_id") is not None
    else:
        body = json_of(response, schemas.CREATED)[0]
        request_id, token = body["service_request_id"], body["token"]
    case = Case.objects.get(pk=int(request_id))
    assert case.channel == "open311"
    assert case.tracking_code == token
    assert case.state == "reported"
    assert case.reporter_phone == "13800138000"
    assert case.reporter_name == "小明 王"
    app = ClientApplication.objects.get()
    assert app.last_used_at is not None


def test_post_typed_attributes_and_list_values(world, anon, api_key):
    request_id = created_id(
        anon,
        api_key,
        service_code="E0201",
        description="墙上贴满小广告",
        **{"attribute[advert_kind][]": ["poster", "banner"], "attribute[area_m2]": "2.5"},
    )
    case = Case.objects.get(pk=int(request_id))
    assert case.attributes == {"advert_kind": ["poster", "banner"], "area_m2": 2.5}
    request_id = created_id(
        anon,
        api_key,
        service_code="C0101",
        description="井盖破损",
        **{"attribute[cover_type]": "cast_iron", "attribute[damage]": "broken"},
    )
    assert Case.objects.get(pk=int(request_id)).attributes == {
        "cover_type": "cast_iron",
        "damage": "broken",
    }


def test_post_by_address_id_and_address_string(world, anon, api_key):
    from tests.factories import BuildingFactory

    building = BuildingFactory(grid=world.tree.grids[0], lat=A11["lat"], lon=A11["lon"])
    by_id = created_id(anon, api_key, lat=None, long=None, address_id=building.address_code)
    case = Case.objects.get(pk=int(by_id))
    assert case.building == building
    by_text = created_id(
        anon, api_key, lat=None, long=None, address_string=building.address, description="另一处"
    )
    assert Case.objects.get(pk=int(by_text)).building == building
    got = anon.get(f"{BASE}/requests/{by_id}.json").json()[0]
    assert got["address_id"] == building.address_code
    assert got["address"] == building.address


def test_post_with_media_upload_and_media_url(world, anon, api_key):
    media = SimpleUploadedFile("p.png", png_bytes(), "image/png")
    request_id = created_id(anon, api_key, media=media, media_url="https://example.org/a.jpg")
    case = Case.objects.get(pk=int(request_id))
    assert case.photos.filter(stage="report").count() == 1
    assert case.description.endswith("\nhttps://example.org/a.jpg")
    got = json_of(anon.get(f"{BASE}/requests/{request_id}.json"), schemas.SERVICE_REQUESTS)[0]
    assert got["media_url"].startswith("http://testserver/open311/v2/media/")
    image = anon.get(got["media_url"])
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert anon.get(f"{BASE}/media/ffffffffffffffffffffffffffffffff").status_code == 404


def test_post_is_idempotent_with_a_key(world, anon, api_key):
    first = post_request(anon, "json", api_key, HTTP_IDEMPOTENCY_KEY="k-1")
    again = post_request(anon, "json", api_key, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    one, two = first.json()[0], again.json()[0]
    assert (one["service_request_id"], one["token"]) == (two["service_request_id"], two["token"])
    # The rating key of an answer that may have been lost is replaced by a new one.
    key_of = lambda notice: notice.split("Rating key ")[1].split(":")[0]  # noqa: E731
    assert key_of(one["service_notice"]) != key_of(two["service_notice"])
    case = Case.objects.get()
    assert case.rating_key_matches(key_of(two["service_notice"]))
    assert not case.rating_key_matches(key_of(one["service_notice"]))
    assert Case.objects.count() == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_and_revoked_api_keys_are_403(world, anon, api_key, fmt):
    for key in ("", "nonsense", "o311_000000000000_secret", api_key + "x"):
        response = post_request(anon, fmt, key)
        assert response.status_code == 403, key
        errors = xml_errors(response) if fmt == "xml" else json_of(response, schemas.ERRORS)
        assert len(errors) == 1
    client_application_revoke(actor=None, application=ClientApplication.objects.get())
    assert post_request(anon, fmt, api_key).status_code == 403
    assert Case.objects.count() == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_several_errors_at_once(world, anon, api_key, fmt):
    response = post_request(
        anon, fmt, api_key, service_code="C0101", description="", phone="123", email="x"
    )
    assert response.status_code == 400
    if fmt == "xml":
        descriptions = [d for _c, d in xml_errors(response)]
    else:
        descriptions = [e["description"] for e in json_of(response, schemas.ERRORS)]
    fields = {d.split(":")[0] for d in descriptions}
    assert {"description", "phone", "email", "attribute[cover_type]", "attribute[damage]"} <= fields
    assert Case.objects.count() == 0


def test_rate_limit_per_application(world, anon, api_key, settings):
    settings.GRIDLINK_OPEN311_RATE_PER_HOUR = 2
    created_id(anon, api_key)
    created_id(anon, api_key, description="第二处垃圾堆放")
    response = post_request(anon, "json", api_key, description="第三处")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    json_of(response, schemas.ERRORS)
    other = client_application_create(actor=None, name="other app")[1]
    assert post_request(anon, "json", other, description="第三处").status_code == 201


# --- GET requests --------------------------------------------------------------------------------


def test_get_requests_in_both_formats_hides_personal_data(world, anon, api_key):
    request_id = created_id(anon, api_key)
    json_body = anon.get(f"{BASE}/requests.json", **EN)
    data = json_of(json_body, schemas.SERVICE_REQUESTS)
    assert [r["service_request_id"] for r in data] == [request_id]
    item = data[0]
    assert item["status"] == "open"
    assert item["service_code"] == "E0102"
    assert item["service_name"] == "Exposed garbage"
    assert item["lat"] == A11["lat"] and item["long"] == A11["lon"]
    assert item["requested_datetime"].endswith("+08:00")
    xml_body = anon.get(f"{BASE}/requests.xml")
    rows = xml_requests(xml_body)
    assert rows[0]["service_request_id"] == request_id
    assert list(rows[0]) == schemas.REQUEST_FIELDS
    case = Case.objects.get(pk=int(request_id))
    for response in (json_body, xml_body):
        text = response.content.decode()
        for secret in ("13800138000", "resident@example.org", "小明", case.tracking_code):
            assert secret not in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_one_request_is_a_list_of_one(world, anon, api_key, fmt):
    request_id = created_id(anon, api_key)
    response = anon.get(f"{BASE}/requests/{request_id}.{fmt}")
    assert response.status_code == 200
    if fmt == "xml":
        assert [r["service_request_id"] for r in xml_requests(response)] == [request_id]
    else:
        assert len(json_of(response, schemas.SERVICE_REQUESTS)) == 1
    missing = anon.get(f"{BASE}/requests/999999.{fmt}")
    assert missing.status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_tokens_resolve_to_the_request(world, anon, api_key, fmt):
    body = post_request(anon, "json", api_key).json()[0]
    response = anon.get(f"{BASE}/tokens/{body['token']}.{fmt}")
    assert response.status_code == 200
    if fmt == "xml":
        row = xml_requests(response)[0]
        assert row == {"service_request_id": body["service_request_id"], "token": body["token"]}
    else:
        assert (
            json_of(response, schemas.TOKENS)[0]["service_request_id"] == body["service_request_id"]
        )
    assert anon.get(f"{BASE}/tokens/ZZZZZZZZZZZZ.{fmt}").status_code == 404
    assert anon.get(f"{BASE}/tokens/{body['service_request_id']}.{fmt}").status_code == 404


def _ids(anon: Client, query: str) -> list[str]:
    response = anon.get(f"{BASE}/requests.json?{query}")
    assert response.status_code == 200, response.content
    return [r["service_request_id"] for r in json_of(response, schemas.SERVICE_REQUESTS)]


def test_filters(world, anon, api_key):
    garbage = created_id(anon, api_key)
    advert = created_id(anon, api_key, service_code="E0201", description="墙上贴满小广告")
    far = created_id(
        anon, api_key, description="另一街道的垃圾", lat="35.95", long="120.35", phone=None
    )
    old = created_id(anon, api_key, description="很久以前的垃圾", lat="35.86")
    Case.objects.filter(pk=int(old)).update(created_at=timezone.now() - dt.timedelta(days=120))
    Case.objects.filter(pk=int(far)).update(state="closed")
    # The default window is the last 90 days, newest first.
    assert _ids(anon, "") == [far, advert, garbage]
    # service_request_id overrides every other filter, also the date window.
    assert set(_ids(anon, f"service_request_id={old},{garbage}&status=closed")) == {old, garbage}
    assert _ids(anon, "service_code=E0201") == [advert]
    assert _ids(anon, "service_code=E0201,E0102") == [far, advert, garbage]
    assert _ids(anon, "status=closed") == [far]
    assert _ids(anon, "status=open") == [advert, garbage]
    assert _ids(anon, "status=open,closed") == [far, advert, garbage]
    start = (timezone.now() - dt.timedelta(days=130)).isoformat(timespec="seconds")
    end = (timezone.now() - dt.timedelta(days=100)).isoformat(timespec="seconds")
    assert _ids(anon, f"start_date={start}&end_date={end}".replace("+", "%2B")) == [old]
    assert _ids(anon, f"start_date={start}".replace("+", "%2B")) == [old]
    assert _ids(anon, f"end_date={end}".replace("+", "%2B")) == [old]
    # lat/long/radius and bbox
    assert _ids(anon, f"lat={A11['lat']}&long={A11['lon']}&radius=100") == [advert, garbage]
    assert _ids(anon, "lat=35.95&long=120.35") == [far]
    assert _ids(anon, "bbox=120.3,35.9,120.4,36.0") == [far]
    # updated_after / updated_before (the latest public event)
    CaseEvent.objects.filter(case_id=int(garbage)).update(
        created_at=timezone.now() - dt.timedelta(days=2)
    )
    cut = (timezone.now() - dt.timedelta(days=1)).isoformat(timespec="seconds").replace("+", "%2B")
    assert _ids(anon, f"updated_before={cut}") == [garbage]
    assert garbage not in _ids(anon, f"updated_after={cut}")


def test_paging_with_count_headers(world, anon, api_key):
    ids = [created_id(anon, api_key, description=f"垃圾堆放第{n}处") for n in range(5)]
    response = anon.get(f"{BASE}/requests.json?page=2&page_size=2")
    assert response["X-Total-Count"] == "5"
    assert response["X-Page"] == "2" and response["X-Page-Size"] == "2"
    assert response["X-Total-Pages"] == "3"
    assert [r["service_request_id"] for r in response.json()] == [ids[2], ids[1]]
    beyond = anon.get(f"{BASE}/requests.xml?page=9&page_size=2")
    assert beyond.status_code == 200
    assert xml_requests(beyond) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start_date=2026-01-01T00:00:00", "start_date"),  # no offset
        ("start_date=2026-01-01", "start_date"),
        ("end_date=yesterday", "end_date"),
        ("start_date=2026-01-01T00:00:00Z&end_date=2026-04-02T00:00:00Z", "end_date"),  # 91 days
        ("start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z", "end_date"),
        ("status=pending", "status"),
        ("page=two", "page"),
        ("page=0", "page"),
        ("page_size=5000", "page_size"),
        ("lat=35.85", "long"),  # names the missing one
        ("long=120.05", "lat"),
        ("lat=north&long=east", "lat"),
        ("radius=50", "radius"),
        ("lat=35.85&long=120.05&radius=-1", "radius"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=120.4,35.8,120.0,36.0", "bbox"),
        ("updated_after=2026-01-01T00:00:00", "updated_after"),
        ("extensions=maybe", "extensions"),
        ("service_code=" + "X" * 5000, "service_code"),
    ],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_filters_are_400(world, anon, fmt, query, field):
    response = anon.get(f"{BASE}/requests.{fmt}?{query}", **EN)
    assert response.status_code == 400, response.content
    if fmt == "xml":
        errors = xml_errors(response)
        assert errors[0][0] == "400"
        assert errors[0][1].startswith(f"{field}:")
    else:
        assert json_of(response, schemas.ERRORS)[0]["description"].startswith(f"{field}:")


def test_several_filter_errors_at_once(world, anon):
    response = anon.get(f"{BASE}/requests.json?page=x&status=y&lat=1")
    assert response.status_code == 400
    assert len(json_of(response, schemas.ERRORS)) == 3


def test_status_notes_history_and_internal_events(world, anon, api_key):
    from gridlink.cases.services.transitions import case_transition

    request_id = created_id(anon, api_key)
    disp = world.people["district_disp"]
    case = Case.objects.get(pk=int(request_id))
    case = case_transition(actor=disp, case_id=case.pk, action="accept", version=case.version)
    CaseEvent.objects.create(
        case=case, kind="note", reason="内部备注：勿外传", public=False, to_state=case.state
    )
    case = case_transition(
        actor=disp,
        case_id=case.pk,
        action="invalidate",
        version=case.version,
        inputs={"reason": "现场核实无垃圾"},
    )
    for fmt in FORMATS:
        response = anon.get(f"{BASE}/requests/{request_id}.{fmt}?extensions=true")
        assert "勿外传" not in response.content.decode()
    data = json_of(
        anon.get(f"{BASE}/requests/{request_id}.json?extensions=true"), schemas.SERVICE_REQUESTS
    )[0]
    assert data["status"] == "closed"
    assert data["status_notes"] == "现场核实无垃圾"
    assert data["expected_datetime"] is None
    extended = data["extended_attributes"]
    assert extended["detailed_status"] == "invalid"
    assert [h["detailed_status"] for h in extended["status_history"]] == [
        "reported",
        "accepted",
        "invalid",
    ]
    root = xml_of(anon.get(f"{BASE}/requests.xml?extensions=true"))
    history = root.findall("request/extended_attributes/status_history/status_update")
    assert [h.findtext("detailed_status") for h in history] == ["reported", "accepted", "invalid"]
    plain = anon.get(f"{BASE}/requests.json").json()[0]
    assert "extended_attributes" not in plain


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_request_updates(world, anon, api_key, fmt):
    from gridlink.cases.services.transitions import case_transition

    request_id = created_id(anon, api_key)
    case = Case.objects.get(pk=int(request_id))
    disp = world.people["district_disp"]
    case_transition(
        actor=disp,
        case_id=case.pk,
        action="invalidate",
        version=case.version,
        inputs={"reason": "重复上报"},
    )
    response = anon.get(f"{BASE}/servicerequestupdates.{fmt}?service_request_id={request_id}")
    assert response.status_code == 200
    if fmt == "xml":
        root = xml_of(response)
        assert root.tag == "service_request_updates"
        updates = [{c.tag: c.text or "" for c in u} for u in root.findall("request_update")]
    else:
        updates = json_of(response, schemas.UPDATES)
    assert [u["status"] for u in updates] == ["closed", "open"]
    assert updates[0]["description"] == "重复上报"
    assert {u["service_request_id"] for u in updates} == {request_id}


def test_non_public_channels_are_not_service_requests(world, anon, api_key):
    from tests.cases_support import ok, report

    hotline = world.client("hotline")
    made = ok(report(hotline, channel="hotline", external_number="12345-1"), 201)
    assert _ids(anon, "") == []
    assert anon.get(f"{BASE}/requests/{made['id']}.json").status_code == 404


# --- Jurisdictions ----------------------------------------------------------------------------


def test_single_configured_jurisdiction(world, anon, settings):
    settings.GRIDLINK_OPEN311_JURISDICTIONS = ["huangdao.example.cn"]
    assert anon.get(f"{BASE}/services.json").status_code == 200
    ok = anon.get(f"{BASE}/services.json?jurisdiction_id=huangdao.example.cn")
    assert ok.status_code == 200
    unknown = anon.get(f"{BASE}/services.xml?jurisdiction_id=elsewhere.example.cn")
    assert unknown.status_code == 404
    assert xml_errors(unknown)[0][0] == "404"


def test_several_jurisdictions_require_one(world, anon, api_key, settings):
    settings.GRIDLINK_OPEN311_JURISDICTIONS = ["a.example.cn", "b.example.cn"]
    missing = anon.get(f"{BASE}/requests.json")
    assert missing.status_code == 400
    json_of(missing, schemas.ERRORS)
    assert anon.get(f"{BASE}/requests.json?jurisdiction_id=b.example.cn").status_code == 200
    assert anon.get(f"{BASE}/requests.json?jurisdiction_id=c.example.cn").status_code == 404
    assert post_request(anon, "xml", api_key).status_code == 400
    assert post_request(anon, "xml", api_key, jurisdiction_id="a.example.cn").status_code == 201


def test_any_jurisdiction_is_accepted_when_none_is_configured(world, anon):
    assert anon.get(f"{BASE}/services.json?jurisdiction_id=whatever").status_code == 200


def test_request_lists_take_a_constant_number_of_queries(world, anon, api_key):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert anon.get(url).status_code == 200
        return len(queries.captured_queries)

    created_id(anon, api_key)
    one = count(f"{BASE}/requests.json?extensions=true")
    one_updates = count(f"{BASE}/servicerequestupdates.json")
    for n in range(4):
        created_id(anon, api_key, description=f"更多垃圾第{n}处", media=_png())
    assert count(f"{BASE}/requests.xml?extensions=true") == one
    assert count(f"{BASE}/servicerequestupdates.json") == one_updates


def _png() -> SimpleUploadedFile:
    return SimpleUploadedFile("p.png", png_bytes(), "image/png")


def test_an_application_is_limited_by_the_open311_rate_not_the_resident_rate(
    world, anon, api_key, settings
):
    settings.GRIDLINK_INTAKE_RATE_PER_HOUR = 2
    settings.GRIDLINK_OPEN311_RATE_PER_HOUR = 600
    for n in range(3):
        assert post_request(anon, "json", api_key, description=f"垃圾第{n}处").status_code == 201


def test_a_merged_request_is_closed_and_names_its_parent_by_id_only(world, anon, api_key):
    from gridlink.cases.services.transitions import case_transition

    parent_id = created_id(anon, api_key)
    child_id = created_id(anon, api_key, description="小区门口垃圾堆放无人清理")
    child = Case.objects.get(pk=int(child_id))
    case_transition(
        actor=world.people["district_disp"],
        case_id=child.pk,
        action="merge",
        version=child.version,
        inputs={"parent_case_id": int(parent_id)},
    )
    response = anon.get(f"{BASE}/requests/{child_id}.json", **EN)
    data = json_of(response, schemas.SERVICE_REQUESTS)[0]
    assert data["status"] == "closed"
    assert data["status_notes"] == f"Merged into request {parent_id}."
    parent_code = Case.objects.get(pk=int(parent_id)).tracking_code
    assert parent_code not in response.content.decode()
