"""Manual adjustments by the merchant's staff: credits with their dates, FIFO debits
that never go below zero, idempotency by key, the journal equal to the lots."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock
from cloud.errors import Unprocessable
from cloud.services import customers_admin, jobs
from cloud.services.deps import Deps
from cloud.services.merchants import MerchantContext
from schemas.customer_admin import AdjustmentRequest
from tests.conftest import Tenant
from tests.customer_admin.conftest import LINES, PHONE, credit, sale
from tests.helpers import money
from tests.ledger.helpers import assert_ledger_consistent, ledger_state


def url(customer_id: int) -> str:
    return f"/api/v1/merchant/customers/{customer_id}/adjustments"


async def debit(admin: TestClient, customer_id: int, amount: float, key: str) -> Any:
    return await admin.post(
        url(customer_id),
        json={"kind": "debit", "amount": amount, "reason": "Ошибка кассира", "staff": "Пётр"},
        headers={"Idempotency-Key": key},
    )


async def test_credit_with_lifetime_is_spendable_and_expires_at_local_midnight(
    admin: TestClient, client: TestClient, customer: int, deps: Deps
) -> None:
    """A credit of 250 with a 10-day lifetime is spendable at once at the till and
    lapses at the merchant's local midnight ten days after today (Moscow, +03:00); the
    answer names who made it (staff and key) and the balance after."""
    response = await credit(admin, customer, 250, "c-1", lifetime_days=10, staff="Анна")
    assert response.status == 201, await response.text()
    body = await response.json()
    assert money(body["amount"]) == 250 and money(body["balance"]) == 250
    assert body["by"] == "Анна (ключ API «Офис»)" and body["reason"] == "Компенсация"
    assert body["expires_at"] == "2026-11-30T00:00:00+03:00"
    receipt = {"id": "s-1", "customer": {"phone": PHONE}, "lines": LINES}
    quote = await (
        await client.post("/api/v1/checkout/calculate", json={"receipt": receipt})
    ).json()
    assert money(quote["max_redeem"]) == 250
    assert_ledger_consistent(await ledger_state(deps, customer))


async def test_credit_dates_activation_and_explicit_expiry(
    admin: TestClient, customer: int, clock: ManualClock
) -> None:
    """A credit may wait for an activation date (pending until its local midnight) and
    end on an explicit date (lapsing at the midnight after it); without either lifetime
    or date it follows the program's 90 days. Contradictory or past dates are a 400."""
    response = await credit(
        admin, customer, 100, "c-1", activates_on="2026-11-25", expires_on="2026-12-31"
    )
    body = await response.json()
    assert body["available_from"] == "2026-11-25T00:00:00+03:00"
    assert body["expires_at"] == "2027-01-01T00:00:00+03:00"
    assert money(body["balance"]) == 0
    plain = await (await credit(admin, customer, 10, "c-2")).json()
    assert plain["expires_at"] == "2027-02-18T00:00:00+03:00"  # 20 Nov + 90 days
    lots = await (await admin.get(f"/api/v1/merchant/customers/{customer}/lots")).json()
    assert [lot["state"] for lot in lots["lots"]] == ["active", "pending"]
    clock.advance(days=6)
    card = await (await admin.get(f"/api/v1/merchant/customers/{customer}")).json()
    assert money(card["balance"]) == 110
    for extra, code in (
        ({"lifetime_days": 5, "expires_on": "2026-12-31"}, "invalid_expiry"),
        ({"activates_on": "2026-11-01"}, "invalid_activation_date"),
        ({"activates_on": "2026-12-10", "expires_on": "2026-12-01"}, "invalid_expiry"),
    ):
        refused = await credit(admin, customer, 5, f"bad-{code}-{len(extra)}", **extra)
        assert refused.status == 400 and (await refused.json())["code"] == code
    wrong = await admin.post(
        url(customer),
        json={"kind": "debit", "amount": 1, "reason": "x", "lifetime_days": 3},
        headers={"Idempotency-Key": "d-bad"},
    )
    assert wrong.status == 400 and (await wrong.json())["code"] == "invalid_adjustment"


async def test_debit_spends_soonest_expiring_first_and_never_below_zero(
    admin: TestClient, client: TestClient, customer: int, deps: Deps
) -> None:
    """A debit takes the soonest-expiring lot first, like a redemption; more than the
    spendable balance (held bonuses excluded) is a 422 that changes nothing."""
    late = await (await credit(admin, customer, 100, "c-late", lifetime_days=60)).json()
    soon = await (await credit(admin, customer, 100, "c-soon", lifetime_days=5)).json()
    taken = await (await debit(admin, customer, 150, "d-1")).json()
    assert taken["lots"] == [soon["lot_id"], late["lot_id"]]
    assert money(taken["balance"]) == 50 and taken["by"] == "Пётр (ключ API «Офис»)"
    receipt = {"id": "h-1", "customer": {"phone": PHONE}, "lines": LINES}
    held = await client.post("/api/v1/checkout/hold", json={"receipt": receipt, "amount": 30})
    assert held.status == 200
    before = await ledger_state(deps, customer)
    refused = await debit(admin, customer, 30, "d-2")
    body = await refused.json()
    assert refused.status == 422 and body["code"] == "insufficient_bonuses"
    assert "20.00" in body["message"]
    assert await ledger_state(deps, customer) == before
    assert_ledger_consistent(before)


async def test_same_key_same_answer_other_body_conflict(
    admin: TestClient, customer: int, deps: Deps
) -> None:
    """The same Idempotency-Key with the same request answers the first result and
    credits once; with a different request (or another customer) it is 409
    ``idempotency_conflict``; without a key the adjustment is refused (400)."""
    first = await credit(admin, customer, 70, "same")
    second = await credit(admin, customer, 70, "same")
    assert first.status == second.status == 201
    assert await first.json() == await second.json()
    conflict = await credit(admin, customer, 71, "same")
    body = await conflict.json()
    assert conflict.status == 409 and body["code"] == "idempotency_conflict"
    lots = await deps.db.fetch_value(
        "SELECT COUNT(*) FROM bonus_lots WHERE customer_id = :c", {"c": customer}
    )
    assert lots == 1
    missing = await admin.post(
        url(customer), json={"kind": "credit", "amount": 1, "reason": "без ключа"}
    )
    assert missing.status == 400 and (await missing.json())["code"] == "idempotency_key_required"


async def test_manual_credit_shows_in_history_with_who_and_why(
    admin: TestClient, client: TestClient, customer: int, clock: ManualClock, deps: Deps
) -> None:
    """The movements list every journal entry newest first: the manual credit and
    debit with reason and who made them, the sale's redemption and accrual with the
    receipt id and the till, a refund's entries with both ids, and expiry by the job."""
    await credit(admin, customer, 100, "c-1", staff="Анна", lifetime_days=1)
    await debit(admin, customer, 10, "d-1")
    assert (await sale(client, "s-1", redeemed=40)).status == 200
    refund = {"id": "r-1", "receipt_id": "s-1", "lines": [{"id": "1", "quantity": 1}]}
    assert (await client.post("/api/v1/checkout/refund", json=refund)).status == 200
    clock.advance(days=3)
    await jobs.run_expiry(deps)
    page = await (await admin.get(f"/api/v1/merchant/customers/{customer}/movements")).json()
    kinds = [(m["kind"], money(m["amount"])) for m in reversed(page["movements"])]
    assert kinds[:2] == [("adjust", Decimal(100)), ("adjust", Decimal(-10))]
    first = page["movements"][-1]
    assert first["by"] == "Анна (ключ API «Офис»)" and first["reason"] == "Компенсация"
    sale_entries = [m for m in page["movements"] if m["receipt_id"] == "s-1"]
    assert {m["kind"] for m in sale_entries} >= {"redeem", "accrue", "reverse", "return"}
    assert all("Касса 1" in m["by"] for m in sale_entries)
    assert {m["refund_id"] for m in sale_entries if m["kind"] == "reverse"} == {"r-1"}
    assert any(m["kind"] == "expire" and m["by"] == "сгорание по сроку" for m in page["movements"])
    assert all(m["at"].endswith("+03:00") for m in page["movements"])


async def test_concurrent_retries_with_one_key_credit_once(
    deps: Deps, customer: int, demo_tenant: Tenant
) -> None:
    """Two calls with the same key at the same moment (a double click, a retry racing
    the original) credit once and both answer the same adjustment; two concurrent
    debits of the whole balance under different keys cannot both succeed."""
    staff = MerchantContext(demo_tenant.merchant_id, ZoneInfo("Europe/Moscow"), label="Офис")
    request = AdjustmentRequest(kind="credit", amount=Decimal(100), reason="Двойной клик")
    first, second = await asyncio.gather(
        customers_admin.adjust(deps, staff, customer, request, "twice"),
        customers_admin.adjust(deps, staff, customer, request, "twice"),
    )
    assert first == second
    whole = AdjustmentRequest(kind="debit", amount=Decimal(100), reason="Списание")
    results = await asyncio.gather(
        customers_admin.adjust(deps, staff, customer, whole, "d-a"),
        customers_admin.adjust(deps, staff, customer, whole, "d-b"),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, Unprocessable)]
    assert len(refused) == 1 and refused[0].code == "insufficient_bonuses"
    state = await ledger_state(deps, customer)
    assert_ledger_consistent(state)
    assert state.lots_sum == 0 and len(state.lots) == 1
