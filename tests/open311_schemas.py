"""JSON Schemas of the Open311 GeoReport v2 JSON documents (wiki.open311.org/GeoReport_v2),
written from the specification to check gridlink's answers; extensions marked as such."""

from __future__ import annotations

from typing import Any

W3C = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
DATETIME: dict[str, Any] = {"type": "string", "pattern": W3C}
OPTIONAL_DATETIME: dict[str, Any] = {"anyOf": [DATETIME, {"type": "null"}]}
OPTIONAL_STRING: dict[str, Any] = {"type": ["string", "null"]}

ERRORS: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "integer", "minimum": 400, "maximum": 499},
            "description": {"type": "string", "minLength": 1},
        },
    },
}

DISCOVERY: dict[str, Any] = {
    "type": "object",
    "required": ["changeset", "contact", "key_service", "endpoints"],
    "properties": {
        "changeset": OPTIONAL_DATETIME,
        "contact": {"type": "string"},
        "key_service": {"type": "string"},
        "endpoints": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["specification", "url", "changeset", "type", "formats"],
                "properties": {
                    "specification": {"const": "http://wiki.open311.org/GeoReport_v2"},
                    "url": {"type": "string", "pattern": "^https?://"},
                    "changeset": OPTIONAL_DATETIME,
                    "type": {"enum": ["production", "test"]},
                    "formats": {
                        "type": "array",
                        "items": {"enum": ["text/xml", "application/json"]},
                        "contains": {"const": "text/xml"},
                    },
                },
            },
        },
    },
}

SERVICES: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": [
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group",
        ],
        "additionalProperties": False,
        "properties": {
            "service_code": {"type": "string", "minLength": 1},
            "service_name": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "metadata": {"type": "boolean"},
            "type": {"enum": ["realtime", "batch", "blackbox"]},
            "keywords": {"type": "string"},
            "group": {"type": "string"},
        },
    },
}

DATATYPES = ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]

SERVICE_DEFINITION: dict[str, Any] = {
    "type": "object",
    "required": ["service_code", "attributes"],
    "additionalProperties": False,
    "properties": {
        "service_code": {"type": "string"},
        "attributes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "variable",
                    "code",
                    "datatype",
                    "required",
                    "datatype_description",
                    "order",
                    "description",
                ],
                "additionalProperties": False,
                "properties": {
                    "variable": {"type": "boolean"},
                    "code": {"type": "string", "minLength": 1},
                    "datatype": {"enum": DATATYPES},
                    "required": {"type": "boolean"},
                    "datatype_description": OPTIONAL_STRING,
                    "order": {"type": "integer", "minimum": 0},
                    "description": {"type": "string"},
                    "values": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["key", "name"],
                            "additionalProperties": False,
                            "properties": {"key": {"type": "string"}, "name": {"type": "string"}},
                        },
                    },
                },
                "if": {"properties": {"datatype": {"enum": ["singlevaluelist", "multivaluelist"]}}},
                "then": {"required": ["values"]},
                "else": {"not": {"required": ["values"]}},
            },
        },
    },
}

CREATED: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1,
    "items": {
        "type": "object",
        "required": ["service_request_id", "service_notice", "account_id"],
        "properties": {
            "service_request_id": {"type": "string", "pattern": r"^\d+$"},
            "token": {"type": "string"},
            "service_notice": OPTIONAL_STRING,
            "account_id": OPTIONAL_STRING,
        },
    },
}

TOKENS: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1,
    "items": {
        "type": "object",
        "required": ["service_request_id", "token"],
        "additionalProperties": False,
        "properties": {"service_request_id": {"type": "string"}, "token": {"type": "string"}},
    },
}

_HISTORY_ITEM: dict[str, Any] = {
    "type": "object",
    "required": ["updated_datetime", "status", "detailed_status", "description"],
    "additionalProperties": False,
    "properties": {
        "updated_datetime": DATETIME,
        "status": {"enum": ["open", "closed"]},
        "detailed_status": {"type": "string"},
        "description": OPTIONAL_STRING,
    },
}

REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]

SERVICE_REQUESTS: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": REQUEST_FIELDS,
        "additionalProperties": False,
        "properties": {
            "service_request_id": {"type": "string", "pattern": r"^\d+$"},
            "status": {"enum": ["open", "closed"]},
            "status_notes": OPTIONAL_STRING,
            "service_name": {"type": "string"},
            "service_code": {"type": "string"},
            "description": {"type": "string"},
            "agency_responsible": OPTIONAL_STRING,
            "service_notice": OPTIONAL_STRING,
            "requested_datetime": DATETIME,
            "updated_datetime": DATETIME,
            "expected_datetime": OPTIONAL_DATETIME,
            "address": OPTIONAL_STRING,
            "address_id": OPTIONAL_STRING,
            "zipcode": OPTIONAL_STRING,
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "long": {"type": "number", "minimum": -180, "maximum": 180},
            "media_url": {"anyOf": [{"type": "string", "pattern": "^https?://"}, {"type": "null"}]},
            # extension: extensions=true
            "extended_attributes": {
                "type": "object",
                "required": ["detailed_status", "detailed_status_name", "status_history"],
                "additionalProperties": False,
                "properties": {
                    "detailed_status": {"type": "string"},
                    "detailed_status_name": {"type": "string"},
                    "status_history": {"type": "array", "items": _HISTORY_ITEM},
                },
            },
        },
    },
}

# extension: GET servicerequestupdates
UPDATES: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": [
            "update_id",
            "service_request_id",
            "status",
            "updated_datetime",
            "description",
            "media_url",
        ],
        "additionalProperties": False,
        "properties": {
            "update_id": {"type": "string"},
            "service_request_id": {"type": "string"},
            "status": {"enum": ["open", "closed"]},
            "updated_datetime": DATETIME,
            "description": {"type": "string"},
            "media_url": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
    },
}
