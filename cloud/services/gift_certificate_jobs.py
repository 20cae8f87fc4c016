"""Gift certificates: the nightly expiry and the liability report (set-based SQL over
a merchant's certificates, never a loop per certificate)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from cloud.clock import to_epoch
from cloud.db.database import Transaction
from cloud.services import jobs
from cloud.services.deps import Deps
from cloud.services.gift_certificates import STATE_SQL
from schemas import gift_certificates as wire
from schemas.money import to_roubles

JOB = "gift_certificates"


async def expire_due(tx: Transaction, merchant_id: int, now: int) -> tuple[int, int]:
    """Move the remainder of every activated certificate whose time ran out to
    ``expired``, in three statements; returns (certificates, kopecks). A second call
    finds nothing: the certificates are ``expired`` now."""
    suffix = " ORDER BY id FOR UPDATE" if tx.dialect == "postgresql" else ""
    due = "merchant_id = :m AND status = 'active' AND expires_at <= :now"
    params = {"m": merchant_id, "now": now}
    await tx.execute(f"SELECT id FROM gift_certificates WHERE {due}{suffix}", params)
    row = await tx.fetch_one(
        f"SELECT COUNT(*) AS n, COALESCE(SUM(remaining), 0) AS total FROM gift_certificates "
        f"WHERE {due}",
        params,
    )
    assert row is not None
    await tx.execute(
        "INSERT INTO gift_certificate_entries (merchant_id, certificate_id, kind, amount, "
        "receipt_id, key, created_at) SELECT merchant_id, id, 'expire', -remaining, NULL, "
        f"'expire:' || CAST(id AS TEXT), :now FROM gift_certificates WHERE {due}",
        params,
    )
    await tx.execute(
        "UPDATE gift_certificate_holds SET status = 'released' WHERE status = 'active' "
        f"AND certificate_id IN (SELECT id FROM gift_certificates WHERE {due})",
        params,
    )
    await tx.execute(
        "UPDATE gift_certificates SET expired = expired + remaining, remaining = 0, "
        f"status = 'expired', updated_at = :now WHERE {due}",
        params,
    )
    return int(row["n"]), int(row["total"])


async def run_expiry(
    deps: Deps, run_date: date | None = None, merchant_id: int | None = None
) -> jobs.JobReport:
    """The nightly job: per merchant and local date, once, the remainders of the
    certificates whose time ran out move to ``expired`` (as of now: a missed night is
    caught up by the next run)."""
    report = jobs.JobReport(JOB)
    for merchant, _, timezone in await jobs.merchants_with_programs(deps, merchant_id):
        day = run_date or jobs.local_date(deps, timezone)
        if await jobs.already_run(deps, merchant, JOB, day):
            report.skipped += 1
            continue
        async with jobs.claim(deps, merchant, JOB) as mine:
            if not mine:
                report.skipped += 1
                continue
            started = now = to_epoch(deps.clock())
            try:
                async with deps.db.transaction() as tx:
                    count, amount = await expire_due(tx, merchant, now)
                    result = {"certificates": count, "expired": amount}
                    await jobs.record_run(tx, merchant, JOB, day, started, now, result)
            except jobs.AlreadyRun:
                report.skipped += 1
                continue
        report.merchants += 1
        report.details[str(merchant)] = result
    return report


async def liability(deps: Deps, merchant_id: int, tz: ZoneInfo) -> wire.GiftCertificateLiability:
    """What the merchant owes on certificates, in one aggregate statement."""
    now_dt = deps.clock()
    now = to_epoch(now_dt)
    live = STATE_SQL["CAN_BE_USED"]
    due = "(g.status = 'active' AND g.expires_at <= :now)"
    sold = "g.activated_at IS NOT NULL"
    row = await deps.db.fetch_one(
        "SELECT "
        f"COALESCE(SUM(CASE WHEN {live} THEN g.remaining ELSE 0 END), 0) AS outstanding, "
        f"COALESCE(SUM(CASE WHEN {live} THEN 1 ELSE 0 END), 0) AS outstanding_count, "
        f"COALESCE(SUM(CASE WHEN {sold} THEN g.nominal ELSE 0 END), 0) AS issued, "
        f"COALESCE(SUM(CASE WHEN {sold} THEN 1 ELSE 0 END), 0) AS issued_count, "
        "COALESCE(SUM(g.redeemed), 0) AS redeemed, "
        f"COALESCE(SUM(g.expired + CASE WHEN {due} THEN g.remaining ELSE 0 END), 0) AS expired, "
        f"COALESCE(SUM(CASE WHEN {sold} THEN g.voided ELSE 0 END), 0) AS voided, "
        f"COALESCE(SUM(CASE WHEN {STATE_SQL['NOT_ACTIVATED']} THEN 1 ELSE 0 END), 0) AS stock, "
        f"COALESCE(SUM(CASE WHEN {STATE_SQL['NOT_ACTIVATED']} THEN g.nominal ELSE 0 END), 0) "
        "AS stock_nominal, "
        "(SELECT COALESCE(SUM(h.amount), 0) FROM gift_certificate_holds h JOIN gift_certificates "
        "c ON c.id = h.certificate_id WHERE h.merchant_id = :m AND h.status = 'active' AND "
        "h.expires_at > :now AND c.status = 'active' AND c.expires_at > :now) AS held "
        "FROM gift_certificates g WHERE g.merchant_id = :m",
        {"m": merchant_id, "now": now},
    )  # fmt: skip
    assert row is not None
    return wire.GiftCertificateLiability(
        as_of=now_dt.astimezone(tz), outstanding=to_roubles(int(row["outstanding"])),
        outstanding_count=int(row["outstanding_count"]), issued=to_roubles(int(row["issued"])),
        issued_count=int(row["issued_count"]), redeemed=to_roubles(int(row["redeemed"])),
        expired=to_roubles(int(row["expired"])), voided=to_roubles(int(row["voided"])),
        held=to_roubles(int(row["held"])), not_activated_count=int(row["stock"]),
        not_activated_nominal=to_roubles(int(row["stock_nominal"])),
    )  # fmt: skip
