"""A line's category from the merchant's catalogue: exact code first, then the longest
prefix rule; lines that name a category keep it; one merchant's catalogue never
reaches another's receipts; and the native checkout then prices the category rules."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.services import checkout, customers, product_catalogue
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext, zone
from schemas import checkout as wire
from schemas.customers import Consent, RegisterCustomer
from tests.catalogue.conftest import csv_file, upload
from tests.conftest import Tenant

CATALOGUE = [
    ["123456", "gifts"],  # an exact code beats the prefixes covering it
    ["12*", "services"],
    ["1234*", "coffee"],
    ["77", "services"],
]


def receipt(*lines: tuple[str | None, str | None]) -> wire.Receipt:
    """Lines of (sku, category), 100 ₽ each."""
    return wire.Receipt(id="r-1", lines=[
        wire.ReceiptLine(id=str(i), sku=sku, category=category, price=Decimal(100),
                         quantity=Decimal(1))
        for i, (sku, category) in enumerate(lines, start=1)
    ])  # fmt: skip


def categories(found: wire.Receipt) -> list[str | None]:
    return [line.category for line in found.lines]


async def test_exact_code_beats_prefix_and_longest_prefix_wins(
    deps: Deps, shop: Tenant, office: TestClient
) -> None:
    """123456 is listed itself (gifts) though 12* and 1234* cover it; 123499 takes the
    longer 1234* (coffee) over 12*; 129 takes 12*; 77 matches only exactly (77 is not
    a prefix, so 771 stays without a category); an unknown code stays without one."""
    assert (await upload(office, csv_file(CATALOGUE)))[0] == 200
    found = await product_catalogue.with_categories(deps, shop.merchant_id, receipt(
        ("123456", None), ("123499", None), ("129", None), ("77", None), ("771", None),
        ("999", None),
    ))  # fmt: skip
    assert categories(found) == ["gifts", "coffee", "services", "services", None, None]


async def test_a_lone_star_covers_every_code_nothing_else_does(
    deps: Deps, shop: Tenant, office: TestClient
) -> None:
    """``*`` is the shortest prefix: the default category of every other code; a code
    with surrounding spaces is looked up trimmed."""
    assert (await upload(office, csv_file([*CATALOGUE, ["*", "gifts"]])))[0] == 200
    found = await product_catalogue.with_categories(
        deps, shop.merchant_id, receipt(("999", None), (" 129 ", None), ("1299", None))
    )
    assert categories(found) == ["gifts", "services", "services"]


async def test_categorised_lines_and_lines_without_code_are_untouched(
    deps: Deps, shop: Tenant, office: TestClient
) -> None:
    """A line that names its category keeps it even when the catalogue lists its code;
    a line without a code gets nothing; a receipt with nothing to look up is returned
    as it is."""
    assert (await upload(office, csv_file(CATALOGUE)))[0] == 200
    original = receipt(("123456", "services"), (None, None), ("", None), ("129", None))
    found = await product_catalogue.with_categories(deps, shop.merchant_id, original)
    assert categories(found) == ["services", None, None, "services"]
    assert original.lines[3].category is None  # the caller's receipt is not changed
    nothing = receipt(("123456", "coffee"), (None, None))
    assert await product_catalogue.with_categories(deps, shop.merchant_id, nothing) is nothing


async def test_one_merchants_catalogue_never_categorises_anothers_receipt(
    deps: Deps, shop: Tenant, rival: Tenant, office: TestClient, rival_office: TestClient
) -> None:
    """Both merchants list the same codes with different categories: each receipt gets
    its own merchant's; a merchant without a catalogue gets none from the other's."""
    assert (await upload(office, csv_file(CATALOGUE)))[0] == 200
    lines = (("123456", None), ("129", None))
    assert categories(await product_catalogue.with_categories(
        deps, rival.merchant_id, receipt(*lines))) == [None, None]  # fmt: skip
    assert (await upload(rival_office, csv_file([["123456", "coffee"], ["1*", "gifts"]])))[0] == 200
    assert categories(await product_catalogue.with_categories(
        deps, shop.merchant_id, receipt(*lines))) == ["gifts", "services"]  # fmt: skip
    assert categories(await product_catalogue.with_categories(
        deps, rival.merchant_id, receipt(*lines))) == ["coffee", "gifts"]  # fmt: skip


async def test_native_calculate_prices_the_category_rules_after_lookup(
    deps: Deps, shop: Tenant, office: TestClient
) -> None:
    """Lines named by code alone, as Frontol sends them: the 2 000 ₽ service accrues
    10 % (its category's rate), the 1 000 ₽ gift nothing, the unlisted 1 000 ₽ line the
    tier's 5 % — 250 ₽; without the catalogue the receipt accrues 5 % of 4 000 ₽."""
    assert (await upload(office, csv_file([["S-1", "services"], ["G*", "gifts"]])))[0] == 200
    customer_id = await customers.register_customer(
        deps, shop.merchant_id, RegisterCustomer(phone="+79161234567",
        consent=Consent(personal_data=True)), store_id=shop.store_id, channel="import",
        sms_code=None,
    )  # fmt: skip
    terminal = TerminalContext(
        shop.merchant_id, shop.store_id, shop.terminal_id, zone("Europe/Moscow"), "active"
    )
    plain = wire.Receipt(id="r-1", customer=wire.CustomerRef(customer_id=customer_id), lines=[
        wire.ReceiptLine(id=str(i), sku=sku, price=Decimal(price), quantity=Decimal(1))
        for i, (sku, price) in enumerate((("S-1", 2000), ("G-77", 1000), ("X-9", 1000)), 1)
    ])  # fmt: skip
    before = await checkout.calculate(deps, terminal, wire.CalculateRequest(receipt=plain))
    assert before.accrual == Decimal("200.00")
    categorised = await product_catalogue.with_categories(deps, shop.merchant_id, plain)
    quote = await checkout.calculate(deps, terminal, wire.CalculateRequest(receipt=categorised))
    assert [line.accrual for line in quote.lines] == [
        Decimal("200.00"),
        Decimal("0.00"),
        Decimal("50.00"),
    ]
    assert quote.accrual == Decimal("250.00")


class CountingDatabase:
    """The test's real database, counting the queries that read rows."""

    def __init__(self, db: Any) -> None:
        self._db = db
        self.reads = 0

    async def fetch_all(self, sql: str, params: Any = None) -> Any:
        self.reads += 1
        return await self._db.fetch_all(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


async def test_the_largest_receipt_is_looked_up_in_one_query(
    deps: Deps, shop: Tenant, office: TestClient
) -> None:
    """500 lines with distinct 128-character codes (the wire's limits) cost one query
    and stay within both databases' limits on bound parameters; each line still finds
    its exact code or its longest prefix."""
    prefixes = [[f"{n:03d}*", "services"] for n in range(0, 500, 2)]
    exact = [[f"{n:03d}".ljust(128, "x"), "gifts"] for n in range(0, 500, 5)]
    assert (await upload(office, csv_file(prefixes + exact)))[0] == 200
    codes = [f"{n:03d}".ljust(128, "x") for n in range(500)]
    big = wire.Receipt(id="r-big", lines=[
        wire.ReceiptLine(id=str(n), sku=code, price=Decimal(1), quantity=Decimal(1))
        for n, code in enumerate(codes)
    ])  # fmt: skip
    counting = CountingDatabase(deps.db)
    found = await product_catalogue.with_categories(
        dataclasses.replace(deps, db=counting),
        shop.merchant_id,
        big,  # type: ignore[arg-type]
    )
    assert counting.reads == 1
    expected = ["gifts" if n % 5 == 0 else "services" if n % 2 == 0 else None for n in range(500)]
    assert categories(found) == expected
