"""The checked-in OpenAPI schemas are what the code generates, in the 3.0 form Bedrock agents accept."""

from __future__ import annotations

import json

from tools import agent_schemas


def test_the_checked_in_schema_is_what_the_code_generates():
    assert agent_schemas.drift() == [], "run python -m tools.agent_schemas"
    assert agent_schemas.main(["--check"]) == 0


def test_drift_is_detected(tmp_path, monkeypatch):
    monkeypatch.setattr(agent_schemas, "SCHEMAS_DIR", tmp_path)
    assert agent_schemas.drift() == ["retention_analyst"]  # missing
    (tmp_path / "retention_analyst.openapi.json").write_text(
        agent_schemas.generate("retention_analyst").replace("1 to 50", "1 to 500")
    )
    assert agent_schemas.main(["--check"]) == 1
    assert agent_schemas.main([]) == 0
    assert agent_schemas.drift() == []


def test_the_schema_is_openapi_3_0_with_every_operation_described():
    schema = json.loads(agent_schemas.schema_path("retention_analyst").read_text())
    assert schema["openapi"] == "3.0.3"
    operations = {
        op["operationId"]: (path, method, op) for path, item in schema["paths"].items() for method, op in item.items()
    }
    assert {name: (path, method) for name, (path, method, _) in operations.items()} == {
        "get_customer_profile": ("/customers/{customer_id}", "get"),
        "list_customer_interactions": ("/customers/{customer_id}/interactions", "get"),
        "rank_retention_offers": ("/customers/{customer_id}/offers/ranked", "get"),
        "create_offer": ("/customers/{customer_id}/offers", "post"),
    }
    assert all(op["description"] for _, _, op in operations.values())
    assert operations["create_offer"][2]["x-requireConfirmation"] == "ENABLED"
    assert '"type": "null"' not in json.dumps(schema)  # 3.1's null type; 3.0 says nullable
    limit = next(p for p in operations["list_customer_interactions"][2]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 50)
    top = next(p for p in operations["rank_retention_offers"][2]["parameters"] if p["name"] == "top")
    assert (top["schema"]["minimum"], top["schema"]["maximum"]) == (1, 10)
    offer = schema["components"]["schemas"]["OfferRequest"]["properties"]["discount_percent"]
    assert (offer["minimum"], offer["maximum"]) == (0, 50)
