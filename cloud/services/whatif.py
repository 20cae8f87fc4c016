"""What-if replay: the merchant's real sales of the last 30 or 90 days re-priced under a
draft program version and under the live one, side by side, before activating.

The replay starts every customer of the window from the same facts under both
versions — lifetime purchases and bonus balance as they were when the window opened
(today's figures minus what the window's receipts added) and the tier each version
gives for those purchases — then walks the sales in the order they happened. Each sale
is priced by the engine with the lines it had; the customer spends what they really
spent, capped by what the version allows; each version's accrual feeds its own balance,
and its own purchases move its own tiers. Anonymous sales give only their discount.

Not replayed (the report says so): birthdays (encrypted; birthday modifiers do not
fire), the rolling tier recomputation and bonus expiry inside the window, coupons and
gifts granted by jobs.

A run lives in ``whatif_runs``: the page starts it, one worker replays it in the
background in batches, writing ``done`` and a heartbeat after each, and the figures
(JSON, kopecks) at the end; any worker shows the row. A run whose heartbeat is older
than ``STALE_SECONDS`` lost its worker and is shown as interrupted.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from cloud import engine
from cloud.clock import from_epoch, to_epoch
from cloud.engine import CompiledProgram, CustomerSnapshot, Line
from cloud.services.deps import Deps

log = structlog.get_logger("loyalty.whatif")

WINDOWS = (30, 90)
BATCH = 2000
STALE_SECONDS = 300
_MILLI = Decimal(1000)
_tasks: set[asyncio.Task[None]] = set()
"""Runs in progress in this worker (a reference keeps a task from being collected)."""


@dataclass(slots=True)
class Figures:
    """One version's totals over the replayed sales, kopecks."""

    discount: int = 0
    accrued: int = 0
    redeemable: int = 0
    """What the sales' caps let customers pay by bonuses (balance and step applied)."""
    redeemed: int = 0
    liability: int = 0
    """Bonuses outstanding at the end of the window (expiry not replayed)."""
    tier_changed: int = 0
    """Customers whose tier at the end differs from the one they started the window on."""


@dataclass(slots=True)
class _State:
    tier: str | None
    lifetime: int
    balance: int
    count: int
    last_at: datetime | None = None


@dataclass(slots=True)
class _Side:
    compiled: CompiledProgram
    figures: Figures = field(default_factory=Figures)
    states: dict[int, _State] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Sale:
    customer_id: int | None
    at: datetime
    redeemed: int
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Start:
    """A customer's facts when the window opened."""

    lifetime: int
    count: int
    balance: int


class Replay:
    """The pure part: both versions over a stream of sales (no I/O)."""

    def __init__(
        self, live: CompiledProgram | None, draft: CompiledProgram, starts: dict[int, Start],
        tz: tzinfo, liability: int,
    ) -> None:  # fmt: skip
        self.sides = {"draft": _Side(draft)}
        if live is not None:
            self.sides["live"] = _Side(live)
        self.starts, self.tz, self.start_liability = starts, tz, liability
        self.sales = 0

    def _state(self, side: _Side, customer_id: int) -> _State:
        state = side.states.get(customer_id)
        if state is None:
            start = self.starts.get(customer_id, Start(0, 0, 0))
            tier = None
            if start.count:
                tier = engine.tier_after_purchase(side.compiled, None, start.lifetime)
            state = _State(tier, start.lifetime, start.balance, start.count)
            side.states[customer_id] = state
        return state

    def add(self, sales: list[Sale]) -> None:
        for sale in sales:
            self.sales += 1
            for side in self.sides.values():
                self._price(side, sale)

    def _price(self, side: _Side, sale: Sale) -> None:
        compiled, figures = side.compiled, side.figures
        if sale.customer_id is None:
            program = compiled.program
            if program.kind == "bonus" and not program.quantity_promotions:
                return  # nothing but money off counts here, and such a program gives none
            quote = engine.calculate(compiled, None, sale.lines, sale.at, self.tz)
            figures.discount += quote.discount
            return
        state = self._state(side, sale.customer_id)
        snapshot = CustomerSnapshot(
            sale.customer_id, state.tier, state.lifetime, max(state.balance, 0),
            state.count, None, state.last_at,
        )  # fmt: skip
        quote = engine.calculate(compiled, snapshot, sale.lines, sale.at, self.tz)
        spend = min(sale.redeemed, quote.max_redeem)
        spend -= spend % compiled.redeem_step
        if spend:
            quote = engine.calculate(compiled, snapshot, sale.lines, sale.at, self.tz, redeem=spend)
        figures.discount += quote.discount
        figures.redeemable += quote.max_redeem
        figures.redeemed += spend
        figures.accrued += quote.accrual
        state.balance += quote.accrual - spend
        state.lifetime += quote.amount_after_discount
        state.count += 1
        state.last_at = sale.at
        state.tier = engine.tier_after_purchase(
            compiled, state.tier, state.lifetime, quote.amount_after_discount
        )

    def result(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sales": self.sales, "customers": 0}
        finals: dict[str, dict[int, str | None]] = {}
        for name, side in self.sides.items():
            figures = side.figures
            figures.liability = self.start_liability + figures.accrued - figures.redeemed
            figures.tier_changed = 0
            finals[name] = {}
            for customer_id, state in side.states.items():
                start = self.starts.get(customer_id, Start(0, 0, 0))
                first = None
                if start.count:
                    first = engine.tier_after_purchase(side.compiled, None, start.lifetime)
                figures.tier_changed += state.tier != first
                finals[name][customer_id] = state.tier
            out[name] = {k: getattr(figures, k) for k in Figures.__slots__}
            out["customers"] = len(side.states)
        live = finals.get("live")
        out["tier_differs"] = (
            None if live is None
            else sum(tier != live.get(cid) for cid, tier in finals["draft"].items())
        )  # fmt: skip
        return out


# ---- runs --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    draft_version_id: int
    live_version_id: int | None
    days: int
    status: str
    """``running``, ``done``, ``failed`` (``interrupted`` when its worker is gone)."""
    total: int
    done: int
    result: dict[str, Any] | None
    error: str | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None

    @property
    def percent(self) -> int:
        if self.status == "done" or not self.total:
            return 100 if self.status == "done" else 0
        return min(99, self.done * 100 // self.total)


async def start(deps: Deps, merchant_id: int, draft_version_id: int, days: int, by: str) -> int:
    """Record a run of the draft over the last ``days`` days (30 or 90; the caller
    checked both and that the draft is this merchant's) and return its id."""
    assert days in WINDOWS
    now = deps.clock()
    since = to_epoch(now - timedelta(days=days))
    async with deps.db.transaction() as tx:
        live = await tx.fetch_value(
            "SELECT active_program_version_id FROM merchants WHERE id = :m", {"m": merchant_id}
        )
        total = await tx.fetch_value(
            f"SELECT COUNT(*) FROM receipts WHERE {_WINDOW}",
            {"m": merchant_id, "since": since, "now": to_epoch(now)},
        )
        return int(
            await tx.insert(
                "INSERT INTO whatif_runs (merchant_id, draft_version_id, live_version_id, days, "
                "status, total, done, created_by, created_at, heartbeat_at) VALUES (:m, :d, :l, "
                ":days, 'running', :total, 0, :by, :now, :now) RETURNING id",
                {
                    "m": merchant_id,
                    "d": draft_version_id,
                    "l": live,
                    "days": days,
                    "total": int(total or 0),
                    "by": by[:100],
                    "now": to_epoch(now),
                },
            )
        )


def launch(deps: Deps, merchant_id: int, run_id: int) -> asyncio.Task[None]:
    """Replay the run in the background of this worker."""
    task = asyncio.create_task(execute(deps, merchant_id, run_id))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


async def get(deps: Deps, merchant_id: int, run_id: int) -> Run | None:
    """This merchant's run (``None`` for another merchant's or a missing one)."""
    row = await deps.db.fetch_one(
        "SELECT * FROM whatif_runs WHERE id = :id AND merchant_id = :m",
        {"id": run_id, "m": merchant_id},
    )
    if row is None:
        return None
    status = row["status"]
    if status == "running" and to_epoch(deps.clock()) - row["heartbeat_at"] > STALE_SECONDS:
        status = "interrupted"
    created = from_epoch(row["created_at"])
    assert created is not None
    return Run(
        id=row["id"], draft_version_id=row["draft_version_id"],
        live_version_id=row["live_version_id"], days=row["days"], status=status,
        total=row["total"], done=row["done"],
        result=json.loads(row["result"]) if row["result"] else None, error=row["error"],
        created_by=row["created_by"], created_at=created,
        finished_at=from_epoch(row["finished_at"]),
    )  # fmt: skip


async def latest(deps: Deps, merchant_id: int, draft_version_id: int) -> Run | None:
    run_id = await deps.db.fetch_value(
        "SELECT MAX(id) FROM whatif_runs WHERE merchant_id = :m AND draft_version_id = :d",
        {"m": merchant_id, "d": draft_version_id},
    )
    return None if run_id is None else await get(deps, merchant_id, int(run_id))


async def execute(deps: Deps, merchant_id: int, run_id: int) -> None:
    """Replay a recorded run, writing its progress; a failure is recorded, not raised."""
    try:
        result = await _replay(deps, merchant_id, run_id)
    except Exception:
        log.exception("whatif_failed", run_id=run_id)
        await deps.db.execute(
            "UPDATE whatif_runs SET status = 'failed', error = :e, finished_at = :now "
            "WHERE id = :id",
            {"id": run_id, "now": to_epoch(deps.clock()),
             "e": "Расчёт прервался из-за внутренней ошибки. Запустите его снова."},
        )  # fmt: skip
        return
    await deps.db.execute(
        "UPDATE whatif_runs SET status = 'done', result = :r, finished_at = :now, "
        "heartbeat_at = :now WHERE id = :id",
        {"id": run_id, "r": json.dumps(result), "now": to_epoch(deps.clock())},
    )


async def _replay(deps: Deps, merchant_id: int, run_id: int) -> dict[str, Any]:
    db = deps.db
    run = await db.fetch_one(
        "SELECT r.draft_version_id, r.live_version_id, r.days, r.created_at, m.timezone "
        "FROM whatif_runs r JOIN merchants m ON m.id = r.merchant_id "
        "WHERE r.id = :id AND r.merchant_id = :m",
        {"id": run_id, "m": merchant_id},
    )
    assert run is not None
    now = run["created_at"]
    since = now - run["days"] * 86400
    params = {"m": merchant_id, "since": since, "now": now}
    draft = await deps.programs.get(run["draft_version_id"])
    live = None
    if run["live_version_id"] is not None:
        live = (await deps.programs.get(run["live_version_id"])).compiled
    replay = Replay(
        live, draft.compiled, await _starts(deps, params), ZoneInfo(run["timezone"]),
        await _start_liability(deps, params),
    )  # fmt: skip
    after, done = (since, 0), 0
    while True:
        sales, after = await _batch(deps, params, after)
        if not sales:
            break
        # The engine is pure CPU: off the event loop, so this worker keeps serving.
        await asyncio.to_thread(replay.add, sales)
        done += len(sales)
        await db.execute(
            "UPDATE whatif_runs SET done = :d, heartbeat_at = :t WHERE id = :id",
            {"d": done, "t": to_epoch(deps.clock()), "id": run_id},
        )
    return replay.result()


_WINDOW = "merchant_id = :m AND kind = 'sale' AND created_at >= :since AND created_at <= :now"


async def _starts(deps: Deps, params: dict[str, Any]) -> dict[int, Start]:
    """Each customer of the window as the window opened: today's lifetime purchases,
    count and spendable balance minus what the window's sales changed (one query)."""
    rows = await deps.db.fetch_all(
        "SELECT c.id, c.lifetime_purchases - w.spent AS lifetime, c.purchase_count - w.n AS n, "
        "COALESCE((SELECT SUM(l.remaining) FROM bonus_lots l WHERE l.customer_id = c.id "
        "AND l.merchant_id = :m AND l.remaining > 0 AND l.available_from <= :now "
        "AND (l.expires_at IS NULL OR l.expires_at > :now)), 0) - w.accrued + w.redeemed "
        "AS balance FROM customers c JOIN (SELECT customer_id, SUM(amount) AS spent, "
        "COUNT(*) AS n, SUM(accrued) AS accrued, SUM(redeemed) AS redeemed FROM receipts "
        f"WHERE {_WINDOW} AND customer_id IS NOT NULL GROUP BY customer_id) w "
        "ON w.customer_id = c.id WHERE c.merchant_id = :m",
        params,
    )
    return {
        int(r["id"]): Start(max(int(r["lifetime"]), 0), max(int(r["n"]), 0),
                            max(int(r["balance"]), 0))
        for r in rows
    }  # fmt: skip


async def _start_liability(deps: Deps, params: dict[str, Any]) -> int:
    """Bonuses outstanding when the window opened: today's minus the window's net."""
    outstanding = await deps.db.fetch_value(
        "SELECT COALESCE(SUM(remaining), 0) FROM bonus_lots WHERE merchant_id = :m "
        "AND remaining > 0 AND (expires_at IS NULL OR expires_at > :now)",
        params,
    )
    net = await deps.db.fetch_value(
        f"SELECT COALESCE(SUM(accrued - redeemed), 0) FROM receipts WHERE {_WINDOW}", params
    )
    return max(int(outstanding or 0) - int(net or 0), 0)


_PAGE = (
    "SELECT id, customer_id, created_at, redeemed FROM receipts WHERE merchant_id = :m "
    "AND kind = 'sale' AND created_at >= :at AND created_at <= :now "
    "AND (created_at > :at OR id > :after) ORDER BY created_at, id LIMIT :n"
)
"""The keyset as a range on the index (``created_at >= :at``), so a page reads from
where the last one ended, not the whole window again."""


async def _batch(
    deps: Deps, params: dict[str, Any], after: tuple[int, int]
) -> tuple[list[Sale], tuple[int, int]]:
    """The next ``BATCH`` sales of the window in the order they happened, after the
    sale ``after`` (time, id), with their lines: two queries (the receipts by
    ``ix_receipts_merchant_created``)."""
    keyset = {**params, "at": after[0], "after": after[1], "n": BATCH}
    receipts = await deps.db.fetch_all(_PAGE, keyset)
    if not receipts:
        return [], after
    lines: dict[int, list[Line]] = {r["id"]: [] for r in receipts}
    ids = [r["id"] for r in receipts]
    # By the lines' receipt index over the page's id range (ids follow time closely):
    # lines of receipts outside the page are skipped.
    rows = await deps.db.fetch_all(
        "SELECT receipt_id, line_id, sku, category, price, quantity_milli, amount, discount "
        "FROM receipt_lines WHERE merchant_id = :m AND receipt_id >= :lo AND receipt_id <= :hi "
        "ORDER BY receipt_id, position",
        {"m": params["m"], "lo": min(ids), "hi": max(ids)},
    )
    for row in rows:
        found = lines.get(row["receipt_id"])
        if found is not None:
            # The stored amount is after our discount: the replay prices the line as it
            # came from the till.
            found.append(Line(
                id=row["line_id"], price=row["price"],
                quantity=Decimal(row["quantity_milli"]) / _MILLI,
                amount=row["amount"] + row["discount"], category=row["category"],
                sku=row["sku"],
            ))  # fmt: skip
    sales = []
    for r in receipts:
        at = from_epoch(r["created_at"])
        assert at is not None
        sales.append(Sale(r["customer_id"], at, int(r["redeemed"]), tuple(lines[r["id"]])))
    last = receipts[-1]
    return sales, (int(last["created_at"]), int(last["id"]))
