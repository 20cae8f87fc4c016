"""Offline pricing at the bridge promises what the cloud credits: for any receipt, the
accrual the bridge quotes without the cloud equals the accrual the cloud records when
the same receipt is confirmed under the same program."""

from __future__ import annotations

import base64
import itertools
import json
from datetime import UTC, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.services import checkout, merchants
from cloud.services.deps import Deps
from schemas import checkout as wire
from schemas.bridge import keyed_hash
from terminal_bridge.store import pricing
from terminal_bridge.store.state import BridgeState
from tests.terminal_bridge.bridge.support import PHONES, PROGRAM, make_store

_numbers = itertools.count()

lines_strategy = st.lists(
    st.tuples(
        st.decimals(Decimal("0.01"), Decimal("20000"), places=2),
        st.decimals(Decimal("0.001"), Decimal("30"), places=3),
        st.sampled_from([None, "food", "stopcena"]),
    ),
    min_size=1, max_size=6,
)  # fmt: skip


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=lines_strategy, who=st.sampled_from([None, 0, 1, 2]), hours=st.integers(0, 72))
async def test_offline_accrual_equals_the_clouds(
    deps: Deps, tmp_path: Path, lines: list[tuple[Decimal, Decimal, str | None]],
    who: int | None, hours: int,
) -> None:  # fmt: skip
    """Anonymous, base-tier, VIP-tier and blocked customers; any prices, quantities and
    categories; sales hours back: the bridge's accrual is the cloud's, to the kopeck."""
    number = next(_numbers)
    store = await make_store(deps, f"Цены {number}")
    if who == 2:
        async with deps.db.transaction() as tx:
            await tx.execute("UPDATE customers SET blocked_at = 1 WHERE id = :c",
                             {"c": store.customers[PHONES[2]]})  # fmt: skip
    terminal = merchants.TerminalContext(
        store.tenant.merchant_id, store.tenant.store_id, store.tenant.terminal_id,
        merchants.zone("Europe/Moscow"), "active",
    )  # fmt: skip
    created = (deps.clock() - timedelta(hours=hours)).astimezone(UTC)
    receipt = wire.Receipt(
        id=f"p-{number}",
        customer=None if who is None else wire.CustomerRef(phone=PHONES[who]),
        created_at=created,
        lines=[
            wire.ReceiptLine(id=str(i), price=price, quantity=quantity, category=category)
            for i, (price, quantity, category) in enumerate(lines)
        ],
    )
    state = BridgeState(tmp_path / f"b{number}.sqlite3")
    key = b"bridge-key-for-the-pricing-test!"
    state.set_meta({"program": json.dumps({
        "version": 1, "program_version_id": 1, "timezone": "Europe/Moscow", "document": PROGRAM,
        "lookup_key": base64.b64encode(key).decode(),
    })})  # fmt: skip
    tiers = {0: "base", 1: "vip", 2: "base"}
    snapshot: list[tuple[int, str | None, str | None, bool]] = []
    keys: list[tuple[str, int]] = []
    for index, phone in enumerate(PHONES[:3]):
        cid = store.customers[phone]
        snapshot.append((cid, tiers[index], None, index == 2))
        keys.append((keyed_hash(key, "phone", phone), cid))
    state.store_page(1, snapshot, keys)
    program = pricing.load_program(state)
    assert program is not None
    customer, found = pricing.find_customer(state, program, receipt.customer)
    request = wire.CalculateRequest(receipt=receipt)
    offline = pricing.offline_quote(program, customer, found, request, deps.clock())
    state.close()

    confirmed = await checkout.confirm(deps, terminal, wire.ConfirmRequest(receipt=receipt))
    credited = confirmed.accrued if confirmed.customer is not None else Decimal(0)
    assert offline.accrual == credited
    if confirmed.customer is not None:
        by_line: dict[str, Any] = {line.id: line.accrual for line in confirmed.lines}
        assert {line.id: line.accrual for line in offline.lines} == by_line
    assert offline.messages[0].startswith("Нет связи")
    # No discount offline: each line at what the till charges, as the cloud records it.
    assert [line.amount for line in offline.lines] == [line.amount for line in confirmed.lines]
