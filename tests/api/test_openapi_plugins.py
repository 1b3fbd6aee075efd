"""The OpenAPI document lists the plugin types registered when it is made, not only those
registered when the API modules were imported: a deployment's own rule type registered at
start-up is documented in the bodies that hold rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.rules.test_rule_plugins import tall_object  # noqa: F401  (fixture)


def body_of(document: dict[str, Any], path: str, method: str) -> str:
    operation = document["paths"][path][method]
    return str(operation["requestBody"]["content"]["application/json"]["schema"])


def test_a_rule_type_registered_after_import_is_in_the_openapi_document(
    make_client: Callable[..., TestClient],
    tall_object: None,  # noqa: F811
) -> None:
    document = make_client().get("/openapi.json").json()
    for path, method in (
        ("/api/cameras/{camera_id}/rules", "put"),
        ("/api/cameras", "post"),
        ("/api/cameras/{camera_id}", "put"),
    ):
        body = body_of(document, path, method)
        assert "tall_object" in body and "min_height" in body, (path, method)
        assert "count_above" in body, (path, method)  # the built-ins stay
