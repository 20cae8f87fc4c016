"""Coupon codes at the till: which of the codes a receipt carries unlock their program
rule, their redemption with the sale, and their return with a returned receipt.

A quote reads the codes once (no lock) to price the receipt and tell the cashier why a
code is refused; a confirm decides again under the lock of each campaign row (``FOR
UPDATE`` on PostgreSQL, the single writer on SQLite) and writes the redemption in the
sale's own transaction, so a single-use code is used once whatever the channel, even
when two tills close receipts with it at the same moment. The sale itself is never
refused for a coupon (the fiscal receipt is the truth): a code that lost such a race is
not recorded, and the answer says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cloud.db.database import Executor, Row, Transaction
from cloud.engine.text import format_date
from schemas import checkout as wire
from schemas.program import Program

_COLUMNS = (
    "SELECT c.id, c.code, c.used, c.revoked_at, k.id AS campaign_id, k.name, k.rule_code, "
    "k.uses_per_code, k.total_uses, k.uses_per_customer, k.requires_customer, k.valid_from, "
    "k.valid_until, k.used AS campaign_used, k.revoked_at AS campaign_revoked "
    "FROM coupons c JOIN coupon_campaigns k ON k.id = c.campaign_id "
)


def normalize(code: str) -> str:
    """A code as typed or scanned: spaces and dashes dropped, letters upper-case."""
    return "".join(ch for ch in code if ch not in " -\t").upper()


@dataclass(frozen=True, slots=True)
class Usable:
    coupon_id: int
    campaign_id: int
    code: str
    rule: str


@dataclass(frozen=True, slots=True)
class Checked:
    """The codes of a receipt sorted out: outcomes in the order entered, the usable ones
    and the program rules they unlock."""

    outcomes: tuple[wire.CouponOutcome, ...] = ()
    usable: tuple[Usable, ...] = ()

    @property
    def rules(self) -> list[str]:
        return [found.rule for found in self.usable]

    def messages(self) -> list[str]:
        return [outcome.message for outcome in self.outcomes]


NONE = Checked()


def _refused(code: str, message: str) -> wire.CouponOutcome:
    return wire.CouponOutcome(code=code, applied=False, message=message)


async def check(
    executor: Executor,
    merchant_id: int,
    codes: Sequence[str],
    customer_id: int | None,
    program: Program,
    now: int,
    tz: ZoneInfo,
) -> Checked:
    """Sort out the codes a receipt carries (one query, two with a per-customer cap)."""
    if not codes:
        return NONE
    wanted = [normalize(code) for code in codes]
    marks = ", ".join(f":c{i}" for i in range(len(wanted)))
    params: dict[str, object] = {"m": merchant_id}
    params.update({f"c{i}": code for i, code in enumerate(wanted)})
    rows = await executor.fetch_all(
        _COLUMNS + f"WHERE c.merchant_id = :m AND c.code IN ({marks})", params
    )
    return await _sort_out(executor, merchant_id, wanted, rows, customer_id, program, now, tz)


async def _sort_out(
    executor: Executor,
    merchant_id: int,
    wanted: list[str],
    rows: Sequence[Row],
    customer_id: int | None,
    program: Program,
    now: int,
    tz: ZoneInfo,
) -> Checked:
    by_code = {row["code"]: row for row in rows}
    per_customer: dict[int, int] = {}
    capped = [int(row["campaign_id"]) for row in rows if row["uses_per_customer"] is not None]
    if capped and customer_id is not None:
        marks = ", ".join(f":k{i}" for i in range(len(capped)))
        counted = await executor.fetch_all(
            "SELECT campaign_id, COUNT(*) AS n FROM coupon_redemptions WHERE merchant_id = :m "
            f"AND customer_id = :c AND freed_at IS NULL AND campaign_id IN ({marks}) "
            "GROUP BY campaign_id",
            {"m": merchant_id, "c": customer_id, **{f"k{i}": k for i, k in enumerate(capped)}},
        )
        per_customer = {int(row["campaign_id"]): int(row["n"]) for row in counted}
    rules = {rule.code: rule for rule in program.coupons}
    outcomes: list[wire.CouponOutcome] = []
    usable: list[Usable] = []
    seen_codes: set[str] = set()
    seen_rules: set[str] = set()
    for code in wanted:
        row = by_code.get(code)
        if code in seen_codes:
            outcomes.append(_refused(code, f"Купон {code} уже указан в этом чеке"))
            continue
        seen_codes.add(code)
        if row is None:
            outcomes.append(_refused(code, f"Купон {code} не найден"))
            continue
        reason = _reason(row, code, customer_id, per_customer, now, tz)
        rule = rules.get(row["rule_code"])
        if reason is None and rule is None:
            reason = f"Купон {code} не действует в текущей программе лояльности"
        if reason is None and rule is not None and rule.affects_accrual and customer_id is None:
            reason = f"Купон {code} даёт бонусы: укажите клиента"
        if reason is None and row["rule_code"] in seen_rules:
            reason = f"Купон {code}: такая же скидка по другому купону уже в чеке"
        if reason is not None:
            outcomes.append(_refused(code, reason))
            continue
        assert rule is not None
        seen_rules.add(rule.code)
        usable.append(Usable(int(row["id"]), int(row["campaign_id"]), code, rule.code))
        outcomes.append(
            wire.CouponOutcome(code=code, applied=True, message=f"Купон {code}: {rule.name}")
        )
    return Checked(tuple(outcomes), tuple(usable))


def _local_day(epoch: int, tz: ZoneInfo) -> str:
    return format_date(datetime.fromtimestamp(epoch, UTC).astimezone(tz).date())


def _reason(
    row: Row,
    code: str,
    customer_id: int | None,
    per_customer: dict[int, int],
    now: int,
    tz: ZoneInfo,
) -> str | None:
    """Why the code cannot be used now, in Russian; ``None`` when it can."""
    get = row.__getitem__
    if get("revoked_at") is not None or get("campaign_revoked") is not None:
        return f"Купон {code} отозван"
    if get("valid_from") is not None and now < int(get("valid_from")):
        return f"Купон {code} действует с {_local_day(int(get('valid_from')), tz)}"
    if get("valid_until") is not None and now >= int(get("valid_until")):
        return f"Срок действия купона {code} истёк"
    per_code = get("uses_per_code")
    if per_code is not None and int(get("used")) >= int(per_code):
        if int(per_code) == 1:
            return f"Купон {code} уже использован"
        return f"Купон {code} уже использован {per_code} раз — больше нельзя"
    total = get("total_uses")
    if total is not None and int(get("campaign_used")) >= int(total):
        return f"Купоны акции «{get('name')}» закончились"
    if int(get("requires_customer")) and customer_id is None:
        return f"Купон {code} действует только для клиента программы: укажите клиента"
    cap = get("uses_per_customer")
    if cap is not None and per_customer.get(int(get("campaign_id")), 0) >= int(cap):
        return f"Клиент уже использовал купоны акции «{get('name')}» ({cap}) — больше нельзя"
    return None


async def lock_and_check(
    tx: Transaction,
    merchant_id: int,
    codes: Sequence[str],
    customer_id: int | None,
    program: Program,
    now: int,
    tz: ZoneInfo,
) -> Checked:
    """``check`` again under the lock of every campaign the codes belong to (taken in id
    order, after the customer's lock: the same order on every path)."""
    if not codes:
        return NONE
    wanted = [normalize(code) for code in codes]
    marks = ", ".join(f":c{i}" for i in range(len(wanted)))
    params: dict[str, object] = {"m": merchant_id}
    params.update({f"c{i}": code for i, code in enumerate(wanted)})
    campaigns = await tx.fetch_all(
        f"SELECT DISTINCT campaign_id FROM coupons WHERE merchant_id = :m AND code IN ({marks})",
        params,
    )
    for campaign_id in sorted(int(row["campaign_id"]) for row in campaigns):
        await lock_campaign(tx, campaign_id)
    rows = await tx.fetch_all(
        _COLUMNS + f"WHERE c.merchant_id = :m AND c.code IN ({marks})", params
    )
    return await _sort_out(tx, merchant_id, wanted, rows, customer_id, program, now, tz)


async def lock_campaign(tx: Transaction, campaign_id: int) -> None:
    if tx.dialect != "sqlite":
        # SQLite's transaction is already the only writer (BEGIN IMMEDIATE).
        await tx.fetch_value(
            "SELECT id FROM coupon_campaigns WHERE id = :k FOR UPDATE", {"k": campaign_id}
        )


async def redeem(
    tx: Transaction,
    merchant_id: int,
    checked: Checked,
    receipt_id: int,
    customer_id: int | None,
    now: int,
) -> None:
    """Record the usable codes with the sale (the caller holds the campaign locks)."""
    for found in checked.usable:
        await tx.execute(
            "UPDATE coupon_campaigns SET used = used + 1 WHERE id = :k", {"k": found.campaign_id}
        )
        await tx.execute("UPDATE coupons SET used = used + 1 WHERE id = :c", {"c": found.coupon_id})
        await tx.insert(
            "INSERT INTO coupon_redemptions (merchant_id, campaign_id, coupon_id, receipt_id, "
            "customer_id, created_at) VALUES (:m, :k, :c, :r, :cust, :now) RETURNING id",
            {"m": merchant_id, "k": found.campaign_id, "c": found.coupon_id, "r": receipt_id,
             "cust": customer_id, "now": now},
        )  # fmt: skip


async def free_on_return(
    tx: Transaction, merchant_id: int, sale_id: int, refund_id: int, now: int
) -> list[str]:
    """A refund completed the return of the sale: give back its codes whose campaign says
    so (``return_frees``). Returns the cashier's messages."""
    rows = await tx.fetch_all(
        "SELECT r.id, r.coupon_id, r.campaign_id, c.code FROM coupon_redemptions r "
        "JOIN coupon_campaigns k ON k.id = r.campaign_id JOIN coupons c ON c.id = r.coupon_id "
        "WHERE r.merchant_id = :m AND r.receipt_id = :s AND r.freed_at IS NULL "
        "AND k.return_frees = 1 ORDER BY r.campaign_id, r.id",
        {"m": merchant_id, "s": sale_id},
    )
    messages = []
    for row in rows:
        await lock_campaign(tx, int(row["campaign_id"]))
        await tx.execute(
            "UPDATE coupon_campaigns SET used = used - 1 WHERE id = :k AND used > 0",
            {"k": row["campaign_id"]},
        )
        await tx.execute(
            "UPDATE coupons SET used = used - 1 WHERE id = :c AND used > 0",
            {"c": row["coupon_id"]},
        )
        await tx.execute(
            "UPDATE coupon_redemptions SET freed_at = :now, refund_receipt_id = :f WHERE id = :id",
            {"now": now, "f": refund_id, "id": row["id"]},
        )
        messages.append(f"Купон {row['code']} снова действует: чек возвращён")
    return messages
