"""The OpenAPI document declares the error responses the API really gives (400 with `{"error"}`, not FastAPI's
422 `detail`), and an actual bad request matches what it declares."""

from __future__ import annotations

import jsonschema
from fastapi.testclient import TestClient

from catalog.app import create_app
from catalog.settings import Settings


def test_errors_are_documented_as_answered(settings: Settings) -> None:
    api = TestClient(create_app(settings))
    document = api.get("/api/openapi.json").json()
    operations = [(path, method, op) for path, item in document["paths"].items() if path.startswith("/api/")
                  for method, op in item.items()]
    assert len(operations) >= 40
    for path, method, operation in operations:
        statuses = set(operation["responses"])
        assert {"400", "401", "403", "404"} <= statuses, (method, path)
        publishing = path in ("/api/v1/versions", "/api/v1/versions/from-dataset") and method == "post"
        assert ("422" in statuses) == publishing and ("409" in statuses) == publishing, (method, path)
        assert ("413" in statuses) == ("requestBody" in operation), (method, path)
    assert "HTTPValidationError" not in str(document)

    bad = api.get("/api/v1/search", params={"q": "x", "limit": "many"})
    assert bad.status_code == 400
    error_schema = document["components"]["schemas"]["Error"]
    jsonschema.validate(bad.json(), error_schema)
    assert bad.json()["error"].startswith("limit:")
