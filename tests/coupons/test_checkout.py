"""Coupons through the native checkout: a quote prices a valid code and says why another
is refused; a confirm records the redemption with the sale; limits, validity and the
return setting act as the campaign says."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock
from cloud.services.deps import Deps
from tests.coupons.conftest import (
    OTHER_PHONE,
    PHONE,
    call,
    issue,
    outcome,
    quote,
    receipt,
    sell,
)
from tests.helpers import register_over_api


async def test_quote_prices_a_valid_code_and_refuses_an_unknown_one(
    till: TestClient, office: TestClient, deps: Deps
) -> None:
    """10 % off 1 000 ₽ with a valid code; an unknown code is refused in Russian and the
    receipt is still priced (without it)."""
    await register_over_api(till, deps, PHONE)
    _, codes = await issue(office)
    answer = await quote(till, receipt("r1", [codes[0], "000000000000"]))
    assert answer["discount"] == 100
    assert answer["accrual"] == 45
    assert outcome(answer) == [
        (codes[0], True, f"Купон {codes[0]}: Купон −10 %"),
        ("000000000000", False, "Купон 000000000000 не найден"),
    ]
    assert "Купон 000000000000 не найден" in answer["messages"]
    plain = await quote(till, receipt("r2", ["000000000000"]))
    assert plain["discount"] == 0 and plain["accrual"] == 50


async def test_single_use_code_works_once(till: TestClient, office: TestClient, deps: Deps) -> None:
    """The sale records the code; the next quote and sale are told it is used, and the
    second sale records no redemption."""
    await register_over_api(till, deps, PHONE)
    campaign_id, codes = await issue(office)
    sold = await sell(till, receipt("s1", codes), discount="100")
    assert outcome(sold)[0][1] is True
    again = await quote(till, receipt("s2", codes))
    assert again["discount"] == 0
    assert outcome(again) == [(codes[0], False, f"Купон {codes[0]} уже использован")]
    second = await sell(till, receipt("s2", codes))
    assert outcome(second)[0][1] is False
    listing = await call(office, "GET", f"/api/v1/merchant/coupon-campaigns/{campaign_id}/coupons")
    assert listing["coupons"] == [
        {"code": codes[0], "state": "used", "used": 1, "revoked_at": None}
    ]
    count = await deps.db.fetch_value("SELECT COUNT(*) FROM coupon_redemptions")
    assert count == 1


async def test_confirm_replay_does_not_redeem_twice(
    till: TestClient, office: TestClient, deps: Deps
) -> None:
    """A retried confirm returns the stored answer and writes no second redemption."""
    await register_over_api(till, deps, PHONE)
    _, codes = await issue(office, uses_per_code=None)
    first = await sell(till, receipt("s1", codes), discount="100")
    assert await sell(till, receipt("s1", codes), discount="100") == first
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM coupon_redemptions") == 1


async def test_multi_use_code_and_campaign_limits(
    till: TestClient, office: TestClient, deps: Deps
) -> None:
    """A code usable twice works twice; a campaign capped at 3 uses stops after the
    third across its codes."""
    await register_over_api(till, deps, PHONE)
    _, (twice,) = await issue(office, uses_per_code=2)
    for n in range(2):
        assert outcome(await sell(till, receipt(f"t{n}", [twice])))[0][1]
    refused = outcome(await quote(till, receipt("t3", [twice])))[0]
    assert refused == (twice, False, f"Купон {twice} уже использован 2 раз — больше нельзя")
    _, codes = await issue(office, count=4, uses_per_code=None, total_uses=3, name="Тройка")
    for n, code in enumerate(codes[:3]):
        assert outcome(await sell(till, receipt(f"c{n}", [code])))[0][1]
    assert outcome(await quote(till, receipt("c4", [codes[3]])))[0] == (
        codes[3], False, "Купоны акции «Тройка» закончились",
    )  # fmt: skip


async def test_per_customer_limit_and_anonymous_receipts(
    till: TestClient, office: TestClient, deps: Deps
) -> None:
    """One use per customer: the same customer is refused a second code of the campaign,
    another customer is not; an anonymous receipt is refused when a customer is needed."""
    await register_over_api(till, deps, PHONE)
    await register_over_api(till, deps, OTHER_PHONE)
    _, codes = await issue(
        office, count=3, requires_customer=True, uses_per_customer=1, name="Одна в руки"
    )
    assert outcome(await sell(till, receipt("p1", [codes[0]])))[0][1]
    assert outcome(await quote(till, receipt("p2", [codes[1]])))[0] == (
        codes[1], False, "Клиент уже использовал купоны акции «Одна в руки» (1) — больше нельзя",
    )  # fmt: skip
    assert outcome(await sell(till, receipt("p3", [codes[1]], phone=OTHER_PHONE)))[0][1]
    anonymous = await quote(till, receipt("p4", [codes[2]], phone=None))
    assert outcome(anonymous)[0] == (
        codes[2], False,
        f"Купон {codes[2]} действует только для клиента программы: укажите клиента",
    )  # fmt: skip


async def test_anonymous_discount_coupon_and_bonus_coupon(
    till: TestClient, office: TestClient
) -> None:
    """An anonymous receipt takes a discount coupon; a coupon giving bonuses asks for a
    customer instead of being wasted."""
    _, codes = await issue(office)
    answer = await quote(till, receipt("a1", codes, phone=None))
    assert answer["discount"] == 100
    _, gifts = await issue(office, rule="gift")
    refused = await quote(till, receipt("a2", gifts, phone=None))
    assert outcome(refused)[0] == (
        gifts[0],
        False,
        f"Купон {gifts[0]} даёт бонусы: укажите клиента",
    )


async def test_validity_window(till: TestClient, office: TestClient, clock: ManualClock) -> None:
    """Before valid_from and from valid_until on, a code is refused with the reason."""
    now = clock()
    _, codes = await issue(
        office,
        valid_from=(now + timedelta(days=1)).isoformat(),
        valid_until=(now + timedelta(days=2)).isoformat(),
    )
    early = outcome(await quote(till, receipt("v1", codes, phone=None)))[0]
    assert early == (codes[0], False, f"Купон {codes[0]} действует с 21.11.2026")
    clock.advance(days=1, hours=1)
    assert outcome(await quote(till, receipt("v2", codes, phone=None)))[0][1] is True
    clock.advance(days=1)
    assert outcome(await quote(till, receipt("v3", codes, phone=None)))[0] == (
        codes[0], False, f"Срок действия купона {codes[0]} истёк",
    )  # fmt: skip


async def test_multiplier_and_gift_accrue_at_confirm(
    till: TestClient, office: TestClient, deps: Deps
) -> None:
    """At the sale the accrual effects act on what was charged: x2 and +100 bonuses."""
    await register_over_api(till, deps, PHONE)
    _, double = await issue(office, rule="double")
    _, gift = await issue(office, rule="gift")
    sold = await sell(till, receipt("m1", [double[0], gift[0]]))
    assert sold["accrued"] == 2 * 50 + 100


async def test_return_frees_the_code_only_when_the_campaign_says_so(
    till: TestClient, office: TestClient, deps: Deps
) -> None:
    """A fully returned receipt gives its code back under return_frees; a partial return
    does not; without the setting the code stays used."""
    await register_over_api(till, deps, PHONE)
    two = [{"id": "1", "price": 500.00, "quantity": 2}]
    _, freed = await issue(office, return_frees=True)
    _, kept = await issue(office)
    await sell(till, receipt("f1", freed, lines=two))
    await sell(till, receipt("k1", kept, lines=two))
    partial = {"id": "f1-r1", "receipt_id": "f1", "lines": [{"id": "1", "quantity": 1}]}
    answer = await call(till, "POST", "/api/v1/checkout/refund", partial)
    assert not any("Купон" in message for message in answer["messages"])
    assert outcome(await quote(till, receipt("f2", freed)))[0][1] is False
    answer = await call(till, "POST", "/api/v1/checkout/refund",
                        {"id": "f1-r2", "receipt_id": "f1"})  # fmt: skip
    assert f"Купон {freed[0]} снова действует: чек возвращён" in answer["messages"]
    assert outcome(await quote(till, receipt("f3", freed)))[0][1] is True
    await call(till, "POST", "/api/v1/checkout/refund", {"id": "k1-r", "receipt_id": "k1"})
    assert outcome(await quote(till, receipt("k2", kept)))[0][1] is False


async def test_revoked_code_is_refused(till: TestClient, office: TestClient) -> None:
    """A revoked code (one of a batch) is refused; the other codes still work."""
    campaign_id, codes = await issue(office, count=2)
    revoked = await call(office, "POST", f"/api/v1/merchant/coupon-campaigns/{campaign_id}/revoke",
                         {"codes": [codes[0]]})  # fmt: skip
    assert revoked == {"campaign_id": campaign_id, "revoked": 1}
    answer = await quote(till, receipt("x1", codes, phone=None))
    assert outcome(answer)[0] == (codes[0], False, f"Купон {codes[0]} отозван")
    assert outcome(answer)[1][1] is True
