"""The OpenAPI documents are the contract: both validate, paths are plain templates with
typed bounded parameters, query parameters and headers are declared, success statuses
are the ones answered, and every error code the code base can raise on the native API
is listed with its status and Russian message."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

from cloud.main import build_app
from cloud.services.deps import Deps
from schemas.errors import ERRORS

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = (
    "/api/v1/openapi.json",
    "/evotor/terminal/v1/openapi.json",
    "/sigma/v1/openapi.json",
    "/moysklad/v1/openapi.json",
    "/frontol/v1/openapi.json",
    "/evotor/merchant/v1/openapi.json",
    "/modulkassa/v1/openapi.json",
    "/1c/v1/openapi.json",
)

# Where native-API errors are raised, and the classes that carry their status.
SCANNED = ["cloud/api", "cloud/services", "cloud/ledger", "cloud/engine", "cloud/phones.py",
           "cloud/web_json.py", "cloud/messages", "cloud/observability"]  # fmt: skip
STATUS_OF = {"BadRequest": 400, "Unauthorized": 401, "PaymentRequired": 402, "Forbidden": 403,
             "NotFound": 404, "BodyTimeout": 408, "Conflict": 409, "Unprocessable": 422,
             "EngineError": 422, "TooManyRequests": 429}  # fmt: skip
# Raised in the scanned code but never on a native API path, with the reason.
NOT_ON_THE_API = {
    "invalid_channel": "register_customer is called with a fixed channel by each caller",
    "frontol_bad_signature": "the Frontol adapter's signature check (webhooks/frontol)",
    "moysklad_missing_token": "the МойСклад adapter's token check (webhooks/moysklad)",
    "moysklad_bad_token": "the МойСклад adapter's token check (webhooks/moysklad)",
    "coupon_rule_unknown": "the engine's guard: the service passes only the coupon rules of "
    "the program version pricing the receipt (cloud.services.coupon_use)",
    **{
        code: "the cabinet's A/B tests (cloud.cabinet.experiments): shown on its pages"
        for code in (
            "experiment_applied",
            "experiment_not_found",
            "experiment_running",
            "experiment_parameter_unsupported",
            "experiment_stopped",
            "invalid_experiment",
        )
    },
}
# Raised only on the terminal channels (their own error shapes and documents).
CHANNEL_ONLY = (
    "evotor_accounts.py",
    "evotor_receipts.py",
    "evotor_paybacks.py",
    "evotor_catalog.py",
    "receipt_sessions.py",
)


@pytest.fixture
async def service(aiohttp_client: Any, deps: Deps) -> TestClient:
    client: TestClient = await aiohttp_client(build_app(deps.settings, deps=deps))
    return client


async def documents(client: TestClient) -> dict[str, dict[str, Any]]:
    found = {}
    for path in DOCUMENTS:
        response = await client.get(path)
        assert response.status == 200, path
        found[path] = await response.json()
    return found


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_documents_are_valid_openapi(service: TestClient) -> None:
    """Every published document (native, Evotor, SIGMA) passes openapi-spec-validator
    (OpenAPI 3.1)."""
    for path, document in (await documents(service)).items():
        validate(document)  # raises with the offending place
        assert document["openapi"] == "3.1.0", path


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_paths_are_plain_templates_with_bounded_integer_ids(service: TestClient) -> None:
    """No aiohttp pattern leaks into a path (``{version:\\d+}``); each template parameter
    is declared once, in the path, as a bounded integer."""
    native = (await documents(service))["/api/v1/openapi.json"]
    assert "/api/v1/programs/{version}" in native["paths"]
    for path, item in native["paths"].items():
        assert ":" not in path and "\\" not in path, path
        names = re.findall(r"\{(\w+)\}", path)
        for method, operation in item.items():
            declared = [p for p in operation.get("parameters", []) if p["in"] == "path"]
            assert [p["name"] for p in declared] == names, (method, path)
            for param in declared:
                schema = param["schema"]
                assert schema["type"] == "integer" and schema["minimum"] == 1, path
                assert schema["maximum"] in (2**31 - 1, 2**63 - 1), path


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_parameters_headers_and_success_statuses(service: TestClient) -> None:
    """lookup declares ?phone= and ?card=, history ?limit= and ?before=; registration
    declares the Idempotency-Key header; creations are documented as 201."""
    paths = (await documents(service))["/api/v1/openapi.json"]["paths"]

    def params(path: str, method: str, location: str) -> set[str]:
        found = paths[path][method].get("parameters", [])
        return {p["name"] for p in found if p["in"] == location}

    assert params("/api/v1/customers/lookup", "get", "query") == {"phone", "card"}
    assert params("/api/v1/customers/{customer_id}/history", "get", "query") == {
        "limit",
        "before",
    }
    assert params("/api/v1/customers", "post", "header") == {"Idempotency-Key"}
    for path, method, statuses in (
        ("/api/v1/customers", "post", {"201"}),
        ("/api/v1/programs", "post", {"201"}),
        ("/api/v1/customers/{customer_id}/cards", "post", {"200", "201"}),
        ("/api/v1/checkout/confirm", "post", {"200"}),
    ):
        success = {s for s in paths[path][method]["responses"] if s.startswith("2")}
        assert success == statuses, (path, success)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_every_error_is_listed_with_status_and_message(service: TestClient) -> None:
    """No generic ``4XX``: each error status of an operation lists its codes with their
    Russian messages (an example each), and the code is constrained to that list; every
    registered code appears in the document's table of codes."""
    native = (await documents(service))["/api/v1/openapi.json"]
    listed: set[str] = set()
    for path, item in native["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert not any(s.upper().endswith("XX") for s in responses), (method, path)
            # The probes take no credential: no 401 to answer.
            assert {"500"} | ({"401"} if operation["security"] else set()) <= set(responses)
            for status, response in responses.items():
                if status.startswith("2"):
                    continue
                content = response["content"]["application/json"]
                codes = content["schema"]["allOf"][1]["properties"]["code"]["enum"]
                examples = content["examples"].values()
                assert {e["value"]["code"] for e in examples} == set(codes)
                assert all(re.search("[а-яё]", e["value"]["message"]) for e in examples)
                listed.update(codes)
    assert {"validation_error", "program_not_found", "insufficient_bonuses"} <= listed
    for error in ERRORS:
        assert f"| `{error.code}` | {error.status} |" in native["info"]["description"]


def _raised_codes() -> dict[tuple[str, int], str]:
    """(code, status) of every domain error constructed with a literal code in the
    scanned code, with the file that raises it."""
    found: dict[tuple[str, int], str] = {}
    files = [p for entry in SCANNED for p in sorted((ROOT / entry).rglob("*.py"))
             if p.name not in CHANNEL_ONLY] + [ROOT / "cloud/api/middleware.py"]  # fmt: skip
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            if name in STATUS_OF:
                found[(first.value, STATUS_OF[name])] = str(path.relative_to(ROOT))
            elif name == "error_body" and isinstance(node.args[-1], ast.Constant):
                found[(first.value, int(node.args[-1].value))] = str(path.relative_to(ROOT))
    return found


def test_registry_covers_every_code_the_api_raises() -> None:
    """Every (code, status) raised on the native API's paths is in schemas.errors.ERRORS
    — a new code must be registered (and so documented) with its status and message."""
    raised = _raised_codes()
    assert len(raised) > 40  # the scan sees the code base
    registered = {(error.code, error.status) for error in ERRORS}
    missing = {
        f"{code} ({status}) raised in {where}"
        for (code, status), where in raised.items()
        if (code, status) not in registered and code not in NOT_ON_THE_API
    }
    assert not missing, "add to schemas/errors.py ERRORS: " + "; ".join(sorted(missing))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_every_api_route_is_documented(service: TestClient) -> None:
    """Each route the native API mounts (but the document itself), and the liveness,
    readiness and metrics probes, are in the document with their method, and nothing else is."""
    mounted = {
        (route.method.lower(), route.resource.canonical)
        for route in service.app.router.routes()
        if route.resource is not None and route.method != "HEAD"
        and (route.resource.canonical.startswith(("/api/v1/", "/bridge/v1/"))
             or route.resource.canonical in ("/health", "/ready", "/metrics"))
    } - {("get", "/api/v1/openapi.json")}  # fmt: skip
    assert {("get", "/health"), ("get", "/ready"), ("get", "/metrics")} <= mounted
    paths = (await documents(service))["/api/v1/openapi.json"]["paths"]
    described = {(method, path) for path, item in paths.items() for method in item}
    assert described == mounted
