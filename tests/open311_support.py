"""Helpers of the Open311 tests: a world with a client application, posting, and parsing
both formats (XML with a real parser, JSON checked against the spec's schemas)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import jsonschema
from django.test import Client

from tests.cases_support import A11, CATEGORY

BASE = "/open311/v2"
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def xml_of(response: Any) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8", response["Content-Type"]
    assert response.content.startswith(DECLARATION), response.content[:80]
    return ET.fromstring(response.content)  # noqa: S314  (our own server's answer in a test)


def json_of(response: Any, schema: dict[str, Any]) -> Any:
    assert response["Content-Type"] == "application/json; charset=utf-8"
    data = response.json()
    jsonschema.validate(data, schema)
    return data


def xml_errors(response: Any) -> list[tuple[str, str]]:
    root = xml_of(response)
    assert root.tag == "errors"
    out = []
    for error in root:
        assert error.tag == "error"
        assert [child.tag for child in error] == ["code", "description"]
        out.append((error.findtext("code") or "", error.findtext("description") or ""))
    assert out
    return out


def request_body(api_key: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "api_key": api_key,
        "service_code": CATEGORY,
        "description": "小区门口垃圾堆放三天无人清理，气味很大",
        "lat": str(A11["lat"]),
        "long": str(A11["lon"]),
        "email": "resident@example.org",
        "phone": "13800138000",
        "first_name": "小明",
        "last_name": "王",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def post_request(client: Client, fmt: str, api_key: str, **overrides: Any) -> Any:
    headers = {k: v for k, v in overrides.items() if k.startswith("HTTP_")}
    fields = {k: v for k, v in overrides.items() if not k.startswith("HTTP_")}
    return client.post(f"{BASE}/requests.{fmt}", request_body(api_key, **fields), **EN, **headers)


def created_id(client: Client, api_key: str, **overrides: Any) -> str:
    response = post_request(client, "json", api_key, **overrides)
    assert response.status_code == 201, response.content
    return str(response.json()[0]["service_request_id"])


def xml_requests(response: Any) -> list[dict[str, str]]:
    root = xml_of(response)
    assert root.tag == "service_requests", root.tag
    return [{child.tag: child.text or "" for child in request} for request in root]
