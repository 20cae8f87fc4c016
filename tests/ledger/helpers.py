"""Building blocks for the ledger tests: customers with bonus lots inserted directly
(no SMS flow), receipts on the wire, and read-outs of the ledger tables."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from cloud.clock import to_epoch
from cloud.ledger.lots import accrue
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext
from schemas import checkout as wire
from tests.conftest import Tenant

_numbers = itertools.count(1)

# Kopecks in the tables; the wire speaks roubles with two places.
KOPECK = Decimal("0.01")


def roubles(kopecks: int) -> Decimal:
    return (Decimal(kopecks) * KOPECK).quantize(KOPECK)


def terminal(tenant: Tenant, timezone: str = "Europe/Moscow") -> TerminalContext:
    """The context an authenticated terminal of ``tenant`` would get."""
    return TerminalContext(
        merchant_id=tenant.merchant_id,
        store_id=tenant.store_id,
        terminal_id=tenant.terminal_id,
        timezone=ZoneInfo(timezone),
        merchant_status="active",
    )


@dataclass(frozen=True)
class Member:
    id: int
    phone: str

    @property
    def ref(self) -> wire.CustomerRef:
        return wire.CustomerRef(phone=self.phone)


async def create_customer(deps: Deps, merchant_id: int) -> Member:
    """A customer row and its phone card, as registration would leave them."""
    phone = f"+7999{next(_numbers):07d}"
    index = deps.index.of(merchant_id, "phone", phone)
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        customer_id = await tx.insert(
            "INSERT INTO customers (merchant_id, phone_index, phone_enc, tier_code, "
            "lifetime_purchases, purchase_count, registration_channel, created_at) "
            "VALUES (:m, :i, :p, NULL, 0, 0, 'import', :now) RETURNING id",
            {"m": merchant_id, "i": index, "p": deps.cipher.encrypt(merchant_id, phone),
             "now": now},
        )  # fmt: skip
        await tx.insert(
            "INSERT INTO cards (merchant_id, customer_id, kind, lookup_index, number_enc, "
            "created_at) VALUES (:m, :c, 'phone', :i, :p, :now) RETURNING id",
            {"m": merchant_id, "c": customer_id, "i": index,
             "p": deps.cipher.encrypt(merchant_id, phone), "now": now},
        )  # fmt: skip
    return Member(customer_id, phone)


async def give_lot(
    deps: Deps,
    merchant_id: int,
    customer_id: int,
    amount: int,
    *,
    expires_in: int | None = None,
    activates_in: int = 0,
    kind: str = "manual",
) -> int:
    """Accrue a lot of ``amount`` kopecks that activates and lapses ``activates_in`` and
    ``expires_in`` seconds from the clock's now (``expires_in=None``: never)."""
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        await tx.lock_customer(merchant_id, customer_id)
        return await accrue(
            tx,
            merchant_id=merchant_id,
            customer_id=customer_id,
            kind=kind,
            amount=amount,
            available_from=now + activates_in,
            expires_at=None if expires_in is None else now + expires_in,
            receipt_id=None,
            key=f"test-lot:{customer_id}:{next(_numbers)}",
            now=now,
        )


Lines = Sequence[tuple[str, int, Decimal | int] | tuple[str, int, Decimal | int, int]]


def sale(receipt_id: str, member: Member | None, lines: Lines) -> wire.Receipt:
    """A receipt of ``(line id, unit price in kopecks, quantity[, line amount])`` lines."""
    return wire.Receipt(
        id=receipt_id,
        customer=None if member is None else member.ref,
        lines=[
            wire.ReceiptLine(
                id=line[0],
                name=line[0],
                price=roubles(line[1]),
                quantity=Decimal(line[2]),
                amount=roubles(line[3]) if len(line) == 4 else None,
            )
            for line in lines
        ],
    )


def confirm_request(
    receipt_id: str, member: Member | None, lines: Lines, redeemed: int = 0
) -> wire.ConfirmRequest:
    return wire.ConfirmRequest(receipt=sale(receipt_id, member, lines), redeemed=roubles(redeemed))


def hold_request(receipt_id: str, member: Member, lines: Lines, amount: int) -> wire.HoldRequest:
    return wire.HoldRequest(receipt=sale(receipt_id, member, lines), amount=roubles(amount))


def refund_request(
    refund_id: str, receipt_id: str, lines: list[tuple[str, Decimal | int]] | None = None
) -> wire.RefundRequest:
    return wire.RefundRequest(
        id=refund_id,
        receipt_id=receipt_id,
        lines=None
        if lines is None
        else [wire.RefundLine(id=line_id, quantity=Decimal(q)) for line_id, q in lines],
    )


# ---- read-outs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerState:
    """Everything a balance-changing operation may touch, for one customer."""

    journal_sum: int
    lots_sum: int
    lots: tuple[tuple[int, int, int], ...]  # (id, amount, remaining)
    entries: int
    allocations: tuple[tuple[int, int, int, int], ...]  # (receipt, lot, amount, returned)
    holds: tuple[tuple[int, int, str], ...]  # (id, amount, status)
    receipts: int
    receipt_lines: tuple[tuple[int, int, int, int], ...]


async def ledger_state(deps: Deps, customer_id: int) -> LedgerState:
    db = deps.db
    params = {"c": customer_id}
    lots = await db.fetch_all(
        "SELECT id, amount, remaining FROM bonus_lots WHERE customer_id = :c ORDER BY id", params
    )
    allocations = await db.fetch_all(
        "SELECT a.receipt_id, a.lot_id, a.amount, a.returned FROM redemption_allocations a "
        "JOIN bonus_lots l ON l.id = a.lot_id WHERE l.customer_id = :c ORDER BY a.id",
        params,
    )
    holds = await db.fetch_all(
        "SELECT id, amount, status FROM holds WHERE customer_id = :c ORDER BY id", params
    )
    lines = await db.fetch_all(
        "SELECT l.id, l.returned_quantity_milli, l.returned_redeemed, l.reversed_accrual "
        "FROM receipt_lines l JOIN receipts r ON r.id = l.receipt_id "
        "WHERE r.customer_id = :c ORDER BY l.id",
        params,
    )
    return LedgerState(
        journal_sum=int(
            await db.fetch_value(
                "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE customer_id = :c",
                params,
            )
        ),
        lots_sum=int(
            await db.fetch_value(
                "SELECT COALESCE(SUM(remaining), 0) FROM bonus_lots WHERE customer_id = :c",
                params,
            )
        ),
        lots=tuple((int(r["id"]), int(r["amount"]), int(r["remaining"])) for r in lots),
        entries=int(
            await db.fetch_value(
                "SELECT COUNT(*) FROM ledger_entries WHERE customer_id = :c", params
            )
        ),
        allocations=tuple(
            (int(r["receipt_id"]), int(r["lot_id"]), int(r["amount"]), int(r["returned"]))
            for r in allocations
        ),
        holds=tuple((int(r["id"]), int(r["amount"]), str(r["status"])) for r in holds),
        receipts=int(
            await db.fetch_value("SELECT COUNT(*) FROM receipts WHERE customer_id = :c", params)
        ),
        receipt_lines=tuple(
            (
                int(r["id"]),
                int(r["returned_quantity_milli"]),
                int(r["returned_redeemed"]),
                int(r["reversed_accrual"]),
            )
            for r in lines
        ),
    )


def assert_ledger_consistent(state: LedgerState) -> None:
    """The journal sums to the lots' remainders; every remainder is within [0, amount]."""
    assert state.journal_sum == state.lots_sum, state
    for lot_id, amount, remaining in state.lots:
        assert 0 <= remaining <= amount, f"lot {lot_id}: remaining {remaining} of {amount}"
    for receipt_id, lot_id, amount, returned in state.allocations:
        assert 0 <= returned <= amount, f"allocation {receipt_id}/{lot_id}: {returned}/{amount}"


async def sale_receipt_id(deps: Deps, merchant_id: int, external_id: str) -> int:
    value = await deps.db.fetch_value(
        "SELECT id FROM receipts WHERE merchant_id = :m AND kind = 'sale' AND external_id = :e",
        {"m": merchant_id, "e": external_id},
    )
    assert value is not None, external_id
    return int(value)


async def allocations_of(deps: Deps, receipt_id: int) -> list[tuple[int, int, int]]:
    """``(lot_id, amount, returned)`` of one sale's redemption, in spending order."""
    rows = await deps.db.fetch_all(
        "SELECT lot_id, amount, returned FROM redemption_allocations WHERE receipt_id = :r "
        "ORDER BY id",
        {"r": receipt_id},
    )
    return [(int(r["lot_id"]), int(r["amount"]), int(r["returned"])) for r in rows]


async def lot_remaining(deps: Deps, lot_id: int) -> int:
    return int(
        await deps.db.fetch_value("SELECT remaining FROM bonus_lots WHERE id = :id", {"id": lot_id})
    )


async def spendable_lots(deps: Deps, customer_id: int) -> list[tuple[int, int]]:
    """``(lot_id, remaining)`` of spendable lots in the order redemption must use them:
    soonest-expiring first, then oldest, never-expiring last."""
    now = to_epoch(deps.clock())
    rows = await deps.db.fetch_all(
        "SELECT id, remaining, available_from, expires_at FROM bonus_lots "
        "WHERE customer_id = :c AND remaining > 0 AND available_from <= :now "
        "AND (expires_at IS NULL OR expires_at > :now)",
        {"c": customer_id, "now": now},
    )
    ordered = sorted(
        rows,
        key=lambda r: (
            r["expires_at"] is None,
            r["expires_at"] or 0,
            r["available_from"],
            r["id"],
        ),
    )
    return [(int(r["id"]), int(r["remaining"])) for r in ordered]


_SALES_SQL = (
    "SELECT r.id, r.amount, r.redeemed, "
    "(SELECT COALESCE(SUM(a.amount), 0) FROM redemption_allocations a "
    " WHERE a.receipt_id = r.id) AS allocated, "
    "(SELECT COALESCE(SUM(a.returned), 0) FROM redemption_allocations a "
    " WHERE a.receipt_id = r.id) AS allocated_returned, "
    "(SELECT COALESCE(SUM(l.redeemed), 0) FROM receipt_lines l WHERE l.receipt_id = r.id) "
    " AS lines_redeemed, "
    "(SELECT COALESCE(SUM(l.returned_redeemed), 0) FROM receipt_lines l "
    " WHERE l.receipt_id = r.id) AS lines_returned, "
    "(SELECT COALESCE(SUM(l.accrual), 0) FROM receipt_lines l WHERE l.receipt_id = r.id) "
    " AS lines_accrual, "
    "(SELECT COALESCE(SUM(l.reversed_accrual), 0) FROM receipt_lines l "
    " WHERE l.receipt_id = r.id) AS lines_reversed, "
    "(SELECT COALESCE(SUM(l.quantity_milli - l.returned_quantity_milli), 0) "
    " FROM receipt_lines l WHERE l.receipt_id = r.id) AS quantity_left, "
    "(SELECT COALESCE(SUM(f.amount), 0) FROM receipts f WHERE f.original_receipt_id = r.id "
    " AND f.kind = 'refund') AS refunded_amount, "
    "(SELECT COALESCE(SUM(f.redeemed), 0) FROM receipts f WHERE f.original_receipt_id = r.id "
    " AND f.kind = 'refund') AS refunded_bonuses "
    "FROM receipts r WHERE r.customer_id = :c AND r.kind = 'sale' ORDER BY r.id"
)


async def assert_receipts_consistent(deps: Deps, customer_id: int) -> None:
    """For every sale of the customer: the lots its bonus payment was allocated from add
    up to the receipt's and its lines' redeemed bonuses, and what refunds gave back to
    those lots to the lines' returned bonuses and the refund receipts' own sums; once
    every quantity is returned, by one refund or by many partial ones, the refunds add up
    to a full one: all spent bonuses given back, all accrual reversed, the whole sum."""
    for row in await deps.db.fetch_all(_SALES_SQL, {"c": customer_id}):
        sale = {key: int(value) for key, value in dict(row).items()}
        assert sale["allocated"] == sale["lines_redeemed"] == sale["redeemed"], sale
        assert sale["allocated_returned"] == sale["lines_returned"], sale
        assert sale["lines_returned"] == sale["refunded_bonuses"], sale
        assert 0 <= sale["lines_returned"] <= sale["lines_redeemed"], sale
        assert 0 <= sale["lines_reversed"] <= sale["lines_accrual"], sale
        assert 0 <= sale["refunded_amount"] <= sale["amount"], sale
        if sale["quantity_left"] == 0:
            assert sale["lines_returned"] == sale["lines_redeemed"], sale
            assert sale["lines_reversed"] == sale["lines_accrual"], sale
            assert sale["refunded_amount"] == sale["amount"], sale
