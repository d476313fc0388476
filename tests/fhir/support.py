"""Shared helpers of the FHIR API tests: a registered client and validation by fhir.resources'
R4B models (the R4 line)."""

from __future__ import annotations

import base64
from typing import Any

from django.test import Client
from fhir.resources.R4B import get_fhir_model_class

from scheduling.fhir.access import NewClient, fhir_client_create, scope_for
from scheduling.fhir.registry import REGISTRY

ALL_SCOPES = [scope_for(resource_type) for resource_type in REGISTRY]


def api_client(scopes: list[str] | None = None, name: str = "Test EHR") -> NewClient:
    return fhir_client_create(name=name, scopes=ALL_SCOPES if scopes is None else scopes)


def basic(new: NewClient) -> dict[str, str]:
    pair = f"{new.client.client_id}:{new.secret}".encode()
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(pair).decode()}


def fhir_get(client: Client, url: str, new: NewClient | None, **headers: Any) -> Any:
    return client.get(url, **(basic(new) if new else {}), **headers)


def validated(body: dict[str, Any]) -> dict[str, Any]:
    """The body parses and validates as its resourceType in the R4B models."""
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    return body


def outcome(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/fhir+json")
    body = validated(response.json())
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code, body
    return body
