"""The merchant's side of fiscal QR claims: its INN, the verification provider and its
credentials (AES-GCM, bound to the merchant like personal data), the claim window, and
the fiscal drives (``fn``) of its stores. A drive belongs to one store in the whole
service: the ``fn`` of a receipt is how a claim finds its merchant and store."""

from __future__ import annotations

from dataclasses import dataclass

from cloud.clock import to_epoch
from cloud.db.database import is_unique_violation
from cloud.errors import Conflict, NotFound
from cloud.services.deps import Deps
from schemas import fiscal as wire


@dataclass(frozen=True, slots=True)
class FiscalSettings:
    merchant_id: int
    inn: str
    provider: str
    credentials: str | None
    claim_window_days: int


async def read_settings(deps: Deps, merchant_id: int) -> FiscalSettings | None:
    row = await deps.db.fetch_one(
        "SELECT inn, provider, credentials_enc, claim_window_days FROM fiscal_settings "
        "WHERE merchant_id = :m",
        {"m": merchant_id},
    )
    if row is None:
        return None
    return FiscalSettings(
        merchant_id,
        str(row["inn"]),
        str(row["provider"]),
        deps.cipher.decrypt_optional(merchant_id, row["credentials_enc"]),
        int(row["claim_window_days"]),
    )


def info(settings: FiscalSettings) -> wire.FiscalSettingsInfo:
    return wire.FiscalSettingsInfo(
        inn=settings.inn,
        provider=settings.provider,
        credentials_set=settings.credentials is not None,
        claim_window_days=settings.claim_window_days,
    )


def not_set() -> NotFound:
    return NotFound("fiscal_not_configured", "Проверка чеков по QR-коду не настроена")


async def save_settings(
    deps: Deps, merchant_id: int, body: wire.FiscalSettingsSet
) -> FiscalSettings:
    now = to_epoch(deps.clock())
    credentials = (
        None if body.master_token is None else deps.cipher.encrypt(merchant_id, body.master_token)
    )
    async with deps.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO fiscal_settings (merchant_id, inn, provider, credentials_enc, "
            "claim_window_days, created_at, updated_at) VALUES (:m, :inn, :provider, :cred, "
            ":days, :now, :now) ON CONFLICT (merchant_id) DO UPDATE SET inn = :inn, "
            "provider = :provider, credentials_enc = COALESCE(:cred, "
            "fiscal_settings.credentials_enc), claim_window_days = :days, updated_at = :now",
            {
                "m": merchant_id,
                "inn": body.inn,
                "provider": body.provider,
                "cred": credentials,
                "days": body.claim_window_days,
                "now": now,
            },
        )
    saved = await read_settings(deps, merchant_id)
    assert saved is not None
    return saved


async def list_drives(deps: Deps, merchant_id: int) -> wire.FiscalDriveList:
    rows = await deps.db.fetch_all(
        "SELECT id, store_id, fn, created_at FROM fiscal_drives WHERE merchant_id = :m "
        "ORDER BY store_id, fn",
        {"m": merchant_id},
    )
    return wire.FiscalDriveList(drives=[wire.FiscalDriveInfo(**dict(row)) for row in rows])


async def add_drive(
    deps: Deps, merchant_id: int, body: wire.FiscalDriveAdd
) -> wire.FiscalDriveInfo:
    now = to_epoch(deps.clock())
    try:
        async with deps.db.transaction() as tx:
            store = await tx.fetch_value(
                "SELECT id FROM stores WHERE id = :s AND merchant_id = :m",
                {"s": body.store_id, "m": merchant_id},
            )
            if store is None:
                raise NotFound("store_not_found", f"Магазин #{body.store_id} не найден")
            drive_id = await tx.insert(
                "INSERT INTO fiscal_drives (merchant_id, store_id, fn, created_at) "
                "VALUES (:m, :s, :fn, :now) RETURNING id",
                {"m": merchant_id, "s": body.store_id, "fn": body.fn, "now": now},
            )
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
        # Which store has it stays unsaid: it may be another merchant's.
        raise Conflict(
            "fiscal_drive_taken",
            f"Фискальный накопитель {body.fn} уже зарегистрирован в сервисе",
        ) from exc
    return wire.FiscalDriveInfo(id=drive_id, store_id=body.store_id, fn=body.fn, created_at=now)


async def remove_drive(deps: Deps, merchant_id: int, drive_id: int) -> None:
    """Claims already made for the drive's receipts stay as they are."""
    async with deps.db.transaction() as tx:
        removed = await tx.fetch_all(
            "DELETE FROM fiscal_drives WHERE id = :id AND merchant_id = :m RETURNING id",
            {"id": drive_id, "m": merchant_id},
        )
    if not removed:
        raise drive_not_found(drive_id)


def drive_not_found(drive_id: int) -> NotFound:
    return NotFound("fiscal_drive_not_found", f"Фискальный накопитель #{drive_id} не найден")
