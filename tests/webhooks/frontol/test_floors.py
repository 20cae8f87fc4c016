"""``minimumPrice`` and ``totalAmount`` are never crossed: neither the discount of a line
nor the bonus payment spread over it takes the line below ``minimumPrice x quantity``,
and each stays within the line's total (hypothesis over prices, floors, quantities)."""

from __future__ import annotations

import itertools
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.services import customers, programs
from cloud.services.deps import Deps
from tests.webhooks.frontol.conftest import PHONE, Frontol, give_bonuses
from tests.webhooks.frontol.test_tenancy import _customer

GENEROUS = {
    "name": "Скидка 30 %, оплата бонусами до 100 %", "kind": "bonus_and_discount",
    "tier_assignment": "registration",
    "tiers": [{"code": "base", "name": "Базовая", "accrual_percent": "5",
               "discount_percent": "30", "max_redeem_percent": "100"}],
}  # fmt: skip
CENT = Decimal("0.01")
_uids = itertools.count(1)

line = st.tuples(
    st.integers(min_value=1, max_value=500_000),  # price, kopecks
    st.integers(min_value=0, max_value=100),  # floor as a percent of the price
    st.integers(min_value=1, max_value=5_000),  # quantity, thousandths
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(line, min_size=1, max_size=4))
async def test_discount_and_bonus_payment_keep_the_floor(
    frontol: Frontol, deps: Deps, lines: list[tuple[int, int, int]]
) -> None:
    """Per line: discount + paid <= total - floor, and the paid sum is what was asked."""
    if await customers.find_customer(deps, frontol.merchant_id, phone=PHONE) is None:
        await programs.publish(deps.db, frontol.merchant_id, GENEROUS, deps.clock())
        customer_id = await _customer(deps, frontol.merchant_id)
        await give_bonuses(deps, frontol.merchant_id, customer_id, 10**11, key="plenty")
    positions = []
    for index, (kopecks, floor_percent, thousandths) in enumerate(lines, start=1):
        price = Decimal(kopecks) / 100
        minimum = (price * floor_percent / 100).quantize(CENT)
        quantity = Decimal(thousandths) / 1000
        total = (price * quantity).quantize(CENT, ROUND_HALF_UP)
        positions.append({"index": index, "id": f"sku-{index}", "text": "Товар",
                          "price": str(price), "minimumPrice": str(minimum),
                          "quantity": str(quantity), "totalAmount": str(total)})  # fmt: skip
    uid = f"00000000-0000-4000-8000-{next(_uids):012d}"
    body = {"action": "calculate", "type": "receipt", "businessUnit": "store-1",
            "workPlace": "pos-1", "uid": uid, "client": {"mobilePhone": PHONE},
            "positions": positions}  # fmt: skip
    quoted = await frontol.ok("document", body)
    discounts = {p["index"]: p["discountAmount"] for p in quoted["document"]["positions"]}
    room = {
        p["index"]: Decimal(p["totalAmount"])
        - min(
            (Decimal(p["minimumPrice"]) * Decimal(p["quantity"])).quantize(CENT, ROUND_HALF_UP),
            Decimal(p["totalAmount"]),
        )
        for p in positions
    }
    for index, discount in discounts.items():
        assert 0 < discount <= room[index]
    available = quoted["client"]["availableAmount"]
    if available <= 0:
        return
    payment = {"mode": "nonFiscal", "amount": str(available)}
    paid = await frontol.ok("document", {**body, "action": "payByBonus", "payment": payment})
    spread = {p["index"]: p["paidAmount"] for p in paid["document"]["positions"]}
    assert sum(spread.values()) == available
    for index, amount in spread.items():
        assert amount + discounts.get(index, 0) <= room[index]
    cancel = {**body, "action": "cancelBonusPayment", "payment": payment, "payments": []}
    await frontol.ok("document", cancel)
