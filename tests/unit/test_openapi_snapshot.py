"""The dashboard's typed client is checked (by Vitest) against dashboard/openapi.snapshot.json;
this keeps that snapshot equal to the document the API serves, so neither side drifts."""

import json
from pathlib import Path

import pytest

from emailsched.api.openapi import openapi_document

pytestmark = pytest.mark.unit
SNAPSHOT = Path(__file__).resolve().parents[2] / "dashboard" / "openapi.snapshot.json"


def test_the_dashboards_openapi_snapshot_is_the_served_document():
    served = json.loads(openapi_document())
    assert json.loads(SNAPSHOT.read_text()) == served, (
        "regenerate: python -m emailsched.api.openapi > dashboard/openapi.snapshot.json")


def test_every_operation_documents_the_spec_error_shape():
    document = json.loads(openapi_document())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "400" in operation["responses"], (method, path)
            assert operation["responses"]["400"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorOut"}
