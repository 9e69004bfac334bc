"""Hostile input on every door: the reproductions of issue 10 §2, each a 4xx naming the field
(never a 500), errors in the caller's format (JSON under /api/, the Open311 error document
under /open311/, HTML on web pages), and no control character in any document we emit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory

from gridlink.cases.models import Case
from gridlink.open311.services import client_application_create
from tests.cases_support import A11, CATEGORY, build_world, png_bytes, report
from tests.open311_support import BASE, EN, post_request, request_body, xml_errors

API_ERROR_KEYS = {"detail", "errors"}


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


@pytest.fixture
def api_key(world) -> str:
    return client_application_create(actor=None, name="hostile app")[1]


def api_errors(response: Any, status: int) -> list[dict[str, Any]]:
    """The API's error shape, with `status`."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == API_ERROR_KEYS, body
    assert isinstance(body["detail"], str) and body["detail"]
    for error in body["errors"]:
        assert set(error) == {"code", "field", "message"}, error
    assert body["errors"], body
    return list(body["errors"])


def api_fields(response: Any, status: int = 400) -> set[str | None]:
    return {e["field"] for e in api_errors(response, status)}


def open311_json_errors(response: Any, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert isinstance(body, list) and body
    for item in body:
        assert set(item) == {"code", "description"}
        assert item["code"] == status
    return list(body)


def open311_xml_errors(response: Any, status: int) -> list[tuple[str, str]]:
    assert response.status_code == status, (response.status_code, response.content[:500])
    errors = xml_errors(response)
    assert all(code == str(status) for code, _d in errors), errors
    return errors


def no_controls(text: str) -> None:
    bad = [c for c in text if ord(c) < 0x20 and c not in "\t\n\r"]
    assert not bad, bad


# --- Attribute values through the API and Open311 ---------------------------------------------


HUGE = "1" * 401  # a 401-digit number


def test_api_refuses_a_401_digit_number(world):
    body = {
        "channel": "resident_web",
        "category_code": "E0101",
        "description": "路边堆放大量建筑垃圾，影响通行",
        **A11,
        "reporter_phone": "13800138000",
        "attributes": {"area_m2": 0},
    }
    raw = json.dumps(body).replace('"area_m2": 0', f'"area_m2": {HUGE}')
    response = Client().post("/api/v1/cases", raw, content_type="application/json")
    assert api_fields(response) == {"attributes.area_m2"}
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("code", "attributes", "field"),
    [
        ("C0101", {"cover_type": ["cast_iron", "grate"], "damage": "missing"}, "cover_type"),
        ("C0101", {"cover_type": {"key": "cast_iron"}, "damage": "missing"}, "cover_type"),
        ("E0101", {"found_at": "2026-02-30T10:00:00+08:00"}, "found_at"),
        ("E0101", {"found_at": "9999-12-31T23:59:59-12:00"}, "found_at"),
        ("E0101", {"found_at": "0001-01-01T00:00:00+14:00"}, "found_at"),
        ("E0101", {"area_m2": 1e300}, "area_m2"),
        ("E0110", {"noise_period": [["night"]]}, "noise_period"),
    ],
    ids=[
        "list-for-single",
        "object-for-single",
        "feb-30",
        "past-9999",
        "before-0001",
        "1e300",
        "nested-list",
    ],
)
def test_api_refuses_attribute_values_out_of_range(world, code, attributes, field):
    response = report(Client(), category_code=code, attributes=attributes)
    assert f"attributes.{field}" in api_fields(response)
    assert not Case.objects.exists()


@pytest.mark.parametrize("fmt", ["xml", "json"])
@pytest.mark.parametrize(
    ("code", "fields", "parameter"),
    [
        ("E0101", {"attribute[area_m2]": HUGE}, "attribute[area_m2]"),
        (
            "C0101",
            {"attribute[cover_type][]": ["cast_iron", "grate"], "attribute[damage]": "missing"},
            "attribute[cover_type]",
        ),
        ("E0101", {"attribute[found_at]": "2026-02-30T10:00:00+08:00"}, "attribute[found_at]"),
        ("E0101", {"attribute[found_at]": "9999-12-31T23:59:59-12:00"}, "attribute[found_at]"),
    ],
    ids=["401-digits", "list-for-single", "feb-30", "past-9999"],
)
def test_open311_refuses_attribute_values_out_of_range(api_key, fmt, code, fields, parameter):
    response = post_request(Client(), fmt, api_key, service_code=code, **fields)
    if fmt == "xml":
        descriptions = [d for _c, d in open311_xml_errors(response, 400)]
    else:
        descriptions = [e["description"] for e in open311_json_errors(response, 400)]
    assert any(d.startswith(f"{parameter}: ") for d in descriptions), descriptions
    assert not Case.objects.exists()


def test_one_check_for_both_doors(api_key):
    """The API and Open311 give the same refusal for the same wrong value."""
    english = Client(headers={"accept-language": "en"})  # as the Open311 client below asks
    api = report(english, category_code="E0101", attributes={"found_at": "2026-02-30T10:00"})
    message = next(
        e["message"] for e in api_errors(api, 400) if e["field"] == "attributes.found_at"
    )
    open311 = post_request(
        Client(),
        "json",
        api_key,
        service_code="E0101",
        **{"attribute[found_at]": "2026-02-30T10:00"},
    )
    descriptions = [e["description"] for e in open311_json_errors(open311, 400)]
    assert f"attribute[found_at]: {message}" in descriptions


def test_good_attribute_values_still_pass(world):
    response = report(
        Client(),
        category_code="E0101",
        attributes={"area_m2": 12.5, "found_at": "2026-01-31T09:30:00+08:00"},
    )
    assert response.status_code == 201, response.content


# --- Open311 query parameters -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("page=%C2%B2", "page"),  # ² passes str.isdigit()
        ("page_size=%C2%B3", "page_size"),
        ("page=%EF%BC%91", "page"),  # fullwidth 1
        ("start_date=9999-12-31T23:59:59-12:00", "start_date"),
        ("end_date=0001-01-01T00:00:00%2B14:00", "end_date"),
        ("updated_after=9999-12-31T23:59:59-12:00", "updated_after"),
        ("updated_before=0001-01-01T00:00:00%2B14:00", "updated_before"),
        ("start_date=2026-02-30T10:00:00Z", "start_date"),
        ("start_date=%EF%BC%92026-01-01T10:00:00Z", "start_date"),  # a fullwidth digit
    ],
)
@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_open311_refuses_query_parameters_out_of_range(world, fmt, query, parameter):
    for path in ("requests", "servicerequestupdates"):
        response = Client().get(f"{BASE}/{path}.{fmt}?{query}")
        if fmt == "xml":
            descriptions = [d for _c, d in open311_xml_errors(response, 400)]
        else:
            descriptions = [e["description"] for e in open311_json_errors(response, 400)]
        assert any(d.startswith(f"{parameter}: ") for d in descriptions), (path, descriptions)


def test_open311_unicode_digit_ids_are_not_found(world):
    response = Client().get(f"{BASE}/requests/%C2%B2.json")
    open311_json_errors(response, 404)
    response = Client().get(f"{BASE}/requests.json?service_request_id=%C2%B2,1")
    assert response.status_code == 200
    assert response.json() == []


def test_api_date_filters_refuse_impossible_dates(world):
    staff = world.client("district_disp")
    for value in ("2026-02-30", "0000-01-01", "10000-01-01"):
        response = staff.get(f"/api/v1/cases?since={value}")
        assert api_fields(response) == {"since"}, value


# --- NUL and other control characters, in every body type ---------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/json"])
@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\ud800"])
def test_api_refuses_controls_in_json_whatever_the_content_type(world, content_type, char):
    body = {
        "channel": "resident_web",
        "category_code": CATEGORY,
        "description": f"垃圾堆放{char}无人清理",
        **A11,
        "reporter_phone": "13800138000",
    }
    raw = json.dumps(body)  # the control as a \\u escape, as a JSON client sends it
    extra = {"content_type": content_type} if content_type else {}
    if content_type is None:
        response = Client().generic("POST", "/api/v1/cases", raw.encode())
    else:
        response = Client().post("/api/v1/cases", raw, **extra)
    errors = api_errors(response, 400)
    assert errors[0]["field"] == "description", errors
    assert errors[0]["code"] == "control_character"
    assert not Case.objects.exists()


def test_api_keeps_tab_and_newline_in_free_text(world):
    response = report(Client(), description="垃圾堆放三天\n\t无人清理，气味很大")
    assert response.status_code == 201, response.content


def test_api_refuses_controls_in_query_and_multipart(world):
    staff = world.client("district_disp")
    assert api_fields(staff.get("/api/v1/cases?q=a%00b")) == {"q"}
    assert api_fields(staff.get("/api/v1/cases?q=a%07b")) == {"q"}
    upload = SimpleUploadedFile("p.png", png_bytes(), "image/png")
    response = Client().post("/api/v1/uploads", {"file": upload, "caption": "a\x00b"})
    assert api_fields(response) == {"caption"}


@pytest.mark.parametrize("char", ["\x00", "\x0b"])
@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_open311_refuses_controls_in_form_and_multipart(api_key, fmt, char):
    response = post_request(Client(), fmt, api_key, description=f"垃圾{char}堆放")
    if fmt == "xml":
        descriptions = [d for _c, d in open311_xml_errors(response, 400)]
    else:
        descriptions = [e["description"] for e in open311_json_errors(response, 400)]
    assert descriptions[0].startswith("description: "), descriptions
    multipart = {**request_body(api_key, first_name=f"小{char}明")}
    multipart["media"] = SimpleUploadedFile("p.png", png_bytes(), "image/png")
    response = Client().post(f"{BASE}/requests.{fmt}", multipart, **EN)
    assert response.status_code == 400
    assert not Case.objects.exists()


def test_open311_documents_never_carry_controls_stored_before(api_key):
    """Data stored before the rule (here written straight to the table) must not make the
    public requests.xml unparseable for every client."""
    created = post_request(Client(), "json", api_key)
    assert created.status_code == 201, created.content
    Case.objects.update(description="stored\x01with\x1fcontrols and text")
    xml = Client().get(f"{BASE}/requests.xml")
    root = ET.fromstring(xml.content)  # noqa: S314  (our own server's answer in a test)
    assert root.findtext("request/description") == "storedwithcontrols and text"
    as_json = Client().get(f"{BASE}/requests.json")
    no_controls(as_json.content.decode("utf-8"))
    assert as_json.json()[0]["description"] == "storedwithcontrols and text"


def test_api_json_never_carries_controls_stored_before(world):
    created = report(Client())
    assert created.status_code == 201, created.content
    Case.objects.update(address="stored\x01with\x08controls and text")
    code = created.json()["tracking_code"]
    response = Client().get(f"/api/v1/track/{code}")
    assert response.status_code == 200, response.content
    text = response.content.decode("utf-8")
    assert "\\u0001" not in text and "\\u0000" not in text and "\\ud800" not in text
    no_controls(text)
    assert response.json()["address"] == "storedwithcontrols and text"


# --- Web forms keep HTML and refuse controls -----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        (
            "/report/",
            {
                "category_code": CATEGORY,
                "description": "垃圾\x00堆放",
                "lat": A11["lat"],
                "lon": A11["lon"],
                "reporter_phone": "13800138000",
            },
        ),
        ("/track/", {"code": "ABC\x00DEF"}),
        ("/login/", {"username": "admin\x00", "password": "x\x00"}),
        ("/login/", {"username": "admin\x01", "password": "secret"}),
    ],
    ids=["report", "track", "login-nul", "login-c0"],
)
def test_web_forms_refuse_controls_with_html(world, path, data):
    client = Client(enforce_csrf_checks=False)
    response = client.post(path, data)
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("text/html")
    assert b"U+00" in response.content
    assert not Case.objects.exists()


def test_web_query_string_with_nul_is_a_400_page(world):
    response = Client().get("/track/?code=A%00B")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_web_report_form_attribute_out_of_range_is_a_form_error(world):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        "/report/",
        {
            "category_code": "E0101",
            "description": "路边堆放大量建筑垃圾，影响通行",
            "lat": A11["lat"],
            "lon": A11["lon"],
            "reporter_phone": "13800138000",
            "attr_area_m2": "1e300",
            "attr_found_at": "9999-12-31T23:59",
        },
    )
    assert response.status_code == 200, response.status_code  # the form again, with errors
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "A number is expected" in page
    assert "The date and time must lie between the years 1900 and 2999" in page
    assert not Case.objects.exists()


# --- Errors in the caller's format ---------------------------------------------------------------


def test_api_unknown_url_and_wrong_method_are_json(world):
    api_errors(Client().get("/api/v1/no-such-thing"), 404)
    response = Client().put("/api/v1/cases", "{}", content_type="application/json")
    api_errors(response, 405)
    assert "POST" in response["Allow"]


def test_api_oversized_json_is_a_json_413(world):
    body = json.dumps({"description": "x" * (5 * 1024 * 1024)})
    errors = api_errors(Client().post("/api/v1/cases", body, content_type="application/json"), 413)
    assert errors[0]["code"] == "too_large"


def test_api_multipart_without_boundary_is_a_json_400(world):
    response = Client().post("/api/v1/uploads", b"--x\r\n\r\n", content_type="multipart/form-data")
    assert api_errors(response, 400)[0]["code"] == "bad_multipart"


def test_api_too_many_fields_is_a_json_400(world):
    fields = "&".join(f"f{i}=1" for i in range(1200))
    response = Client().post(
        "/api/v1/uploads", fields, content_type="application/x-www-form-urlencoded"
    )
    assert api_errors(response, 400)[0]["code"] == "too_many_fields"


def test_api_malformed_json_is_a_json_4xx(world):
    response = Client().post("/api/v1/cases", "{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    api_errors(response, response.status_code)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_open311_oversized_and_malformed_bodies_are_error_documents(api_key, fmt):
    url = f"{BASE}/requests.{fmt}"
    cases = [
        (Client().post(url, {"description": "x" * (5 * 1024 * 1024)}), 413),
        (Client().post(url, b"--x\r\n\r\n", content_type="multipart/form-data"), 400),
        (
            Client().post(
                url,
                "&".join(f"attribute[a{i}]=1" for i in range(1200)),
                content_type="application/x-www-form-urlencoded",
            ),
            400,
        ),
        (Client().get(f"{BASE}/no-such-thing.{fmt}"), 404),
    ]
    for response, status in cases:
        if fmt == "xml":
            open311_xml_errors(response, status)
        else:
            open311_json_errors(response, status)


def test_unexpected_exceptions_are_500s_without_a_traceback(caplog):
    from gridlink.error_views import exception_response, server_error

    factory = RequestFactory()
    secret = "do-not-show-this-internal-detail"
    api = exception_response(factory.get("/api/v1/cases"), RuntimeError(secret))
    assert api.status_code == 500
    body = json.loads(api.content)
    assert set(body) == API_ERROR_KEYS and body["errors"][0]["code"] == "server_error"
    assert secret not in api.content.decode() and "Traceback" not in api.content.decode()
    assert secret in caplog.text  # logged for the operator
    open311 = exception_response(factory.get(f"{BASE}/requests.xml"), RuntimeError(secret))
    assert open311.status_code == 500 and secret.encode() not in open311.content
    root = ET.fromstring(open311.content)  # noqa: S314  (our own answer)
    assert root.tag == "errors" and root.findtext("error/code") == "500"
    as_json = server_error(factory.get(f"{BASE}/requests.json"))
    assert as_json.status_code == 500 and json.loads(as_json.content)[0]["code"] == 500
    page = server_error(factory.get("/report/"))
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


def test_api_handler_catches_unexpected_exceptions():
    """The API object's catch-all handler (ninja would re-raise, or show a traceback in DEBUG)."""
    from gridlink.api import api

    request = RequestFactory().get("/api/v1/cases")
    response = api.on_exception(request, ZeroDivisionError("internal"))
    assert response.status_code == 500
    assert json.loads(response.content)["errors"][0]["code"] == "server_error"


def test_web_pages_keep_html_errors(world):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- The OpenAPI document declares the errors ----------------------------------------------------


def test_openapi_declares_error_responses_on_every_operation():
    schema = Client().get("/api/v1/openapi.json").json()
    assert "Error" in schema["components"]["schemas"]
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(operations) > 30
    for path, method, op in operations:
        responses = op["responses"]
        for status in ("400", "404", "422", "429"):
            assert status in responses, (path, method, status)
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/Error"
        if op.get("security") and method == "get":
            assert {"401", "403"} <= set(responses), (path, method)
        if method == "post" and "requestBody" in op:
            assert "413" in responses, (path, method)
    action = schema["paths"]["/api/v1/cases/{case_id}/actions/{action}"]["post"]["responses"]
    assert {"409", "412", "428"} <= set(action)
