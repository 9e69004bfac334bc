"""The JSON API under /api/v1/: one NinjaAPI mounting one router per app.

Every error is JSON in one shape, `{"detail": …, "errors": [{"code", "field", "message"}]}`
(docs/cases.md) — domain refusals, validation, authentication, unknown URLs, bodies too
large or unreadable, and unexpected exceptions (a 500 without a traceback). The OpenAPI
document declares these error responses on every operation (`openapi_errors_declare`),
and the `Idempotency-Key` header on the operations that honour it
(`openapi_idempotency_declare`).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema

from gridlink.api_base import RENDERER, BearerToken, SessionCookie
from gridlink.core.errors import DomainError
from gridlink.error_views import GENERIC, api_error_body, exception_response

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, in one sentence."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    "message": {"type": "string"},
                },
                "required": ["code", "field", "message"],
            },
        },
    },
    "required": ["detail", "errors"],
}
ERROR_DESCRIPTIONS = {
    400: "Bad request: a field is invalid (named in `errors`), or the body cannot be read.",
    401: "Authentication required.",
    403: "Not permitted for the caller.",
    404: "Not found, or outside the caller's scope.",
    409: "Conflict with the current state (e.g. a stale `version`).",
    412: "Precondition failed: `If-Match` names an older version.",
    413: "The request body or an upload is too large.",
    422: "A parameter or body field has the wrong type or shape.",
    428: "Precondition required: state the version you saw (`If-Match` or `version`).",
    429: "Too many requests: see `Retry-After`.",
    500: "Unexpected server error (logged; no details are given).",
}
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})


def _error_statuses(method: str, operation: dict[str, Any], path: str) -> list[int]:
    """Which error responses an operation can give (documented on every operation)."""
    statuses = [400, 404, 422, 429, 500]
    secured = bool(operation.get("security"))
    anyone = {} in operation.get("security", []) or not secured
    if secured and not anyone:
        statuses.append(401)
    if method in WRITE_METHODS or secured:
        statuses.append(403)
    if method in WRITE_METHODS:
        statuses.append(409)
        if "requestBody" in operation:
            statuses.append(413)
        if "{" in path:
            statuses += [412, 428]
    return sorted(statuses)


def openapi_errors_declare(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the shared `Error` schema and the error responses to every operation (those an
    endpoint declares itself are kept)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "head", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for status in _error_statuses(method, operation, path):
                responses.setdefault(
                    str(status),
                    {
                        "description": ERROR_DESCRIPTIONS[status],
                        "content": {"application/json": {"schema": ref}},
                    },
                )
    return schema


IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: the same key with the same request (method, path, If-Match and "
        "body) from the same caller replays the first answer (with `Idempotent-Replayed: "
        "true`) instead of acting again; the same key with another request is a 400 naming "
        "`Idempotency-Key`. Keys are kept for GRIDLINK_IDEMPOTENCY_RETENTION_HOURS (48 h)."
    ),
    "schema": {"type": "string", "maxLength": 100},
}


def openapi_idempotency_declare(schema: dict[str, Any], api: NinjaAPI) -> dict[str, Any]:
    """Declare the optional `Idempotency-Key` header on every operation whose view honours
    it (`core.idempotency.honours_idempotency_key`: it calls `idempotent()` or reads the
    header itself), and on no other."""
    from gridlink.core.idempotency import honours_idempotency_key

    honouring = {
        operation.operation_id or api.get_openapi_operation_id(operation)
        for bound in api._get_bound_routers()  # the routers the schema itself is built from
        for view in bound.path_operations.values()
        for operation in view.operations
        if honours_idempotency_key(operation.view_func)
    }
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or operation.get("operationId") not in honouring:
                continue
            parameters = operation.setdefault("parameters", [])
            if not any(p.get("name") == IDEMPOTENCY_PARAMETER["name"] for p in parameters):
                parameters.append(dict(IDEMPOTENCY_PARAMETER))
    return schema


class GridlinkAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        openapi_errors_declare(schema)
        openapi_idempotency_declare(schema, self)
        return schema


api = GridlinkAPI(
    title="gridlink API",
    version="1",
    urls_namespace="api",
    auth=[BearerToken(), SessionCookie()],  # the bearer token first; a session needs CSRF
    docs_url="/docs",
    openapi_url="/openapi.json",
    renderer=RENDERER,
)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    response = api.create_response(
        request,
        # A refusal may carry several field errors (e.g. `InvalidFields`); list them all.
        {"detail": exc.message, "errors": getattr(exc, "errors", None) or [exc.as_dict()]},
        status=exc.status,
    )
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    code, message = GENERIC[401]
    return api.create_response(request, api_error_body(message, code=code), status=401)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "code": str(err.get("type", "invalid")),
            "field": ".".join(str(p) for p in err.get("loc", [])[1:]) or None,
            "message": str(err.get("msg", "invalid value")),
        }
        for err in exc.errors
    ]
    return api.create_response(
        request, {"detail": "The request has invalid fields.", "errors": errors}, status=422
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = GENERIC.get(exc.status_code, (f"http_{exc.status_code}", ""))[0]
    return api.create_response(request, api_error_body(str(exc), code=code), status=exc.status_code)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    code, message = GENERIC[404]
    return api.create_response(request, api_error_body(message, code=code), status=404)


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Bodies too large (413) or unreadable (400), and anything unexpected: a logged 500
    whose body says nothing about the code (never a traceback, whatever DEBUG says)."""
    return exception_response(request, exc)


def _mount() -> None:
    from gridlink.accounts.api import router as accounts_router
    from gridlink.assessment.api import router as assessment_router
    from gridlink.cases.api import router as cases_router
    from gridlink.cases.case_api import router as case_router
    from gridlink.cases.config_api import router as cases_config_router
    from gridlink.core.calendar_api import router as calendar_router
    from gridlink.geo.api import router as geo_router
    from gridlink.outbox.api import router as outbox_router
    from gridlink.registry.api import router as registry_router
    from gridlink.supervision.api import router as supervision_router

    api.add_router("/", geo_router)
    api.add_router("/registry/", registry_router)
    api.add_router("/", cases_router)
    api.add_router("/", case_router)
    api.add_router("/supervision/", supervision_router)
    api.add_router("/assessment/", assessment_router)
    api.add_router("/", accounts_router)
    api.add_router("/", outbox_router)
    api.add_router("/", cases_config_router)
    api.add_router("/", calendar_router)


_mount()
