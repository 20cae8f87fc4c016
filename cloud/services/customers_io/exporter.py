"""Export of the merchant's customer base to ``.xlsx``: keyset pages of customers with
their cards and balances (three set-based statements a page), written row by row by
openpyxl's write-only workbook, so memory stays bounded whatever the base's size.

Columns: phone, cards (physical and virtual), name, birthday, email, tier (code, as the
import takes it), lifetime purchases, purchase count, last purchase (the merchant's
local time), balance (available now plus not yet active, held bonuses excluded),
registration channel and date (local time)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo

from cloud.clock import to_epoch
from cloud.crypto import PersonalDataCipher
from cloud.db.database import Row
from cloud.errors import NotFound
from cloud.services.customers_io.validate import Progress
from cloud.services.deps import Deps
from cloud.services.merchants import zone

PAGE = 2000
HEADER = ("Телефон", "Номер карты", "Имя", "Дата рождения", "Email", "Уровень",
          "Сумма покупок", "Число покупок", "Последняя покупка", "Бонусы",
          "Канал регистрации", "Дата регистрации")  # fmt: skip
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_CUSTOMERS = (
    "SELECT id, phone_enc, name_enc, email_enc, birthday_enc, tier_code, lifetime_purchases, "
    "purchase_count, last_purchase_at, registration_channel, created_at FROM customers "
    "WHERE merchant_id = :m AND id > :after ORDER BY id LIMIT :n"
)
_CARDS = (
    "SELECT customer_id, number_enc FROM cards WHERE merchant_id = :m "
    "AND customer_id BETWEEN :lo AND :hi AND kind <> 'phone' "
    "ORDER BY customer_id, CASE kind WHEN 'physical' THEN 0 ELSE 1 END, id"
)
_LOTS = (
    "SELECT customer_id, "
    "COALESCE(SUM(CASE WHEN available_from <= :now THEN remaining ELSE 0 END), 0) AS active, "
    "COALESCE(SUM(CASE WHEN available_from > :now THEN remaining ELSE 0 END), 0) AS pending "
    "FROM bonus_lots WHERE merchant_id = :m AND customer_id BETWEEN :lo AND :hi "
    "AND remaining > 0 AND (expires_at IS NULL OR expires_at > :now) GROUP BY customer_id"
)
_HOLDS = (
    "SELECT customer_id, SUM(amount) AS held FROM holds WHERE merchant_id = :m "
    "AND customer_id BETWEEN :lo AND :hi AND status = 'active' AND expires_at > :now "
    "GROUP BY customer_id"
)


def _roubles(kopecks: int) -> Decimal:
    return Decimal(kopecks).scaleb(-2)


def _local(seconds: int | None, tz: ZoneInfo) -> datetime | None:
    # Excel has no time zones: the merchant's wall-clock time, as the header says.
    if seconds is None:
        return None
    return datetime.fromtimestamp(int(seconds), tz).replace(tzinfo=None)


def _rows(
    customers: Sequence[Row], cards: dict[int, list[str]], balances: dict[int, int],
    cipher: PersonalDataCipher, merchant_id: int, tz: ZoneInfo,
) -> list[tuple[Any, ...]]:  # fmt: skip
    out = []
    for row in customers:
        customer = int(row["id"])
        birthday = cipher.decrypt_optional(merchant_id, row["birthday_enc"])
        out.append((
            cipher.decrypt(merchant_id, bytes(row["phone_enc"])),
            ", ".join(cards.get(customer, [])) or None,
            cipher.decrypt_optional(merchant_id, row["name_enc"]),
            date.fromisoformat(birthday) if birthday else None,
            cipher.decrypt_optional(merchant_id, row["email_enc"]),
            row["tier_code"],
            _roubles(int(row["lifetime_purchases"])),
            int(row["purchase_count"]),
            _local(row["last_purchase_at"], tz),
            _roubles(balances.get(customer, 0)),
            row["registration_channel"],
            _local(row["created_at"], tz),
        ))  # fmt: skip
    return out


def _append(sheet: Any, rows: Any, *args: Any) -> int:
    """Decrypt and serialise one page off the event loop."""
    values = rows(*args)
    for row in values:
        sheet.append(row)
    return len(values)


async def export_base(
    deps: Deps, merchant_id: int, target: IO[bytes], progress: Progress | None = None
) -> int:
    """Write the base to ``target`` as an xlsx workbook; returns the customers written."""
    from openpyxl import Workbook  # imported on use: the checkout path never needs it

    timezone = await deps.db.fetch_value(
        "SELECT timezone FROM merchants WHERE id = :m", {"m": merchant_id}
    )
    if timezone is None:
        raise NotFound("merchant_not_found", f"Компания #{merchant_id} не найдена")
    tz = zone(str(timezone))
    now = to_epoch(deps.clock())
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Клиенты")
    sheet.append(HEADER)
    after, written = 0, 0
    while True:
        customers = await deps.db.fetch_all(
            _CUSTOMERS, {"m": merchant_id, "after": after, "n": PAGE}
        )
        if not customers:
            break
        span = {"m": merchant_id, "lo": int(customers[0]["id"]), "hi": int(customers[-1]["id"])}
        cards: dict[int, list[str]] = {}
        for card in await deps.db.fetch_all(_CARDS, span):
            cards.setdefault(int(card["customer_id"]), []).append(
                deps.cipher.decrypt(merchant_id, bytes(card["number_enc"]))
            )
        held = {int(r["customer_id"]): int(r["held"])
                for r in await deps.db.fetch_all(_HOLDS, {**span, "now": now})}  # fmt: skip
        balances = {
            int(r["customer_id"]): max(int(r["active"]) - held.get(int(r["customer_id"]), 0), 0)
            + int(r["pending"])
            for r in await deps.db.fetch_all(_LOTS, {**span, "now": now})
        }
        written += await asyncio.to_thread(
            _append, sheet, _rows, customers, cards, balances, deps.cipher, merchant_id, tz
        )
        after = span["hi"]
        if progress is not None:
            progress("exported", written)
    await asyncio.to_thread(workbook.save, target)
    return written
