"""A SIGMA store's day through signed hooks (the published day of ``fixtures/sigma``):
a first sale by phone, a sale with a bonus payment by the card's QR code, a bonus payment
released before the close, a sale without a card, a partial refund, a dropped receipt;
every answer checked field by field against the program (5 % off, 5 % of the money paid
accrued and floored to the kopeck, up to half of a receipt payable by bonuses). Then a
wrong signature, a body altered after signing, a stale timestamp and a replayed
duplicate: nothing changes."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from cloud.clock import to_epoch
from cloud.services import customers
from cloud.services.deps import Deps
from tests.webhooks.sigma.conftest import (
    SigmaTerminal,
    encode,
    exchanges,
    hook,
    signed,
    signed_hook,
)


async def balance(deps: Deps, till: SigmaTerminal) -> int:
    summary = await customers.customer_summary(deps, till.merchant_id, till.customer_id)
    return summary.available


async def rows(deps: Deps, till: SigmaTerminal) -> tuple[int, int]:
    counted = await deps.db.fetch_one(
        "SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN kind = 'refund' THEN 1 ELSE 0 END), 0) "
        "AS refunds FROM receipts WHERE merchant_id = :m",
        {"m": till.merchant_id},
    )
    assert counted is not None
    return int(counted["n"]), int(counted["refunds"])


def lines_of(answer: dict[str, Any], name: str) -> list[str]:
    return [line[name] for line in answer["lines"]]


async def test_a_sigma_day_through_signed_hooks(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """The whole day, signed; each answer's fields as the program computes them."""
    day = [e["request"] for e in exchanges()]
    ask = [await signed_hook(sigma, deps, till, body) for body in day[:2]]
    opened, closed = ask
    # 378.00 + 145.00, 5 % off each line; 5 % of 496.85 floored.
    assert (opened["amount"], opened["discount"], opened["amount_after_discount"]) == (
        "523.00", "26.15", "496.85",
    )  # fmt: skip
    assert lines_of(opened, "discount") == ["18.90", "7.25"]
    assert opened["customer"]["balance"] == "0.00" and opened["bonuses_spendable"] == "0.00"
    assert opened["accrual"] == "24.84" and opened["customer_found"] is True
    assert "Будет начислено 24,84 бонусов" in opened["messages"]
    assert "Скидка по карте: 26,15 ₽" in opened["slip"]
    assert (closed["status"], closed["bonus_paid"], closed["accrued"]) == (
        "confirmed", "0.00", "24.84",
    )  # fmt: skip
    assert closed["customer"]["balance"] == "24.84" and await balance(deps, till) == 2484

    # By the card's QR code: 2980.00 + 890.00 x 0.347 = 308.83 (half-up), then a syrup.
    first, changed, held, paid = [await signed_hook(sigma, deps, till, b) for b in day[2:6]]
    assert (first["amount"], first["discount"], first["bonuses_spendable"]) == (
        "3288.83", "164.44", "24.84",
    )  # fmt: skip
    assert (changed["amount"], changed["amount_after_discount"]) == ("3638.83", "3456.89")
    assert changed["bonus_payment"] == "20.00" and changed["accrual"] == "171.84"
    assert "Оплата бонусами: 20,00" in changed["messages"]
    assert (held["amount"], held["balance"], held["hold_id"].isdigit()) == ("20.00", "4.84", True)
    assert sum(int(v.replace(".", "")) for v in lines_of(held, "bonus_payment")) == 2000
    assert held["slip"] == ["Оплата бонусами: 20,00"]
    # The close names no bonus payment: the reserve is what is paid.
    assert (paid["bonus_paid"], paid["accrued"], paid["customer"]["balance"]) == (
        "20.00", "171.84", "176.68",
    )  # fmt: skip
    assert await balance(deps, till) == 17668

    # A bonus payment reserved, then released; the receipt closes without it.
    opened3, held3, released, closed3 = [await signed_hook(sigma, deps, till, b) for b in day[6:10]]
    assert opened3["bonuses_spendable"] == "104.02"  # half of 208.05, floored
    assert held3["balance"] == "166.68" and released["released"] == "10.00"
    assert released["slip"] == ["Отмена оплаты бонусами: 10,00"]
    assert (closed3["bonus_paid"], closed3["accrued"], closed3["customer"]["balance"]) == (
        "0.00", "10.40", "187.08",
    )  # fmt: skip

    # Without a card: priced, recorded, nothing accrued.
    opened4, closed4 = [await signed_hook(sigma, deps, till, b) for b in day[10:12]]
    assert opened4["customer"] is None and opened4["accrual"] == "0.00"
    assert "Клиент не указан: бонусы не начисляются" in opened4["messages"]
    assert (closed4["customer"], closed4["amount"], closed4["accrued"]) == (None, "283.10", "0.00")
    assert await balance(deps, till) == 18708

    # One of the two bags of coffee comes back: half its bonus payment returns, half its
    # accrual is taken back.
    refunded = await signed_hook(sigma, deps, till, day[12])
    assert refunded["lines"] == [{"id": "1", "quantity": "1", "returned_bonuses": "8.19",
                                  "reversed_accrual": "70.37"}]  # fmt: skip
    assert (refunded["returned_bonuses"], refunded["reversed_accrual"]) == ("8.19", "70.37")
    assert refunded["balance"] == "124.90" and await balance(deps, till) == 12490
    deps.clock.advance(seconds=2)  # type: ignore[attr-defined]
    assert await signed_hook(sigma, deps, till, day[12]) == refunded  # re-signed: same answer
    assert await balance(deps, till) == 12490

    held5, dropped = [await signed_hook(sigma, deps, till, b) for b in day[13:15]]
    assert held5["balance"] == "114.90" and dropped["released"] == "10.00"
    assert await balance(deps, till) == 12490


async def test_forged_stale_and_replayed_requests_change_nothing(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """After a sale, a refund signed with a wrong secret, a refund altered after signing,
    a refund with a stale timestamp and a replay of an accepted refund leave the balance
    and the receipts as they were."""
    day = [e["request"] for e in exchanges()]
    for body in day[:6]:
        await signed_hook(sigma, deps, till, body)
    first = {"event": "receipt.refunded", "refund_id": "R-1", "receipt_id": "S-1002",
             "lines": [{"id": "3", "quantity": 1}]}  # fmt: skip
    raw = encode(first)
    now = to_epoch(deps.clock())
    accepted = signed(till, raw, now)
    await hook(sigma, None, accepted, raw=raw, event="receipt.refunded")
    before, counted = await balance(deps, till), await rows(deps, till)

    whole = {**first, "refund_id": "R-2", "lines": None}
    raw2 = encode(whole)
    attempts = [
        (signed(till, raw2, now, secret="ss_forged"), raw2, 401, "sigma_bad_signature"),
        (signed(till, raw2, now), raw2.replace(b'"R-2"', b'"R-3"'), 401, "sigma_bad_signature"),
        (signed(till, raw2, now - 301), raw2, 401, "sigma_stale_timestamp"),
        (accepted, raw, 409, "sigma_replayed"),
    ]
    for headers, body, status, code in attempts:
        answer = await hook(sigma, None, headers, status, raw=body, event="receipt.refunded")
        assert answer["code"] == code and answer["message"]
    assert await balance(deps, till) == before and await rows(deps, till) == counted
