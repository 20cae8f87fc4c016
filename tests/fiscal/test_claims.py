"""Claims of fiscal receipts: one accrual per fiscal document, only for this merchant's
registered drives and customers, within the claim window, verified by the FNS (pending
until it knows the receipt, then accrued by the job), refused on a mismatch."""

from __future__ import annotations

import asyncio
from typing import Any

from cloud.clock import ManualClock
from cloud.fiscal import claims
from cloud.fiscal.job import run_fiscal_claims
from cloud.services import scheduler
from cloud.services.deps import Deps
from tests.conftest import Tenant
from tests.fiscal.conftest import OTHER_INN, QR, FakeFns, register, setup_fiscal


async def _purchase_lots(deps: Deps, customer_id: int) -> list[int]:
    rows = await deps.db.fetch_all(
        "SELECT amount FROM bonus_lots WHERE customer_id = :c AND kind = 'purchase'",
        {"c": customer_id},
    )
    return [int(r["amount"]) for r in rows]


async def _claims(deps: Deps) -> list[dict[str, Any]]:
    rows = await deps.db.fetch_all("SELECT * FROM fiscal_claims ORDER BY id")
    return [dict(r) for r in rows]


async def test_claim_accrues_through_the_checkout(
    deps: Deps, demo_tenant: Tenant, fake_fns: FakeFns
) -> None:
    """A verified receipt is confirmed at the store's virtual ``fiscal_qr`` terminal
    with the FNS lines (names, prices, quantities): the program's 5 % accrues, the
    receipt is the customer's, source ``fiscal_qr``, keyed by the fiscal document."""
    await setup_fiscal(deps, demo_tenant)
    customer = await register(deps, demo_tenant)
    result = await claims.claim(deps, demo_tenant.merchant_id, customer, QR, "page")
    assert result.status == "accrued", result
    assert result.accrued == sum(await _purchase_lots(deps, customer)) > 0
    assert result.message.startswith("Начислено бонусов: 61,7")
    receipt = await deps.db.fetch_one(
        "SELECT r.*, t.channel, t.store_id AS terminal_store FROM receipts r "
        "JOIN terminals t ON t.id = r.terminal_id WHERE r.source = 'fiscal_qr'"
    )
    assert receipt is not None
    assert (receipt["customer_id"], receipt["external_id"], receipt["amount"]) == (
        customer,
        "fn9999078900004792-fd12345",
        123450,
    )
    assert (receipt["channel"], receipt["terminal_store"]) == ("fiscal_qr", demo_tenant.store_id)
    lines = await deps.db.fetch_all(
        "SELECT name, price, quantity_milli FROM receipt_lines WHERE receipt_id = :r "
        "ORDER BY position",
        {"r": receipt["id"]},
    )
    assert [tuple(line) for line in lines] == [
        ("Кофе латте 300 мл", 25000, 2000),
        ("Круассан миндальный", 73450, 1000),
    ]
    [row] = await _claims(deps)
    assert (row["status"], row["accrued"], row["receipt_id"]) == (
        "accrued",
        result.accrued,
        receipt["id"],
    )


async def test_claimed_twice_accrues_once(
    deps: Deps, demo_tenant: Tenant, fake_fns: FakeFns
) -> None:
    """The same QR again: the same customer hears it is already accrued, another
    customer is refused; one claim row, one receipt, one accrual, one FNS lookup."""
    await setup_fiscal(deps, demo_tenant)
    first = await register(deps, demo_tenant)
    second = await register(deps, demo_tenant, "+79160003344")
    assert (
        await claims.claim(deps, demo_tenant.merchant_id, first, QR, "page")
    ).status == "accrued"
    again = await claims.claim(deps, demo_tenant.merchant_id, first, QR, "telegram")
    assert (again.status, again.message) == ("accrued", "Бонусы за этот чек уже начислены")
    other = await claims.claim(deps, demo_tenant.merchant_id, second, QR, "page")
    assert other.status == "refused" and "другим участником" in other.message
    assert len(await _claims(deps)) == 1
    assert len(await _purchase_lots(deps, first)) == 1 and await _purchase_lots(deps, second) == []
    assert len(fake_fns.sent("SendMessageRequest")) == 1


async def test_concurrent_claims_of_one_qr_accrue_exactly_once(
    deps: Deps, demo_tenant: Tenant, fake_fns: FakeFns
) -> None:
    """Eight claims of the same QR at once (two customers): exactly one accrual, one
    receipt, one claim row; no claim fails with an error."""
    await setup_fiscal(deps, demo_tenant)
    first = await register(deps, demo_tenant)
    second = await register(deps, demo_tenant, "+79160003344")
    results = await asyncio.gather(
        *(
            claims.claim(deps, demo_tenant.merchant_id, (first, second)[n % 2], QR, "page")
            for n in range(8)
        )
    )
    assert {r.status for r in results} <= {"accrued", "pending", "refused"}
    lots = await _purchase_lots(deps, first) + await _purchase_lots(deps, second)
    assert len(lots) == 1
    receipts = await deps.db.fetch_value("SELECT COUNT(*) FROM receipts WHERE source = 'fiscal_qr'")
    assert receipts == 1 and len(await _claims(deps)) == 1


async def test_another_merchants_store_and_unknown_drive_refused(
    deps: Deps, demo_tenant: Tenant, other_tenant: Tenant, fake_fns: FakeFns
) -> None:
    """A QR whose fn is a drive of another merchant's store is refused at this
    merchant's page; an fn nobody registered is refused too; nothing is recorded and
    the FNS is not asked."""
    await setup_fiscal(deps, demo_tenant, fn="9999078900000001")
    await setup_fiscal(deps, other_tenant, inn=OTHER_INN)
    customer = await register(deps, demo_tenant)
    foreign = await claims.claim(deps, demo_tenant.merchant_id, customer, QR, "page")
    assert foreign.status == "refused" and "не в магазине этой программы" in foreign.message
    unknown = QR.replace("9999078900004792", "9999078900009999")
    nobody = await claims.claim(deps, demo_tenant.merchant_id, customer, unknown, "page")
    assert nobody.status == "refused" and "не зарегистрирована" in nobody.message
    assert await _claims(deps) == [] and fake_fns.requests == []


async def test_unregistered_or_blocked_customer_and_unset_merchant_refused(
    deps: Deps, demo_tenant: Tenant, other_tenant: Tenant, fake_fns: FakeFns
) -> None:
    """Another merchant's customer is no customer here; a blocked card earns nothing;
    a merchant without settings accepts no claims; a return receipt is refused."""
    stranger = await register(deps, other_tenant)
    unset = await claims.claim(deps, demo_tenant.merchant_id, stranger, QR, "page")
    assert unset.status == "refused" and "не принимает" in unset.message
    await setup_fiscal(deps, demo_tenant)
    refused = await claims.claim(deps, demo_tenant.merchant_id, stranger, QR, "page")
    assert refused.status == "refused" and "не зарегистрированы" in refused.message
    customer = await register(deps, demo_tenant)
    ret = await claims.claim(deps, demo_tenant.merchant_id, customer, QR[:-1] + "2", "page")
    assert ret.status == "refused" and "возврата" in ret.message
    await deps.db.execute("UPDATE customers SET blocked_at = 1 WHERE id = :c", {"c": customer})
    blocked = await claims.claim(deps, demo_tenant.merchant_id, customer, QR, "page")
    assert blocked.status == "refused" and "заблокирована" in blocked.message
    assert await _claims(deps) == []


async def test_claim_window_is_the_merchants_setting(
    deps: Deps, demo_tenant: Tenant, fake_fns: FakeFns, clock: ManualClock
) -> None:
    """With a 14-day window a receipt 15 days old is refused; the merchant's 30-day
    window accepts it; a receipt time still ahead is refused."""
    await setup_fiscal(deps, demo_tenant)
    customer = await register(deps, demo_tenant)
    clock.advance(days=15)
    old = await claims.claim(deps, demo_tenant.merchant_id, customer, QR, "page")
    assert old.status == "refused" and "старше 14 дн." in old.message
    await setup_fiscal(deps, demo_tenant, window=30, fn="9999078900000002")
    assert (
        await claims.claim(deps, demo_tenant.merchant_id, customer, QR, "page")
    ).status == "accrued"
    ahead = QR.replace("t=20261120T1130", "t=20261230T1130").replace("i=12345", "i=1")
    future = await claims.claim(deps, demo_tenant.merchant_id, customer, ahead, "page")
    assert future.status == "refused" and "ещё не наступило" in future.message


async def test_pending_until_the_fns_knows_it_then_accrued_by_the_job(
    deps: Deps, demo_tenant: Tenant, fake_fns: FakeFns, clock: ManualClock
) -> None:
    """Not found yet (404), then a timeout: the claim stays pending with a doubling
    delay; the job before the due time asks nothing; once due, the job (registered in
    the scheduler's JOBS) verifies and accrues; a second run does nothing."""
    assert scheduler.JOBS["fiscal_claims"] is run_fiscal_claims
    await setup_fiscal(deps, demo_tenant)
    customer = await register(deps, demo_tenant)
    fake_fns.tickets = ["get_ticket_404.xml", "timeout", "get_ticket_200.xml"]
    pending = await claims.claim(deps, demo_tenant.merchant_id, customer, QR, "page")
    assert pending.status == "pending" and "ФНС" in pending.message
    asked = len(fake_fns.sent("SendMessageRequest"))
    assert (await run_fiscal_claims(deps)).merchants == 0
    assert len(fake_fns.sent("SendMessageRequest")) == asked
    clock.advance(seconds=600)
    report = await run_fiscal_claims(deps)
    assert report.details == {str(demo_tenant.merchant_id): {"pending": 1}}
    [row] = await _claims(deps)
    assert row["next_attempt_at"] - row["updated_at"] == 1200  # doubled
    clock.advance(seconds=1200)
    report = await run_fiscal_claims(deps, merchant_id=demo_tenant.merchant_id)
    assert report.details == {str(demo_tenant.merchant_id): {"accrued": 1}}
    assert len(await _purchase_lots(deps, customer)) == 1
    assert (await run_fiscal_claims(deps)).merchants == 0
    again = await claims.claim(deps, demo_tenant.merchant_id, customer, QR, "page")
    assert again.status == "accrued"


async def test_never_confirmed_claims_given_up_in_one_statement(
    deps: Deps, demo_tenant: Tenant, fake_fns: FakeFns, clock: ManualClock
) -> None:
    """A claim the FNS never confirms is refused by the job after the pending limit
    (72 h), without asking the FNS again."""
    await setup_fiscal(deps, demo_tenant)
    customer = await register(deps, demo_tenant)
    fake_fns.tickets = ["get_ticket_404.xml"]
    assert (
        await claims.claim(deps, demo_tenant.merchant_id, customer, QR, "page")
    ).status == "pending"
    clock.advance(hours=73)
    asked = len(fake_fns.sent("SendMessageRequest"))
    report = await run_fiscal_claims(deps)
    assert report.details == {str(demo_tenant.merchant_id): {"gave_up": 1}}
    assert len(fake_fns.sent("SendMessageRequest")) == asked
    [row] = await _claims(deps)
    assert row["status"] == "refused" and "так и не подтвердила" in row["reason"]


async def test_mismatches_refused_and_a_refused_document_may_be_claimed_again(
    deps: Deps, demo_tenant: Tenant, fake_fns: FakeFns
) -> None:
    """The FNS's 406 refuses; a receipt of another INN, or whose sum differs from the
    QR's, is refused; a refused document claimed again with the right data accrues (a
    refusal accrued nothing, so the document is free)."""
    await setup_fiscal(deps, demo_tenant)
    customer = await register(deps, demo_tenant)
    fake_fns.tickets = ["get_ticket_406.xml"]
    refused = await claims.claim(deps, demo_tenant.merchant_id, customer, QR, "page")
    assert refused.status == "refused" and "не совпадают" in refused.message
    fake_fns.tickets = ["get_ticket_200.xml"]
    wrong_sum = await claims.claim(
        deps, demo_tenant.merchant_id, customer, QR.replace("s=1234.50", "s=1234.00"), "page"
    )
    assert wrong_sum.status == "refused" and "Сумма" in wrong_sum.message
    await setup_fiscal(deps, demo_tenant, inn=OTHER_INN, fn="9999078900000003")
    inn = await claims.claim(deps, demo_tenant.merchant_id, customer, QR, "page")
    assert inn.status == "refused" and "ИНН" in inn.message
    await setup_fiscal(deps, demo_tenant, fn="9999078900000004")
    assert (
        await claims.claim(deps, demo_tenant.merchant_id, customer, QR, "page")
    ).status == "accrued"
    assert len(await _claims(deps)) == 1 and len(await _purchase_lots(deps, customer)) == 1


async def test_job_stops_taking_claims_past_its_time_budget(
    deps: Deps, demo_tenant: Tenant, fake_fns: FakeFns, clock: ManualClock, monkeypatch: Any
) -> None:
    """Past its time budget a run takes no more claims (with the provider down each
    costs its timeouts); the next run, within budget, verifies them."""
    from cloud.fiscal import job

    await setup_fiscal(deps, demo_tenant)
    customer = await register(deps, demo_tenant)
    fake_fns.tickets = ["get_ticket_404.xml", "get_ticket_200.xml"]
    assert (
        await claims.claim(deps, demo_tenant.merchant_id, customer, QR, "page")
    ).status == "pending"
    clock.advance(seconds=600)
    monkeypatch.setattr(job, "TIME_BUDGET_SECONDS", -1.0)
    assert (await run_fiscal_claims(deps)).merchants == 0
    monkeypatch.setattr(job, "TIME_BUDGET_SECONDS", 45.0)
    assert (await run_fiscal_claims(deps)).details == {str(demo_tenant.merchant_id): {"accrued": 1}}
