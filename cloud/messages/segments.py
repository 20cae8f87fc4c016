"""A mailing's segment as one WHERE clause over ``customers c``, and the clear-text
columns it needs that registration and imports do not always write.

Only customers who consented to messages, did not say «СТОП» and whose card is not
blocked are in any segment: the outbox would skip the rest anyway, and a cost estimate
should not count them. Age is the merchant's local age on the day of the mailing; a
card-number range matches a customer with any card (plastic or virtual) whose number,
read as an integer, falls in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from cloud.ledger.balance import LOTS_AVAILABLE_SQL
from cloud.services.deps import Deps
from cloud.services.lifecycle import index_birthdays
from schemas import messages as wire
from schemas.money import to_kopecks

DAY = 86_400
NOT_NUMERIC = -1
"""``cards.number_value`` of a number that is not all digits (or too long for BIGINT)."""


@dataclass(frozen=True)
class Where:
    sql: str
    params: dict[str, Any]


def _in(name: str, values: list[str], params: dict[str, Any]) -> str:
    names = []
    for i, value in enumerate(values):
        params[f"{name}{i}"] = value
        names.append(f":{name}{i}")
    return ", ".join(names)


def _born_by(today: date, years: int) -> int:
    """``YYYYMMDD`` of the last birth date that is ``years`` old on ``today`` (29
    February is a year older on 1 March in a year without one)."""
    return (today.year - years) * 10_000 + today.month * 100 + today.day


def segment_where(
    merchant_id: int, segment: wire.Segment, channel: str, now: int, today: date
) -> Where:
    """The WHERE clause over ``customers c`` for a segment at ``now`` (``today`` is the
    merchant's local date, for ages)."""
    params: dict[str, Any] = {"m": merchant_id, "now": now}
    parts = [
        "c.merchant_id = :m",
        "c.consent_messages_at IS NOT NULL",
        "c.messages_opt_out_at IS NULL",
        "c.blocked_at IS NULL",
    ]
    if channel == "email":
        parts.append("c.email_enc IS NOT NULL")
    if segment.tiers:
        parts.append(f"c.tier_code IN ({_in('tier', segment.tiers, params)})")
    if segment.registration_channels:
        names = _in("reg", segment.registration_channels, params)
        parts.append(f"c.registration_channel IN ({names})")
    if segment.gender is not None:
        params["gender"] = segment.gender
        parts.append("c.gender = :gender")

    def bounded(expression: str, name: str, low: int | None, high: int | None) -> None:
        if low is not None:
            params[f"{name}_min"] = low
            parts.append(f"{expression} >= :{name}_min")
        if high is not None:
            params[f"{name}_max"] = high
            parts.append(f"{expression} <= :{name}_max")

    def money(expression: str, name: str, bounds: wire.MoneyRange | None) -> None:
        if bounds is not None:
            low = None if bounds.min is None else to_kopecks(bounds.min)
            high = None if bounds.max is None else to_kopecks(bounds.max)
            bounded(expression, name, low, high)

    money("c.lifetime_purchases", "revenue", segment.revenue)
    if segment.average_receipt is not None:
        # Compared without dividing: lifetime >= min × count, exact in integers.
        parts.append("c.purchase_count > 0")
        if segment.average_receipt.min is not None:
            params["avg_min"] = to_kopecks(segment.average_receipt.min)
            parts.append("c.lifetime_purchases >= :avg_min * c.purchase_count")
        if segment.average_receipt.max is not None:
            params["avg_max"] = to_kopecks(segment.average_receipt.max)
            parts.append("c.lifetime_purchases <= :avg_max * c.purchase_count")
    if segment.purchase_count is not None:
        bounded("c.purchase_count", "count", segment.purchase_count.min,
                segment.purchase_count.max)  # fmt: skip
    money("(" + LOTS_AVAILABLE_SQL.format(customer="c.id") + ")", "balance", segment.balance)
    idle = segment.days_without_purchase
    if idle is not None:
        # More days idle is an earlier last purchase: the bounds swap.
        bounded("COALESCE(c.last_purchase_at, c.created_at)", "idle",
                None if idle.max is None else now - idle.max * DAY,
                None if idle.min is None else now - idle.min * DAY)  # fmt: skip
    age = segment.age
    if age is not None:
        # At least N years old: born on or before today N years ago; at most N: born
        # after today N + 1 years ago. A customer without a birthday has no age.
        born = "(c.birth_year * 10000 + c.birthday_md)"
        parts.append("c.birth_year IS NOT NULL AND c.birthday_md IS NOT NULL")
        bounded(born, "born",
                None if age.max is None else _born_by(today, age.max + 1) + 1,
                None if age.min is None else _born_by(today, age.min))  # fmt: skip
    cards = segment.card_numbers
    if cards is not None:
        inner: list[str] = []
        if cards.min is not None:
            params["card_min"] = cards.min
            inner.append("k.number_value >= :card_min")
        else:
            inner.append(f"k.number_value > {NOT_NUMERIC}")
        if cards.max is not None:
            params["card_max"] = cards.max
            inner.append("k.number_value <= :card_max")
        parts.append(
            "EXISTS (SELECT 1 FROM cards k WHERE k.merchant_id = :m AND k.customer_id = c.id "
            "AND k.kind <> 'phone' "
            f"AND {' AND '.join(inner)})"
        )
    return Where(" AND ".join(parts), params)


def card_value(number: str) -> int:
    """A card number as the integer its range compares, or ``NOT_NUMERIC``."""
    if number.isascii() and number.isdigit() and len(number) <= 18:
        return int(number)
    return NOT_NUMERIC


async def index_fields(deps: Deps, merchant_id: int) -> int:
    """Fill ``customers.birth_year`` and ``cards.number_value`` where a writer left them
    empty (rows from before the columns, imports, registrations): both sources are
    encrypted, so this reads row by row, but only rows never indexed."""
    count = await index_birthdays(deps, merchant_id)
    cards = await deps.db.fetch_all(
        "SELECT id, number_enc FROM cards WHERE merchant_id = :m AND number_value IS NULL",
        {"m": merchant_id},
    )
    values = [
        {"id": row["id"], "m": merchant_id,
         "value": card_value(deps.cipher.decrypt(merchant_id, bytes(row["number_enc"])))}
        for row in cards
    ]  # fmt: skip
    if values:
        async with deps.db.transaction() as tx:
            await tx.execute_many(
                "UPDATE cards SET number_value = :value WHERE id = :id AND merchant_id = :m",
                values,
            )
    return count + len(values)
