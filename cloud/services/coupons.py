"""The merchant's coupon campaigns: a batch of codes unlocking one coupon rule of the
program, their states, a printable list (CSV, an HTML page with a QR per code), and
revocation. What a code does at the till is ``coupon_use``."""

from __future__ import annotations

import csv
import html
import io
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

import segno

from cloud.clock import from_epoch, to_epoch
from cloud.db.database import Row
from cloud.errors import Conflict, NotFound, Unprocessable
from cloud.services.coupon_use import lock_campaign, normalize
from cloud.services.deps import Deps
from schemas import coupons as wire
from schemas.coupons import CODE_LENGTH

_CAMPAIGN = (
    "SELECT k.id, k.name, k.rule_code, k.uses_per_code, k.total_uses, k.uses_per_customer, "
    "k.requires_customer, k.valid_from, k.valid_until, k.return_frees, k.used, k.revoked_at, "
    "k.created_at, (SELECT COUNT(*) FROM coupons c WHERE c.campaign_id = k.id) AS count "
    "FROM coupon_campaigns k WHERE k.merchant_id = :m"
)


def not_found(campaign_id: int) -> NotFound:
    return NotFound("coupon_campaign_not_found", f"Купонная акция «{campaign_id}» не найдена")


def _local(epoch: int | None, tz: ZoneInfo) -> datetime | None:
    moment = from_epoch(epoch)
    return None if moment is None else moment.astimezone(tz)


def _info(row: Row, tz: ZoneInfo) -> wire.CouponCampaignInfo:
    created = _local(int(row["created_at"]), tz)
    assert created is not None
    return wire.CouponCampaignInfo(
        id=int(row["id"]), name=row["name"], rule=row["rule_code"], count=int(row["count"]),
        used=int(row["used"]), uses_per_code=row["uses_per_code"],
        total_uses=row["total_uses"], uses_per_customer=row["uses_per_customer"],
        requires_customer=bool(row["requires_customer"]),
        valid_from=_local(row["valid_from"], tz), valid_until=_local(row["valid_until"], tz),
        return_frees=bool(row["return_frees"]), revoked_at=_local(row["revoked_at"], tz),
        created_at=created,
    )  # fmt: skip


def _new_code() -> str:
    # Digits only: a cashier types them, Evotor's V1 documents carry a coupon as a number,
    # and a leading non-zero digit survives that number.
    return str(secrets.randbelow(9 * 10 ** (CODE_LENGTH - 1)) + 10 ** (CODE_LENGTH - 1))


async def create(
    deps: Deps, merchant_id: int, tz: ZoneInfo, body: wire.CouponCampaignCreate
) -> wire.CouponCampaignCreated:
    """A campaign and its ``count`` fresh codes, in one transaction. The rule must be a
    coupon rule of the live program (a code for nothing would be refused at every till)."""
    version = await deps.db.fetch_value(
        "SELECT active_program_version_id FROM merchants WHERE id = :m", {"m": merchant_id}
    )
    if version is None:
        raise Conflict("no_program", "У компании нет активной программы лояльности")
    program = (await deps.programs.get(int(version))).program
    if body.rule not in {rule.code for rule in program.coupons}:
        known = ", ".join(rule.code for rule in program.coupons) or "нет ни одного"
        raise Unprocessable(
            "unknown_coupon_rule",
            f"В действующей программе нет купонного правила «{body.rule}» (есть: {known})",
        )
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        campaign_id = await tx.insert(
            "INSERT INTO coupon_campaigns (merchant_id, name, rule_code, uses_per_code, "
            "total_uses, uses_per_customer, requires_customer, valid_from, valid_until, "
            "return_frees, used, created_at) VALUES (:m, :name, :rule, :per_code, :total, "
            ":per_customer, :requires, :from_, :until, :frees, 0, :now) RETURNING id",
            {"m": merchant_id, "name": body.name.strip(), "rule": body.rule,
             "per_code": body.uses_per_code, "total": body.total_uses,
             "per_customer": body.uses_per_customer, "requires": int(body.requires_customer),
             "from_": None if body.valid_from is None else to_epoch(body.valid_from),
             "until": None if body.valid_until is None else to_epoch(body.valid_until),
             "frees": int(body.return_frees), "now": now},
        )  # fmt: skip
        codes: list[str] = []
        wanted = body.count
        while wanted:
            fresh = list({_new_code() for _ in range(wanted)} - set(codes))
            # Codes are unique per merchant: drop the (rare) ones an older batch holds.
            taken: set[str] = set()
            for start in range(0, len(fresh), 500):
                chunk = fresh[start : start + 500]
                marks = ", ".join(f":c{i}" for i in range(len(chunk)))
                rows = await tx.fetch_all(
                    f"SELECT code FROM coupons WHERE merchant_id = :m AND code IN ({marks})",
                    {"m": merchant_id, **{f"c{i}": code for i, code in enumerate(chunk)}},
                )
                taken.update(row["code"] for row in rows)
            fresh = [code for code in fresh if code not in taken][:wanted]
            codes.extend(fresh)
            wanted -= len(fresh)
        await tx.execute_many(
            "INSERT INTO coupons (merchant_id, campaign_id, code, used, created_at) "
            "VALUES (:m, :k, :code, 0, :now)",
            [{"m": merchant_id, "k": campaign_id, "code": code, "now": now} for code in codes],
        )
    return wire.CouponCampaignCreated(
        campaign=await campaign(deps, merchant_id, tz, campaign_id), codes=codes
    )


async def campaign(
    deps: Deps, merchant_id: int, tz: ZoneInfo, campaign_id: int
) -> wire.CouponCampaignInfo:
    row = await deps.db.fetch_one(
        _CAMPAIGN + " AND k.id = :k", {"m": merchant_id, "k": campaign_id}
    )
    if row is None:
        raise not_found(campaign_id)
    return _info(row, tz)


async def campaigns(deps: Deps, merchant_id: int, tz: ZoneInfo) -> wire.CouponCampaignList:
    rows = await deps.db.fetch_all(_CAMPAIGN + " ORDER BY k.id DESC", {"m": merchant_id})
    return wire.CouponCampaignList(campaigns=[_info(row, tz) for row in rows])


def _state(row: Row, info: wire.CouponCampaignInfo, now: datetime) -> wire.CouponState:
    if row["revoked_at"] is not None or info.revoked_at is not None:
        return "revoked"
    if info.uses_per_code is not None and int(row["used"]) >= info.uses_per_code:
        return "used"
    if info.total_uses is not None and info.used >= info.total_uses:
        return "used"
    if info.valid_until is not None and now >= info.valid_until:
        return "expired"
    if info.valid_from is not None and now < info.valid_from:
        return "not_yet_valid"
    return "active"


async def codes(deps: Deps, merchant_id: int, tz: ZoneInfo, campaign_id: int) -> wire.CouponList:
    """Every code of the campaign with its state (in issue order)."""
    info = await campaign(deps, merchant_id, tz, campaign_id)
    rows = await deps.db.fetch_all(
        "SELECT code, used, revoked_at FROM coupons WHERE merchant_id = :m AND campaign_id = :k "
        "ORDER BY id",
        {"m": merchant_id, "k": campaign_id},
    )
    now = deps.clock()
    return wire.CouponList(
        campaign_id=campaign_id,
        coupons=[
            wire.CouponInfo(
                code=row["code"],
                state=_state(row, info, now),
                used=int(row["used"]),
                revoked_at=_local(row["revoked_at"], tz),
            )
            for row in rows
        ],
    )


_STATE_NAMES = {"active": "действует", "used": "использован", "revoked": "отозван",
                "expired": "истёк", "not_yet_valid": "ещё не действует"}  # fmt: skip


def as_csv(listing: wire.CouponList) -> bytes:
    """The codes for a spreadsheet: UTF-8 with BOM (Excel), «;»-separated."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["код", "состояние", "использован раз"])
    for coupon in listing.coupons:
        writer.writerow([coupon.code, _STATE_NAMES[coupon.state], coupon.used])
    return ("\ufeff" + out.getvalue()).encode()


def _qr(code: str) -> str:
    buffer = io.BytesIO()
    segno.make(code, error="m").save(buffer, kind="svg", scale=3, border=2, xmldecl=False)
    return buffer.getvalue().decode()


def as_html(info: wire.CouponCampaignInfo, listing: wire.CouponList) -> str:
    """A page to print and cut: each active code with its QR code."""
    until = "" if info.valid_until is None else (
        f"<p>Действует до {info.valid_until:%d.%m.%Y %H:%M}</p>"
    )  # fmt: skip
    cards = "".join(
        f'<div class="c">{_qr(coupon.code)}<div class="n">{coupon.code}</div></div>'
        for coupon in listing.coupons
        if coupon.state in ("active", "not_yet_valid")
    )
    return (
        '<!doctype html><html lang="ru"><head><meta charset="utf-8">'
        f"<title>Купоны: {html.escape(info.name)}</title><style>"
        "body{font-family:sans-serif}.c{display:inline-block;margin:6px;padding:6px;"
        "border:1px dashed #999;text-align:center}.n{font:16px monospace}"
        "@media print{h1,p{margin:4px 0}}</style></head><body>"
        f"<h1>{html.escape(info.name)}</h1>{until}"
        "<p>Покажите купон на кассе: кассир сканирует QR-код или вводит номер.</p>"
        f"{cards}</body></html>"
    )


async def revoke(
    deps: Deps, merchant_id: int, campaign_id: int, body: wire.CouponRevoke
) -> wire.CouponRevoked:
    """Revoke listed codes of the campaign, or the whole campaign; a revoked code is
    refused at every till from now on (a sale already recorded keeps its redemption)."""
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        found = await tx.fetch_value(
            "SELECT id FROM coupon_campaigns WHERE merchant_id = :m AND id = :k",
            {"m": merchant_id, "k": campaign_id},
        )
        if found is None:
            raise not_found(campaign_id)
        await lock_campaign(tx, campaign_id)
        params: dict[str, object] = {"m": merchant_id, "k": campaign_id, "now": now}
        where = "merchant_id = :m AND campaign_id = :k AND revoked_at IS NULL"
        if body.codes is not None:
            wanted = sorted({normalize(code) for code in body.codes})
            params.update({f"c{i}": code for i, code in enumerate(wanted)})
            marks = ", ".join(f":c{i}" for i in range(len(wanted)))
            known = await tx.fetch_all(
                f"SELECT code FROM coupons WHERE merchant_id = :m AND campaign_id = :k "
                f"AND code IN ({marks})",
                params,
            )
            missing = set(wanted) - {row["code"] for row in known}
            if missing:
                raise NotFound(
                    "coupon_not_found",
                    f"В акции нет купонов: {', '.join(sorted(missing)[:5])}",
                )
            where += f" AND code IN ({marks})"
        else:
            await tx.execute(
                "UPDATE coupon_campaigns SET revoked_at = :now WHERE id = :k "
                "AND revoked_at IS NULL",
                params,
            )
        count = await tx.fetch_value(f"SELECT COUNT(*) FROM coupons WHERE {where}", params)
        await tx.execute(f"UPDATE coupons SET revoked_at = :now WHERE {where}", params)
    return wire.CouponRevoked(campaign_id=campaign_id, revoked=int(count))
