"""The OpenAPI document declares the optional `Idempotency-Key` header on exactly the
operations that honour it: those whose view calls `idempotent()` (core.idempotency) or reads
the header itself (case intake). The expectation is read from each view's source (its
syntax tree), independently of how the document is post-processed, and pinned by name."""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

from django.test import Client

from gridlink.api import api

HEADER = "Idempotency-Key"
# Known today; a new retry-safe endpoint extends the list (and the source check finds it).
EXPECTED = {
    ("post", "/api/v1/cases"),
    ("post", "/api/v1/cases/{case_id}/actions/{action}"),
    ("post", "/api/v1/tasks/{task_id}/{step}"),
    ("post", "/api/v1/supervision/orders"),
    ("post", "/api/v1/supervision/orders/{order_id}/respond"),
    ("post", "/api/v1/supervision/orders/{order_id}/close"),
}


def _source_honours(view: Any) -> bool:
    """Whether the view's source calls `idempotent(...)` or names the header in code (a
    docstring that mentions it does not count)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(view))))
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "idempotent":
            return True
        if isinstance(node, ast.Constant) and node.value == HEADER:
            return True
    return False


def _operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        op["operationId"]: (method, path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


def test_the_header_is_declared_exactly_where_it_is_honoured(db):
    document = Client().get("/api/v1/openapi.json").json()
    operations = _operations(document)
    honouring: set[str] = set()
    for bound in api._get_bound_routers():
        for view in bound.path_operations.values():
            for operation in view.operations:
                if _source_honours(operation.view_func):
                    honouring.add(operation.operation_id or api.get_openapi_operation_id(operation))
    declared = {
        op_id
        for op_id, (_method, _path, op) in operations.items()
        if any(p["name"] == HEADER for p in op.get("parameters", []))
    }
    assert declared == honouring
    assert {(operations[i][0], operations[i][1]) for i in declared} == EXPECTED
    assert len(operations) > 30  # the rest of the API does not get it


def test_the_header_is_optional_and_described(db):
    document = Client().get("/api/v1/openapi.json").json()
    for _method, _path, op in _operations(document).values():
        params = [p for p in op.get("parameters", []) if p["name"] == HEADER]
        assert len(params) <= 1
        for p in params:
            assert p["in"] == "header" and p["required"] is False
            assert "replays the first answer" in p["description"]
            assert p["schema"] == {"type": "string", "maxLength": 100}
