"""The OpenAPI document says what the API really answers on errors.

FastAPI documents a `422` "Validation Error" with its own `detail` schema on every operation with parameters, but
this API answers bad input with `400` and `{"error": "<field>: <problem>"}` (see `catalog.app`), and every other
refusal with the same `{"error"}` shape. Clients generated from the document, and the schemathesis fuzz test that
checks responses against it, need the real statuses: this rewrites each operation's error responses once, when
the document is first built.
"""

from __future__ import annotations

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/Error"}
REJECTED_REF = {"$ref": "#/components/schemas/PublishRejected"}
PUBLISHING = {("post", "/api/v1/versions"), ("post", "/api/v1/versions/from-dataset")}
COMMON = {
    "400": "Bad input: the error names the parameter or field and what is wrong",
    "401": "No valid credentials (server mode)",
    "403": "The caller lacks the right this operation needs",
    "404": "What the request names does not exist, or is hidden from the caller",
}
WITH_BODY = {"413": "The body is larger than this operation's limit (the error names it)"}
ON_PUBLISH = {"409": "Another publish of the dataset landed first",
              "502": "The source dataset could not be read to the end (down, unreachable); nothing was published",
              "422": "The version failed its checks: `report` holds every check's result"}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace FastAPI's 422 validation response by the API's own error responses, in place; returns `schema`."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = {"type": "object", "required": ["error"],
                           "properties": {"error": {"type": "string"}}}
    components["PublishRejected"] = {"type": "object", "required": ["error", "report"],
                                     "properties": {"error": {"type": "string"}, "report": {"type": "object"}}}
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, item in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            _document(operation, method, path)
    return schema


def _document(operation: dict[str, Any], method: str, path: str) -> None:
    responses = operation["responses"]
    responses.pop("422", None)
    wanted = dict(COMMON)
    if "requestBody" in operation:
        wanted.update(WITH_BODY)
    if (method, path) in PUBLISHING:
        wanted.update(ON_PUBLISH)
    for status, description in wanted.items():
        reference = REJECTED_REF if status == "422" else ERROR_REF
        responses.setdefault(status, {"description": description,
                                      "content": {"application/json": {"schema": reference}}})
