"""The merchant's own keys (owner only) and its Evotor link (read-only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cloud.clock import from_epoch, to_epoch
from cloud.crypto import hash_token, new_token
from cloud.errors import Forbidden, NotFound
from cloud.services.merchants import ROLES, Db, MerchantContext, issue_merchant_key


def require_owner(merchant: MerchantContext) -> None:
    """Merchant keys are the owner's: a manager's key could otherwise mint an owner's."""
    if merchant.role != "owner":
        raise Forbidden("owner_only", "Это может только владелец (ключ с ролью owner)")


async def issue_key(
    db: Db, merchant: MerchantContext, role: str, now: datetime, label: str = ""
) -> str:
    """A further key of the merchant (e.g. a manager's); shown once."""
    require_owner(merchant)
    return await issue_merchant_key(db, merchant.merchant_id, now, label=label, role=role)


async def rotate_key(db: Db, merchant: MerchantContext, now: datetime) -> str:
    """Replace the caller's own key: the new one has the same role and label, the old
    one is revoked in the same transaction, so it stops working on the next request."""
    require_owner(merchant)
    token = new_token("lm")
    async with db.transaction() as tx:
        old = await tx.fetch_one(
            "UPDATE merchant_credentials SET revoked_at = :now "
            "WHERE id = :c AND merchant_id = :m AND revoked_at IS NULL "
            "RETURNING role, label",
            {"now": to_epoch(now), "c": merchant.credential_id, "m": merchant.merchant_id},
        )
        if old is None:
            # Rotated by a concurrent request in the meantime: this key is gone already.
            raise Forbidden("key_revoked", "Ключ уже заменён другим запросом")
        await tx.insert(
            "INSERT INTO merchant_credentials (merchant_id, token_hash, label, role, created_at) "
            "VALUES (:m, :h, :label, :role, :now) RETURNING id",
            {"m": merchant.merchant_id, "h": hash_token(token), "label": old["label"],
             "role": old["role"], "now": to_epoch(now)},
        )  # fmt: skip
    return token


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: int
    role: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


async def list_keys(db: Db, merchant: MerchantContext) -> list[KeyInfo]:
    """The merchant's keys (never their values: only hashes are kept)."""
    require_owner(merchant)
    rows = await db.fetch_all(
        "SELECT id, role, label, created_at, revoked_at FROM merchant_credentials "
        "WHERE merchant_id = :m ORDER BY id",
        {"m": merchant.merchant_id},
    )
    return [
        KeyInfo(int(r["id"]), r["role"], r["label"], datetime.fromtimestamp(r["created_at"], UTC),
                from_epoch(r["revoked_at"]))
        for r in rows
    ]  # fmt: skip


async def revoke_key(db: Db, merchant: MerchantContext, key_id: int, now: datetime) -> None:
    """Revoke one of the merchant's keys (a leaked manager's key, say); effective on the
    next request. Another merchant's key id is not found."""
    require_owner(merchant)
    async with db.transaction() as tx:
        found = await tx.fetch_one(
            "SELECT revoked_at FROM merchant_credentials WHERE id = :k AND merchant_id = :m",
            {"k": key_id, "m": merchant.merchant_id},
        )
        if found is None:
            raise NotFound("key_not_found", f"Ключ #{key_id} не найден")
        await tx.execute(
            "UPDATE merchant_credentials SET revoked_at = :now "
            "WHERE id = :k AND merchant_id = :m AND revoked_at IS NULL",
            {"now": to_epoch(now), "k": key_id, "m": merchant.merchant_id},
        )


@dataclass(frozen=True, slots=True)
class EvotorLink:
    linked: bool
    evotor_user_id: str | None = None
    status: str | None = None
    """installed / uninstalled / suspended, then the subscription's own state."""
    subscription_status: str | None = None
    installed_at: datetime | None = None
    synced_at: datetime | None = None


async def evotor_link(db: Db, merchant_id: int) -> EvotorLink:
    row = await db.fetch_one(
        "SELECT evotor_user_id, subscription_status, suspended_at, installed_at, "
        "uninstalled_at, synced_at FROM evotor_accounts WHERE merchant_id = :m",
        {"m": merchant_id},
    )
    if row is None:
        return EvotorLink(linked=False)
    if row["uninstalled_at"] is not None and (
        row["installed_at"] is None or row["uninstalled_at"] >= row["installed_at"]
    ):
        status = "uninstalled"
    elif row["suspended_at"] is not None:
        status = "suspended"
    else:
        status = "active"
    return EvotorLink(
        linked=True,
        evotor_user_id=row["evotor_user_id"],
        status=status,
        subscription_status=row["subscription_status"],
        installed_at=from_epoch(row["installed_at"]),
        synced_at=from_epoch(row["synced_at"]),
    )


__all__ = [
    "ROLES", "EvotorLink", "KeyInfo", "evotor_link", "issue_key", "list_keys", "require_owner",
    "revoke_key", "rotate_key",
]  # fmt: skip
