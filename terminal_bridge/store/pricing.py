"""Offline pricing at the bridge: the pure engine over the cached program, accrual only.

The cloud, when the sale reaches it, records it with ``engine.settle`` on the amounts the
till charged; offline we promise the same figure from the same function, with no
discount (the till charges full price) and no bonus payment (balances live in the
cloud). Facts the snapshot does not carry (purchase history, birthday) are absent, so a
program whose accrual depends on them may credit more than the estimate: the cloud's
figure is the truth.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from cloud import engine
from cloud.engine import types as et
from cloud.phones import normalize_card, normalize_phone
from cloud.services.checkout.snapshot import engine_lines, purchase_time
from schemas import checkout as wire
from schemas.bridge import keyed_hash
from schemas.money import to_roubles
from schemas.program import Program
from terminal_bridge.channel import CachedCustomer, OfflineLine, OfflineQuote
from terminal_bridge.channels.native import BLOCKED_NOTICE, NO_REDEEM_NOTICE, OFFLINE_NOTICE
from terminal_bridge.store.state import BridgeState


@dataclass(frozen=True, slots=True)
class CachedProgram:
    version: int
    compiled: engine.CompiledProgram
    timezone: ZoneInfo
    lookup_key: bytes


def load_program(state: BridgeState) -> CachedProgram | None:
    raw = state.get_meta("program")
    if raw is None:
        return None
    stored = json.loads(raw)
    program = Program.model_validate(stored["document"])
    return CachedProgram(
        int(stored["version"]), engine.compile_program(program), ZoneInfo(stored["timezone"]),
        base64.b64decode(stored["lookup_key"]),
    )  # fmt: skip


def find_customer(
    state: BridgeState, program: CachedProgram | None, ref: wire.CustomerRef | None
) -> tuple[CachedCustomer | None, bool]:
    """The cached customer a reference names, and whether a reference was found (a
    phone or card unknown to the snapshot prices as anonymous)."""
    if ref is None:
        return None, True
    if ref.customer_id is not None:
        found = state.customer_by_id(ref.customer_id)
        return found, found is not None
    if program is None:
        return None, False
    try:
        if ref.card is not None:
            digest = keyed_hash(program.lookup_key, "card", normalize_card(ref.card))
        else:
            assert ref.phone is not None
            digest = keyed_hash(program.lookup_key, "phone", normalize_phone(ref.phone))
    except Exception:  # an unreadable phone or card: nobody, as the cloud would refuse it
        return None, False
    found = state.customer_by_hash(digest)
    return found, found is not None


def offline_quote(
    program: CachedProgram, customer: CachedCustomer | None, found: bool,
    request: wire.CalculateRequest, now: datetime,
) -> OfflineQuote:  # fmt: skip
    receipt = request.receipt
    lines = engine_lines(receipt)
    priced = None if customer is None or customer.blocked else customer
    snapshot = (
        None if priced is None
        else et.CustomerSnapshot(priced.customer_id, priced.tier, 0, 0)
    )  # fmt: skip
    settled = engine.settle(
        program.compiled, snapshot, lines, 0,
        purchase_time(receipt.created_at, now, program.timezone), program.timezone,
    )  # fmt: skip
    messages = [OFFLINE_NOTICE]
    if request.redeem:
        messages.append(NO_REDEEM_NOTICE)
    if customer is not None and customer.blocked:
        messages.append(BLOCKED_NOTICE)
    return OfflineQuote(
        receipt=receipt,
        customer=customer,
        customer_found=found,
        program_version=program.version,
        lines=[
            OfflineLine(
                line.id,
                to_roubles(line.amount),
                to_roubles(line.accrual) if snapshot is not None else Decimal(0),
            )
            for line in settled.lines
        ],
        accrual=to_roubles(settled.accrual) if snapshot is not None else Decimal(0),
        messages=messages,
    )
