"""Referral rewards over random sequences of a chain's purchases and refunds
(hypothesis), and the personal referral codes.

Property: whatever sales and partial refunds the members of a chain A <- B <- C <- D
make, each referrer's referral lots add up to what the rule gives on every sale's net
accrual base (what is left of it after its refunds), level by level; and the journal
still sums to the lots.
"""

from __future__ import annotations

import itertools
import json
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.services import checkout, customers, programs, referrals
from cloud.services.deps import Deps
from schemas.customers import Consent, ReferrerRef, RegisterCustomer
from tests.conftest import Tenant
from tests.golden.support import PROGRAMS
from tests.ledger.helpers import Member, confirm_request, refund_request, terminal

_ids = itertools.count()
# Rates of the rule under test, written independently of the service's arithmetic:
# level 1 5 %, level 2 one bonus per 100 roubles, level 3 2.5 %, kopecks floored.
LEVELS = [("percent", Decimal(5)), ("per", Decimal(100)), ("percent", Decimal("2.5"))]
RULE = {
    "tier_of": "recipient",
    "levels": [
        {"accrual_percent": "5"},
        {"accrual_roubles_per_bonus": "100"},
        {"accrual_percent": "2.5"},
    ],
}


def expected_reward(level: int, base_kopecks: int) -> int:
    kind, value = LEVELS[level]
    if kind == "percent":
        return int((Decimal(base_kopecks) * value / 100).to_integral_value(ROUND_FLOOR))
    return int(Decimal(base_kopecks) / (value * 100)) * 100


async def chain_of_four(deps: Deps, tenant: Tenant) -> list[Member]:
    members: list[Member] = []
    for _ in range(4):
        phone = f"+7915{next(_ids) % 10_000_000:07d}"
        referrer = None if not members else ReferrerRef(phone=members[-1].phone)
        data = RegisterCustomer(phone=phone, consent=Consent(personal_data=True), referrer=referrer)
        customer_id = await customers.register_customer(
            deps, tenant.merchant_id, data, store_id=tenant.store_id, channel="import",
            sms_code=None,
        )  # fmt: skip
        members.append(Member(customer_id, phone))
    return members


line_specs = st.lists(st.tuples(st.integers(1, 50_000), st.integers(1, 4)), min_size=1, max_size=3)
steps_strategy = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.integers(1, 3), line_specs),
        st.tuples(st.just("refund"), st.integers(0, 20), st.integers(0, 2), st.integers(1, 4)),
    ),
    min_size=1,
    max_size=10,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps_strategy)
async def test_referral_lots_follow_net_purchases(
    deps: Deps, demo_tenant: Tenant, steps: list[tuple[Any, ...]]
) -> None:
    """After any sequence of purchases and (partial) refunds by B, C and D, every
    referrer's referral lots sum to the rule applied to each sale's net base."""
    document = json.loads((PROGRAMS / "11_kaloud_club.json").read_text())
    document["gifts"]["referral"] = RULE
    await programs.publish(deps.db, demo_tenant.merchant_id, json.dumps(document), deps.clock())
    members = await chain_of_four(deps, demo_tenant)
    till = terminal(demo_tenant)
    # sale id -> (buyer index, [(line id, unit price kopecks, quantity, returned)])
    sales: dict[str, tuple[int, list[list[Any]]]] = {}
    for step in steps:
        if step[0] == "buy":
            _, buyer, specs = step
            receipt_id = f"hp-{next(_ids)}"
            lines = [(f"l{i}", price, quantity) for i, (price, quantity) in enumerate(specs)]
            await checkout.confirm(deps, till, confirm_request(receipt_id, members[buyer], lines))
            sales[receipt_id] = (buyer, [[i, p, q, 0] for i, p, q in lines])
        elif sales:
            _, pick, line_pick, quantity = step
            receipt_id = list(sales)[pick % len(sales)]
            lines = sales[receipt_id][1]
            chosen = lines[line_pick % len(lines)]
            quantity = min(quantity, chosen[2] - chosen[3])
            if quantity == 0:
                continue
            await checkout.refund(
                deps, till, refund_request(f"hr-{next(_ids)}", receipt_id, [(chosen[0], quantity)])
            )
            chosen[3] += quantity
    expected = [0, 0, 0, 0]
    for buyer, lines in sales.values():
        base = sum(price * (quantity - returned) for _, price, quantity, returned in lines)
        for level in range(3):
            recipient = buyer - 1 - level
            if recipient >= 0:
                expected[recipient] += expected_reward(level, base)
    for position, member in enumerate(members):
        row = await deps.db.fetch_one(
            "SELECT COALESCE(SUM(remaining), 0) AS lots, (SELECT COALESCE(SUM(amount), 0) "
            "FROM ledger_entries WHERE customer_id = :c) AS journal, (SELECT "
            "COALESCE(SUM(remaining), 0) FROM bonus_lots WHERE customer_id = :c) AS everything "
            "FROM bonus_lots WHERE customer_id = :c AND kind = 'referral'",
            {"c": member.id},
        )
        assert row is not None
        assert int(row["lots"]) == expected[position]
        assert int(row["journal"]) == int(row["everything"])


async def test_referral_codes_are_short_unique_and_not_a_sequence(deps: Deps) -> None:
    """Codes are 8 characters of Crockford's base 32 for ordinary ids, decode back to
    their id (read loosely: lower case, O for 0, hyphens), differ between merchants, and
    neighbouring ids give unrelated codes."""
    codes = {referrals.referral_code(deps, 1, customer_id) for customer_id in range(1, 2001)}
    assert len(codes) == 2000
    assert all(len(code) == 8 for code in codes)
    for customer_id in (1, 2, 77, 2**40 - 1, 2**40, 2**63 - 1):
        code = referrals.referral_code(deps, 5, customer_id)
        assert referrals.code_customer_id(deps, 5, code) == customer_id
        loose = "-".join([code[:4].lower(), code[4:]]).replace("0", "o")
        assert referrals.code_customer_id(deps, 5, loose) == customer_id
    assert referrals.referral_code(deps, 1, 10) != referrals.referral_code(deps, 2, 10)
    first, second = referrals.referral_code(deps, 1, 100), referrals.referral_code(deps, 1, 101)
    assert sum(x != y for x, y in zip(first, second, strict=True)) >= 3
    assert referrals.code_customer_id(deps, 1, "UUUUUUUU") is None
    assert referrals.code_customer_id(deps, 1, "ABC") is None
