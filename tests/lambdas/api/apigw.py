"""What the Lambda Web Adapter does with an API Gateway REST proxy event, as a TestClient request.

The adapter turns the invocation's event into an HTTP request to the app on 127.0.0.1: the event's method,
path, query string, headers and body (base64-decoded when ``isBase64Encoded``), plus the event's
``requestContext`` as JSON in the ``x-amzn-request-context`` header; the app's answer becomes the proxy
response (statusCode, headers, body).
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

from starlette.testclient import TestClient


def rest_proxy_event(
    method: str, path: str, *, sub: str, groups: str = "users", body: Any = None, request_id: str = "apigw-1"
) -> dict[str, Any]:
    """A REST API (v1) Lambda proxy event behind a Cognito user-pool authorizer."""
    raw = None if body is None else json.dumps(body)
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json", "Authorization": "Bearer eyJ..."},
        "multiValueHeaders": {"content-type": ["application/json"], "Authorization": ["Bearer eyJ..."]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": request_id,
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "pytest"},
            "authorizer": {
                "claims": {"sub": sub, "cognito:groups": groups, "token_use": "id", "email": "u@example.com"}
            },
        },
        "body": raw,
        "isBase64Encoded": False,
    }


def invoke(client: TestClient, event: dict[str, Any]) -> dict[str, Any]:
    """The proxy response the adapter would return for ``event``."""
    headers = {k: v[-1] for k, v in (event.get("multiValueHeaders") or {}).items()} or dict(event.get("headers") or {})
    headers["x-amzn-request-context"] = json.dumps(event["requestContext"])
    query = event.get("multiValueQueryStringParameters") or {}
    url = event["path"] + ("?" + urlencode(query, doseq=True) if query else "")
    body = event.get("body")
    content = base64.b64decode(body) if body is not None and event.get("isBase64Encoded") else body
    response = client.request(event["httpMethod"], url, content=content, headers=headers)
    return {
        "statusCode": response.status_code,
        "headers": dict(response.headers),
        "body": response.text,
        "isBase64Encoded": False,
    }
