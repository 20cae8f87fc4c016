"""/metrics: requests counted by channel, canonical route and error code (the native API
and the adapters' sub-applications alike), the outbox and holds read from the database
when scraped, job runs, the optional token, request ids in answers and log lines, and
multi-process collection across forked workers."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from cloud.clock import ManualClock, to_epoch
from cloud.main import build_app
from cloud.observability import metrics, scrape
from cloud.services import scheduler
from cloud.services.deps import Deps
from tests.conftest import Tenant, make_tenant
from tests.ledger.helpers import create_customer
from tests.webhooks.frontol.conftest import connect, steps

RECEIPT = {"receipt": {"id": "m-1", "lines": [
    {"id": "1", "name": "Жидкость", "price": 450.00, "quantity": 2}]}}  # fmt: skip


async def _page(service: TestClient, **headers: str) -> str:
    response = await service.get("/metrics", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return await response.text()


def _value(page: str, name: str, **labels: str) -> float:
    """The sample ``name`` whose labels include ``labels`` (0 when absent)."""
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return float(sample.value)
    return 0.0


@pytest.fixture
async def service(aiohttp_client: Any, deps: Deps) -> TestClient:
    client: TestClient = await aiohttp_client(build_app(deps.settings, deps=deps))
    return client


async def test_requests_are_counted_by_channel_route_and_code(
    service: TestClient, deps: Deps, demo_tenant: Tenant
) -> None:
    """A calculate, a Frontol calculate and refusals move the latency histogram of their
    channel and canonical route and the error counter of their code: a native 404 by
    ``customer_not_found`` under ``/api/v1/customers/{customer_id}`` (the id never in a
    label), Frontol's refusal answered with HTTP 200 by its code, an unknown address as
    ``unmatched``."""
    count = "loyalty_http_request_duration_seconds_count"
    errors = "loyalty_http_errors_total"
    calculate = {"channel": "api", "route": "/api/v1/checkout/calculate", "method": "POST"}
    customer = {"channel": "api", "route": "/api/v1/customers/{customer_id}"}
    frontol_route = {"channel": "frontol", "route": "/frontol/v1/{organization}/document"}
    frontol = await connect(service, deps, "Молочная лавка", "org-metrics")
    before = await _page(service)

    auth = {"Authorization": f"Bearer {demo_tenant.token}"}
    assert (
        await service.post("/api/v1/checkout/calculate", json=RECEIPT, headers=auth)
    ).status == 200
    assert (await service.get("/api/v1/customers/987654321", headers=auth)).status == 404
    await frontol.ok("document", steps("sale_with_bonus_payment")[0]["request"])
    refused = await frontol.raw("document", b"{not json")
    assert refused["code"] != 0
    assert (await service.get("/no/such/987654321")).status == 404
    after = await _page(service)

    assert _value(after, count, **calculate) == _value(before, count, **calculate) + 1
    assert _value(after, count, **customer) == _value(before, count, **customer) + 1
    assert _value(after, count, **frontol_route) == _value(before, count, **frontol_route) + 2
    for labels in (
        {"channel": "api", "code": "customer_not_found", "status": "404"},
        {"channel": "frontol", "code": "malformed_json", "status": "200"},
        {"channel": "pages", "code": "not_found", "status": "404"},
    ):
        assert _value(after, errors, **labels) == _value(before, errors, **labels) + 1, labels
    assert _value(after, count, channel="pages", route="unmatched") >= 1
    assert "987654321" not in after and "org-metrics" not in after


async def test_outbox_and_holds_are_read_when_scraped(
    service: TestClient, deps: Deps, demo_tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox's depth (pending and claimed), the messages due and the wait of the
    oldest due one, and the active holds, as the database holds them at the scrape; a
    second scrape within the cache's seconds reuses the figures, a later one reads anew."""
    now = to_epoch(deps.clock())
    member = await create_customer(deps, demo_tenant.merchant_id)
    rows = [  # status, created_at, next_attempt_at
        ("pending", now - 600, 0),  # due for 10 minutes
        ("pending", now - 900, now - 120),  # a retry, due for 2 minutes
        ("pending", now - 60, now + 3600),  # waiting for the quiet hours to end
        ("claimed", now - 30, now + 200),  # being sent
        ("sent", now - 5000, 0),
    ]
    async with deps.db.transaction() as tx:
        for status, created, attempt in rows:
            await tx.execute(
                "INSERT INTO notifications (merchant_id, customer_id, channel, recipient_enc, "
                "body, status, cost, created_at, next_attempt_at) "
                "VALUES (:m, :c, 'sms', :r, 'x', :s, 0, :created, :attempt)",
                {"m": demo_tenant.merchant_id, "c": member.id, "r": b"-", "s": status,
                 "created": created, "attempt": attempt},
            )  # fmt: skip
        for receipt, status in (("r-1", "active"), ("r-2", "active"), ("r-3", "consumed")):
            await tx.execute(
                "INSERT INTO holds (merchant_id, customer_id, source, receipt_external_id, "
                "amount, status, expires_at, created_at) "
                "VALUES (:m, :c, 'api', :r, 100, :s, :exp, :now)",
                {"m": demo_tenant.merchant_id, "c": member.id, "r": receipt, "s": status,
                 "exp": now + 900, "now": now},
            )  # fmt: skip

    page = await _page(service)
    assert _value(page, "loyalty_metrics_database_up") == 1
    assert _value(page, "loyalty_outbox_depth") == 4
    assert _value(page, "loyalty_outbox_due") == 2
    assert _value(page, "loyalty_outbox_oldest_due_age_seconds") == 600
    assert _value(page, "loyalty_holds_active") == 2
    assert _value(page, "loyalty_db_pool_connections", state="max") >= 1

    async with deps.db.transaction() as tx:
        await tx.execute("UPDATE holds SET status = 'released' WHERE receipt_external_id = 'r-1'")
    assert _value(await _page(service), "loyalty_holds_active") == 2  # cached
    monkeypatch.setattr(scrape, "CACHE_SECONDS", 0.0)
    assert _value(await _page(service), "loyalty_holds_active") == 1


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_metrics_token_is_required_once_set(aiohttp_client: Any, deps: Deps) -> None:
    """With LOYALTY_METRICS_TOKEN set, /metrics answers 401 ``metrics_unauthorized``
    without the header or with another token, and the page with ``Bearer <token>``."""
    token = "metrics-token-0123456789"
    settings = deps.settings.model_copy(update={"metrics_token": token})
    guarded = dataclasses.replace(deps, settings=settings)
    service = await aiohttp_client(build_app(settings, deps=guarded))
    for headers in ({}, {"Authorization": "Bearer another-token-0123456789"}):
        refused = await service.get("/metrics", headers=headers)
        assert refused.status == 401
        assert (await refused.json())["code"] == "metrics_unauthorized"
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    page = await _page(service, Authorization=f"Bearer {token}")
    assert "loyalty_http_request_duration_seconds" in page


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_request_id_is_echoed_and_in_the_log_lines(service: TestClient) -> None:
    """A caller's safe X-Request-Id comes back in the answer and is on the request's log
    line; an unsafe one (a space, too long) is replaced by a fresh id, also logged; a
    call without one gets a fresh id, a different one each time."""
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as events:
        kept = await service.get("/health", headers={"X-Request-Id": "lb-7f3a:42"})
        spaced = await service.get("/health", headers={"X-Request-Id": "a b"})
        long = await service.get("/health", headers={"X-Request-Id": "x" * 129})
        first, second = await service.get("/health"), await service.get("/health")
    assert kept.headers["X-Request-Id"] == "lb-7f3a:42"
    fresh = [r.headers["X-Request-Id"] for r in (spaced, long, first, second)]
    assert len(set(fresh)) == 4 and all(len(value) == 16 for value in fresh)
    logged = [event["request_id"] for event in events if event["event"] == "request"]
    assert logged == ["lb-7f3a:42", *fresh]


async def test_a_scheduler_tick_records_job_durations_and_last_success(
    service: TestClient, deps: Deps, clock: ManualClock
) -> None:
    """A tick runs the hold and fiscal claim jobs (and any merchant's due job): each run
    adds to its job's duration histogram and sets its last success to the clock's time."""
    await make_tenant(deps, "Планировщик")
    clock.advance(days=3, seconds=17)
    before = await _page(service)
    await scheduler.tick(deps)
    after = await _page(service)
    for job in ("holds", "fiscal_claims"):
        assert _value(after, "loyalty_job_last_success_timestamp_seconds", job=job) == to_epoch(
            clock()
        )
        runs = "loyalty_job_duration_seconds_count"
        assert _value(after, runs, job=job, outcome="ok") == (
            _value(before, runs, job=job, outcome="ok") + 1
        )


_WORKERS = """
import os, sys
from cloud.observability import metrics
metrics.prepare_multiprocess(sys.argv[1])
pid = os.fork()
metrics.observe_request("api", "/api/v1/checkout/calculate", "POST", 0.002, 200, None)
metrics.set_pool(3, 1, 10)
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
sys.stdout.write(metrics.exposition().decode())
"""


def test_multiprocess_mode_sums_every_worker(tmp_path: Any) -> None:
    """After ``prepare_multiprocess`` two forked processes each observe a request and
    report their pool: the page sums both (2 requests; pool sizes 3 + 3)."""
    env = {name: value for name, value in os.environ.items() if name != metrics.MULTIPROC_ENV}
    page = subprocess.run(
        [sys.executable, "-c", _WORKERS, str(tmp_path / "metrics")],
        capture_output=True, text=True, check=True, env=env, timeout=60,
    ).stdout  # fmt: skip
    route = {"channel": "api", "route": "/api/v1/checkout/calculate"}
    assert _value(page, "loyalty_http_request_duration_seconds_count", **route) == 2
    assert _value(page, "loyalty_db_pool_connections", state="size") == 6
