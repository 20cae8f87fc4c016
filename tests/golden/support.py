"""Golden receipts go through the public API exactly as a till would: a merchant runs a
fixture program, customers register by phone, receipts are priced, held, confirmed and
returned over HTTP. Expected figures are written from the program's rules by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.api.app import create_app
from cloud.clock import to_epoch
from cloud.services import customers, jobs
from cloud.services.deps import Deps
from schemas.customers import Consent, RegisterCustomer
from tests.conftest import Tenant, make_tenant
from tests.helpers import money, register_over_api

PROGRAMS = Path(__file__).resolve().parents[2] / "fixtures" / "programs"


@dataclass
class Till:
    """A merchant running one fixture program, and a terminal's HTTP client."""

    deps: Deps
    tenant: Tenant
    client: TestClient

    async def register(
        self,
        phone: str,
        *,
        birthday: date | None = None,
        card: str | None = None,
        at_till: bool = False,
    ) -> int:
        """A new customer: registered at the till with the SMS code (``at_till``), or
        brought in by an import of the merchant's base (no SMS step, no welcome gift)."""
        if at_till:
            extra = {"card": card} if card else {}
            if birthday is not None:
                extra["birthday"] = birthday.isoformat()
            body = await register_over_api(self.client, self.deps, phone, **extra)
            return int(body["id"])
        data = RegisterCustomer(
            phone=phone, birthday=birthday, card=card, consent=Consent(personal_data=True)
        )
        return await customers.register_customer(
            self.deps, self.tenant.merchant_id, data, store_id=self.tenant.store_id,
            channel="import", sms_code=None,
        )  # fmt: skip

    async def post(self, path: str, body: Any, status: int = 200) -> Any:
        response = await self.client.post(path, json=body)
        text = await response.text()
        assert response.status == status, text
        return await response.json()

    async def calculate(self, receipt: dict[str, Any], **extra: Any) -> Any:
        return await self.post("/api/v1/checkout/calculate", {"receipt": receipt, **extra})

    async def hold(self, receipt: dict[str, Any], amount: Decimal | str | int) -> Any:
        return await self.post(
            "/api/v1/checkout/hold", {"receipt": receipt, "amount": float(Decimal(amount))}
        )

    async def confirm(self, receipt: dict[str, Any], redeemed: Decimal | str | int = 0) -> Any:
        return await self.post(
            "/api/v1/checkout/confirm", {"receipt": receipt, "redeemed": float(Decimal(redeemed))}
        )

    async def refund(
        self, refund_id: str, receipt_id: str, lines: list[tuple[str, int | str]] | None = None
    ) -> Any:
        body: dict[str, Any] = {"id": refund_id, "receipt_id": receipt_id}
        if lines is not None:
            body["lines"] = [{"id": i, "quantity": float(Decimal(q))} for i, q in lines]
        return await self.post("/api/v1/checkout/refund", body)

    async def balance(self, customer_id: int) -> dict[str, Decimal]:
        """available / held / pending, as the customer's card shows them."""
        response = await self.client.get(f"/api/v1/customers/{customer_id}")
        assert response.status == 200, await response.text()
        body = (await response.json())["balance"]
        return {key: money(value) for key, value in body.items()}

    async def profile(self, customer_id: int) -> Any:
        response = await self.client.get(f"/api/v1/customers/{customer_id}")
        assert response.status == 200, await response.text()
        return await response.json()

    async def expire(self) -> None:
        """The nightly expiry job, as of the (moved) clock: it runs once per merchant
        and local date, as in production."""
        await jobs.run_expiry(self.deps)

    async def lots(self, customer_id: int) -> list[dict[str, Any]]:
        rows = await self.deps.db.fetch_all(
            "SELECT kind, amount, remaining, available_from, expires_at FROM bonus_lots "
            "WHERE customer_id = :c ORDER BY id",
            {"c": customer_id},
        )
        return [dict(row) for row in rows]


async def open_till(
    aiohttp_client: Any, deps: Deps, program_file: str, timezone: str = "Europe/Moscow"
) -> Till:
    """A merchant with ``fixtures/programs/<program_file>`` live, and its till."""
    document = (PROGRAMS / program_file).read_text()
    tenant = await make_tenant(deps, program_file, document, timezone)
    client = await aiohttp_client(
        create_app(deps.settings, deps=deps), headers={"Authorization": f"Bearer {tenant.token}"}
    )
    return Till(deps, tenant, client)


def receipt(
    receipt_id: str, lines: list[dict[str, Any]], *, phone: str | None = None,
    card: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A receipt body; each line: {"id", "price", "quantity", optional "category"}."""
    body: dict[str, Any] = {"id": receipt_id, "lines": lines}
    if phone is not None or card is not None:
        body["customer"] = {k: v for k, v in (("phone", phone), ("card", card)) if v}
    return body


def line(
    line_id: str, price: str, quantity: str = "1", category: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": line_id, "name": f"Позиция {line_id}", "price": float(Decimal(price)),
        "quantity": float(Decimal(quantity)), **extra,
    }  # fmt: skip
    if category is not None:
        body["category"] = category
    return body


def epoch(moment: Any) -> int:
    return to_epoch(moment)


def d(value: str) -> Decimal:
    return Decimal(value)


def column(lines: list[dict[str, Any]], key: str) -> list[Decimal]:
    """One amount of every line, in receipt order."""
    return [money(item[key]) for item in lines]


def per_line(result: Any, field: str) -> dict[str, Decimal]:
    """One amount of every line, by line id."""
    return {item["id"]: money(item[field]) for item in result["lines"]}


def instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


async def assert_journal_matches(till: Till, customer_id: int) -> None:
    """The journal sums to the lots' remainders, lot by lot and in total, and no
    remainder is negative (DESIGN §4)."""
    rows = await till.deps.db.fetch_all(
        "SELECT l.id, l.remaining, COALESCE(SUM(e.amount), 0) AS journal FROM bonus_lots l "
        "LEFT JOIN ledger_entries e ON e.lot_id = l.id WHERE l.customer_id = :c "
        "GROUP BY l.id, l.remaining ORDER BY l.id",
        {"c": customer_id},
    )
    for row in rows:
        assert int(row["remaining"]) >= 0
        assert int(row["journal"]) == int(row["remaining"]), dict(row)
    total = await till.deps.db.fetch_value(
        "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE customer_id = :c",
        {"c": customer_id},
    )
    assert int(total) == sum(int(row["remaining"]) for row in rows)
