"""МойСклад Loyalty API tenants: installation tokens, the store and till a request names,
the counterparty ids both sides use, and the codes handed to the till.

- **Tokens.** Each installation of the solution gets its own
  ``Lognex-Discount-API-Auth-Token`` from the merchant administration
  (``POST /api/v1/merchant/moysklad/installations``), shown once and kept as SHA-256
  (long random strings, like terminal tokens); a merchant may have several (a second
  MoySklad account, a replacement) and revokes each on its own. Every request reads
  the token's row, so a revocation or a suspension takes effect on the next request.
- **Stores.** ``retailStore.meta.id`` is our store with that ``external_id``, and the
  till a ``moysklad`` terminal of it with the same external id; both are created on
  first sight (as Frontol's ``businessUnit`` is), in the merchant's time zone.
- **Counterparties.** The id we give the till (``rows[].id``) encodes our customer id
  in a GUID the till sends back as ``agent.meta.id``; MoySklad's own counterparty id
  (``msId``, the ``meta.id`` of a registration) is remembered in
  ``moysklad_counterparties``.
- **Codes.** MoySklad's till checks the customer's code itself: ``/counterparty/verify``
  and ``/retaildemand/verify`` answer with it. The code is kept (encrypted) per phone
  and purpose so the registration or the spend that follows uses it up through the
  ordinary ``sms_codes`` check.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from cloud.clock import to_epoch
from cloud.crypto import hash_token
from cloud.db.database import is_unique_violation
from cloud.errors import NotFound, PaymentRequired, Unauthorized
from cloud.services import merchants
from cloud.services.deps import Deps
from cloud.services.merchants import TerminalContext, zone
from cloud.services.sms_codes import phone_key

CHANNEL = "moysklad"
HEADER = "Lognex-Discount-API-Auth-Token"
_PREFIX = "6c6f7961-6c74-4000-8000-"
_GIFT_PREFIX = "6c6f7961-6c74-4000-8001-"
_OURS = re.compile(r"^6c6f7961-6c74-4000-8000-([0-9a-f]{12})$")


@dataclass(frozen=True, slots=True)
class Installation:
    id: int
    label: str | None
    created_at: datetime
    revoked_at: datetime | None
    token: str | None = None
    """Only right after issuing: it is never shown again."""


def _when(epoch: int | None, now: datetime) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(int(epoch), now.tzinfo)


async def issue(deps: Deps, merchant_id: int, label: str | None) -> Installation:
    token = "ms_" + secrets.token_urlsafe(32)
    now = deps.clock()
    async with deps.db.transaction() as tx:
        installation_id = await tx.insert(
            "INSERT INTO moysklad_installations (merchant_id, token_hash, label, created_at) "
            "VALUES (:m, :h, :label, :now) RETURNING id",
            {"m": merchant_id, "h": hash_token(token), "label": label, "now": to_epoch(now)},
        )
    return Installation(installation_id, label, now, None, token)


async def installations(deps: Deps, merchant_id: int) -> list[Installation]:
    now = deps.clock()
    rows = await deps.db.fetch_all(
        "SELECT id, label, created_at, revoked_at FROM moysklad_installations "
        "WHERE merchant_id = :m ORDER BY id",
        {"m": merchant_id},
    )
    return [
        Installation(int(r["id"]), r["label"], _when(r["created_at"], now) or now,
                     _when(r["revoked_at"], now))
        for r in rows
    ]  # fmt: skip


async def revoke(deps: Deps, merchant_id: int, installation_id: int) -> Installation:
    """Revoke one installation's token (again: nothing changes)."""
    now = deps.clock()
    await deps.db.execute(
        "UPDATE moysklad_installations SET revoked_at = :now "
        "WHERE merchant_id = :m AND id = :i AND revoked_at IS NULL",
        {"m": merchant_id, "i": installation_id, "now": to_epoch(now)},
    )
    for found in await installations(deps, merchant_id):
        if found.id == installation_id:
            return found
    raise NotFound("moysklad_installation_not_found", "Подключение МойСклад не найдено")


def _bad_token() -> Unauthorized:
    return Unauthorized("moysklad_bad_token", f"Неверный или отозванный токен {HEADER}")


# One read: the token's installation, its merchant, the store and the till (a LEFT JOIN
# each, so a store or till not seen yet still returns the installation).
_PLACE_SQL = (
    "SELECT i.merchant_id, m.status, m.timezone AS merchant_tz, s.id AS store_id, "
    "s.timezone, t.id AS terminal_id FROM moysklad_installations i "
    "JOIN merchants m ON m.id = i.merchant_id "
    "LEFT JOIN stores s ON s.merchant_id = i.merchant_id AND s.external_id = :store "
    "LEFT JOIN terminals t ON t.store_id = s.id AND t.merchant_id = i.merchant_id "
    "AND t.channel = 'moysklad' AND t.external_id = :store "
    "WHERE i.token_hash = :h AND i.revoked_at IS NULL ORDER BY s.id, t.id LIMIT 1"
)


async def terminal_for(
    deps: Deps, token: str | None, store_id: str, store_name: str | None
) -> TerminalContext:
    """The till of the token's merchant for a MoySklad retail store, created on first
    sight; 401 for a missing, unknown or revoked token, 402 for a suspended merchant."""
    token = (token or "").strip()
    if not token:
        raise Unauthorized("moysklad_missing_token", f"Нужен заголовок {HEADER}")
    params = {"h": hash_token(token), "store": store_id}
    row = await deps.db.fetch_one(_PLACE_SQL, params)
    if row is None:
        raise _bad_token()
    if row["status"] != "active":
        raise PaymentRequired(
            "merchant_suspended", "Обслуживание программы лояльности приостановлено"
        )
    merchant_id = int(row["merchant_id"])
    if row["terminal_id"] is None:
        now = deps.clock()
        label = f"МойСклад: {store_name or store_id}"[:200]
        store = row["store_id"]
        try:
            if store is None:
                store = await merchants.create_store(
                    deps.db, merchant_id, label, now, external_id=store_id
                )
            await merchants.create_terminal(
                deps.db, merchant_id, int(store), label, now, external_id=store_id,
                channel=CHANNEL,
            )  # fmt: skip
        except Exception as exc:
            # Two first requests of a store raced: the other one created it.
            if not is_unique_violation(exc):
                raise
        row = await deps.db.fetch_one(_PLACE_SQL, params)
        assert row is not None and row["terminal_id"] is not None
    return TerminalContext(
        merchant_id=merchant_id,
        store_id=int(row["store_id"]),
        terminal_id=int(row["terminal_id"]),
        timezone=zone(str(row["timezone"] or row["merchant_tz"])),
        merchant_status=str(row["status"]),
    )


# ---- counterparty ids ------------------------------------------------------------------------


def counterparty_id(customer_id: int) -> str:
    """The GUID the till knows our customer by."""
    return f"{_PREFIX}{customer_id:012x}"


def giftcard_id(certificate_id: int) -> str:
    """The GUID the till knows our gift certificate by (another node than customers')."""
    return f"{_GIFT_PREFIX}{certificate_id:012x}"


def customer_of_id(value: str) -> int | None:
    """Our customer id inside a GUID we gave out (``None`` for any other id)."""
    match = _OURS.match(value.strip().lower())
    return int(match.group(1), 16) if match else None


async def by_ms_id(deps: Deps, merchant_id: int, ms_id: str) -> int | None:
    value = await deps.db.fetch_value(
        "SELECT customer_id FROM moysklad_counterparties WHERE merchant_id = :m AND ms_id = :i",
        {"m": merchant_id, "i": ms_id},
    )
    return None if value is None else int(value)


async def remember_ms_id(deps: Deps, merchant_id: int, ms_id: str, customer_id: int) -> None:
    """MoySklad's id of our customer; a later pairing replaces an earlier one."""
    if not ms_id or customer_of_id(ms_id) is not None:
        return
    params = {"m": merchant_id, "i": ms_id, "c": customer_id, "now": to_epoch(deps.clock())}
    async with deps.db.transaction() as tx:
        await tx.execute(
            "DELETE FROM moysklad_counterparties WHERE merchant_id = :m AND ms_id = :i", params
        )
        await tx.execute(
            "INSERT INTO moysklad_counterparties (merchant_id, ms_id, customer_id, created_at) "
            "VALUES (:m, :i, :c, :now)",
            params,
        )


# ---- codes handed to the till ----------------------------------------------------------------


async def keep_code(
    deps: Deps, merchant_id: int, phone: str, purpose: str, code: str, expires_at: int
) -> None:
    _, index = phone_key(deps, merchant_id, phone)
    params = {
        "m": merchant_id, "p": index, "purpose": purpose, "now": to_epoch(deps.clock()),
        "code": deps.cipher.encrypt(merchant_id, code), "exp": expires_at,
    }  # fmt: skip
    async with deps.db.transaction() as tx:
        await tx.execute(
            "DELETE FROM moysklad_codes WHERE merchant_id = :m AND phone_index = :p "
            "AND purpose = :purpose",
            params,
        )
        await tx.execute(
            "INSERT INTO moysklad_codes (merchant_id, phone_index, purpose, code_enc, "
            "expires_at, created_at) VALUES (:m, :p, :purpose, :code, :exp, :now)",
            params,
        )


async def kept_code(deps: Deps, merchant_id: int, phone: str, purpose: str) -> str | None:
    """The code last handed to a till for the phone and purpose, while it lives."""
    _, index = phone_key(deps, merchant_id, phone)
    row = await deps.db.fetch_one(
        "SELECT code_enc FROM moysklad_codes WHERE merchant_id = :m AND phone_index = :p "
        "AND purpose = :purpose AND expires_at > :now",
        {"m": merchant_id, "p": index, "purpose": purpose, "now": to_epoch(deps.clock())},
    )
    return None if row is None else deps.cipher.decrypt(merchant_id, bytes(row["code_enc"]))
