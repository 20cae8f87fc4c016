"""Referrals: who invited whom, personal referral codes, and the rewards of up to three
levels of referrers, credited with the referee's sale and taken back with its refund.

The graph is a forest by construction: a referrer is named only at registration and
must already exist, so no customer can become their own ancestor. Locks follow it from
the buyer up (buyer, level 1, level 2, level 3) on every path that takes several
accounts, so two sales in one family cannot deadlock.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from cloud import engine
from cloud.clock import to_epoch
from cloud.db.database import Executor, Row, Transaction
from cloud.engine.compiled import CompiledProgram
from cloud.errors import Unprocessable
from cloud.ledger.lots import accrue, expire_customer_lots
from cloud.ledger.redemption import reverse_accrual
from cloud.phones import normalize_card, normalize_phone
from cloud.services.deps import Deps
from cloud.services.programs import LoadedProgram
from schemas.money import to_kopecks
from schemas.program import Program, ReferralRate, ReferralRule

# ---- personal referral codes -----------------------------------------------------------
# A code is the customer's id run through a keyed Feistel permutation (the blind-index
# key, per merchant) and written in Crockford's base 32: short, unique (a permutation),
# decodable without a column or an index, and no neighbour of another customer's code.

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {char: value for value, char in enumerate(_ALPHABET)}
_DECODE.update({"O": 0, "I": 1, "L": 1})
_ROUNDS = 4
_SHORT_BITS = 40  # 8 characters, ids below 2^40
_LONG_BITS = 64  # 13 characters, any BIGINT id


def _round(deps: Deps, merchant_id: int, bits: int, step: int, half: int) -> int:
    digest = deps.index.of(merchant_id, f"referral-code:{bits}:{step}", str(half))
    return int(digest[:16], 16) & ((1 << (bits // 2)) - 1)


def _permute(deps: Deps, merchant_id: int, value: int, bits: int, inverse: bool) -> int:
    half_bits = bits // 2
    mask = (1 << half_bits) - 1
    left, right = value >> half_bits, value & mask
    steps = range(_ROUNDS - 1, -1, -1) if inverse else range(_ROUNDS)
    for step in steps:
        if inverse:
            left, right = right ^ _round(deps, merchant_id, bits, step, left), left
        else:
            left, right = right, left ^ _round(deps, merchant_id, bits, step, right)
    return (left << half_bits) | right


def referral_code(deps: Deps, merchant_id: int, customer_id: int) -> str:
    """The customer's personal code (8 characters for any id below 2^40)."""
    bits = _SHORT_BITS if customer_id < 1 << _SHORT_BITS else _LONG_BITS
    value = _permute(deps, merchant_id, customer_id, bits, inverse=False)
    length = (bits + 4) // 5
    return "".join(_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(length)))


def code_customer_id(deps: Deps, merchant_id: int, code: str) -> int | None:
    """The id a code stands for, ``None`` if it is no code at all (the caller still
    checks that the merchant has such a customer)."""
    text = code.strip().upper().replace("-", "").replace(" ", "")
    lengths = {(_SHORT_BITS + 4) // 5: _SHORT_BITS, (_LONG_BITS + 4) // 5: _LONG_BITS}
    bits = lengths.get(len(text))
    if bits is None or any(char not in _DECODE for char in text):
        return None
    value = 0
    for char in text:
        value = value * 32 + _DECODE[char]
    if value >> bits:
        return None
    found = _permute(deps, merchant_id, value, bits, inverse=True)
    return found if 0 < found < 2**63 else None


# ---- the referrer at registration ------------------------------------------------------


def _not_found() -> Unprocessable:
    return Unprocessable(
        "referrer_not_found",
        "Пригласивший клиент не найден: укажите телефон, карту или код уже "
        "зарегистрированного клиента",
    )


def _self_referral() -> Unprocessable:
    return Unprocessable("self_referral", "Клиент не может пригласить сам себя")


async def resolve_referrer(
    deps: Deps, executor: Executor, merchant_id: int, *, phone: str | None, card: str | None,
    code: str | None, own_phone: str, own_card: str | None,
) -> int:  # fmt: skip
    """The id of the merchant's existing customer named as the referrer. Naming the
    registrant's own phone or card is a self-referral; anyone not yet registered (or
    another merchant's customer) is not found."""
    if phone is not None:
        e164 = normalize_phone(phone)
        if e164 == own_phone:
            raise _self_referral()
        lookup = deps.index.of(merchant_id, "phone", e164)
    elif card is not None:
        number = normalize_card(card)
        if number == own_card:
            raise _self_referral()
        lookup = deps.index.of(merchant_id, "card", number)
    else:
        assert code is not None
        customer_id = code_customer_id(deps, merchant_id, code)
        if customer_id is None:
            raise _not_found()
        found = await executor.fetch_value(
            "SELECT id FROM customers WHERE merchant_id = :m AND id = :c",
            {"m": merchant_id, "c": customer_id},
        )
        if found is None:
            raise _not_found()
        return int(found)
    found = await executor.fetch_value(
        "SELECT customer_id FROM cards WHERE merchant_id = :m AND lookup_index = :i",
        {"m": merchant_id, "i": lookup},
    )
    if found is None:
        raise _not_found()
    return int(found)


async def refuse_cycle(
    tx: Transaction, merchant_id: int, customer_id: int, referrer_id: int
) -> None:
    """Refuse a referrer who is the customer or among those the customer invited
    (directly or through others): the customer must not be among the referrer's own
    referrers, nor the referrer themself."""
    if referrer_id == customer_id:
        raise _self_referral()
    found = await tx.fetch_value(
        "WITH RECURSIVE up(id, depth) AS (SELECT referrer_id, 1 FROM customers "
        "WHERE merchant_id = :m AND id = :r UNION ALL SELECT c.referrer_id, up.depth + 1 "
        "FROM customers c JOIN up ON c.id = up.id WHERE c.merchant_id = :m "
        "AND up.depth < 100000) SELECT 1 FROM up WHERE id = :c LIMIT 1",
        {"m": merchant_id, "r": referrer_id, "c": customer_id},
    )
    if found is not None:
        raise Unprocessable(
            "referral_cycle",
            "Нельзя: этот клиент приглашён (напрямую или через других) тем, кого меняют",
        )


async def referee_bonus(
    tx: Transaction, merchant_id: int, customer_id: int, program: Program, now: datetime,
    tz: tzinfo,
) -> None:  # fmt: skip
    """The starting bonus of a newcomer who named a referrer, as a lot that follows the
    program's activation and lifetime."""
    rule = program.gifts.referral
    if rule is None or rule.referee_bonus is None or not program.accrues_bonuses:
        return
    available_from, expires_at = engine.lot_dates(
        now, tz, program.activation_delay_days, program.lifetime_days
    )
    await accrue(
        tx, merchant_id=merchant_id, customer_id=customer_id, kind="referee",
        amount=to_kopecks(rule.referee_bonus), available_from=to_epoch(available_from),
        expires_at=None if expires_at is None else to_epoch(expires_at), receipt_id=None,
        key=f"referee:{customer_id}", now=to_epoch(now), entry_kind="referral",
    )  # fmt: skip


# ---- rates -----------------------------------------------------------------------------


def levels_for(rule: ReferralRule, tier_code: str | None) -> Sequence[ReferralRate]:
    """The levels of a tier: its own list when the rule has one, else ``levels``."""
    if tier_code is not None and tier_code in rule.levels_by_tier:
        return rule.levels_by_tier[tier_code]
    return rule.levels


def rate_text(rate: ReferralRate) -> str:
    if rate.accrual_percent is not None:
        return f"percent:{rate.accrual_percent.normalize():f}"
    assert rate.accrual_roubles_per_bonus is not None
    return f"per:{rate.accrual_roubles_per_bonus.normalize():f}"


def reward(rate: str, base: int, rounding: str) -> int:
    """Bonus units a level earns on ``base`` kopecks: a percentage rounded as the
    program rounds accruals, or whole bonuses per N roubles (always floored)."""
    kind, _, value = rate.partition(":")
    number = Decimal(value)
    if base <= 0:
        return 0
    if kind == "per":
        return int((Decimal(base) / (number * 100)).to_integral_value(ROUND_FLOOR)) * 100
    exact = Decimal(base) * number / 100
    if rounding == "half_up_kopeck":
        return int(exact.to_integral_value(ROUND_HALF_UP))
    if rounding == "floor_bonus":
        return int((exact / 100).to_integral_value(ROUND_FLOOR)) * 100
    return int(exact.to_integral_value(ROUND_FLOOR))


def line_base(compiled: CompiledProgram, category: str | None, amount: int, redeemed: int) -> int:
    """A line's share of the purchase's accrual base: what was paid in money (or the
    whole line, as the program says), nothing for a category that earns no accrual.
    A sale whose own accrual is suppressed by a bonus payment still has its base."""
    if not compiled.category(category).accrual:
        return 0
    return max(amount - redeemed if compiled.accrue_on_money_paid else amount, 0)


# ---- rewards at confirm ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Recipient:
    id: int
    tier_code: str | None
    blocked: bool
    consent_messages: bool
    phone_enc: bytes
    referrer_id: int | None


_CHAIN_COLUMNS = (
    "r.id, r.tier_code, r.blocked_at, r.consent_messages_at, r.phone_enc, r.referrer_id"
)


async def _referrers(
    tx: Transaction, merchant_id: int, buyer_id: int, depth: int
) -> list[_Recipient]:
    """The buyer's referrers, level 1 first, each locked in that order (PostgreSQL)."""
    lock = " FOR UPDATE OF r" if tx.dialect == "postgresql" else ""
    row = await tx.fetch_one(
        f"SELECT {_CHAIN_COLUMNS} FROM customers b JOIN customers r ON r.id = b.referrer_id "
        f"AND r.merchant_id = b.merchant_id WHERE b.merchant_id = :m AND b.id = :c{lock}",
        {"m": merchant_id, "c": buyer_id},
    )
    chain: list[_Recipient] = []
    while row is not None:
        chain.append(_recipient(row))
        upper = chain[-1].referrer_id
        if len(chain) >= depth or upper is None:
            break
        row = await tx.fetch_one(
            f"SELECT {_CHAIN_COLUMNS} FROM customers r WHERE r.merchant_id = :m AND r.id = :c"
            + lock,
            {"m": merchant_id, "c": upper},
        )
    return chain


def _recipient(row: Row) -> _Recipient:
    return _Recipient(
        id=int(row["id"]),
        tier_code=row["tier_code"],
        blocked=row["blocked_at"] is not None,
        consent_messages=row["consent_messages_at"] is not None,
        phone_enc=bytes(row["phone_enc"]),
        referrer_id=None if row["referrer_id"] is None else int(row["referrer_id"]),
    )


async def reward_referrers(
    tx: Transaction, deps: Deps, merchant_id: int, program: LoadedProgram, buyer_id: int,
    buyer_tier: str | None, receipt_id: int, base: int, bought_at: datetime, tz: tzinfo,
    now: int,
) -> None:  # fmt: skip
    """Credit the buyer's referrers their levels of this sale (``base``: its accrual
    base), in the sale's transaction. The tier that picks the rates is the buyer's (the
    one that priced the sale) or each recipient's, as the rule says; a blocked recipient
    earns nothing. Each reward is a ``referral`` lot on the sale's receipt."""
    rule = program.program.gifts.referral
    if rule is None or base <= 0 or not program.program.accrues_bonuses:
        return
    depth = max([len(rule.levels), *(len(levels) for levels in rule.levels_by_tier.values())])
    chain = await _referrers(tx, merchant_id, buyer_id, depth)
    if not chain:
        return
    available_from, expires_at = engine.lot_dates(
        bought_at, tz, program.program.activation_delay_days, program.program.lifetime_days
    )
    rounding = program.program.accrual_rounding
    rewards: list[dict[str, object]] = []
    messages: list[dict[str, object]] = []
    for level, recipient in enumerate(chain, start=1):
        levels = levels_for(rule, buyer_tier if rule.tier_of == "buyer" else recipient.tier_code)
        if recipient.blocked or level > len(levels):
            continue
        rate = rate_text(levels[level - 1])
        amount = reward(rate, base, rounding)
        if amount <= 0:
            continue
        lot_id = await accrue(
            tx, merchant_id=merchant_id, customer_id=recipient.id, kind="referral",
            amount=amount, available_from=to_epoch(available_from),
            expires_at=None if expires_at is None else to_epoch(expires_at),
            receipt_id=receipt_id, key=f"referral:{receipt_id}:{level}", now=now,
            entry_kind="referral",
        )  # fmt: skip
        rewards.append({"m": merchant_id, "r": receipt_id, "c": recipient.id, "level": level,
                        "rate": rate, "base": base, "amount": amount, "lot": lot_id,
                        "now": now})  # fmt: skip
        if rule.sms and recipient.consent_messages:
            messages.append({
                "m": merchant_id, "c": recipient.id, "recipient": recipient.phone_enc,
                "params": json.dumps({"amount": amount, "level": level}), "now": now,
            })  # fmt: skip
    if rewards:
        await tx.execute_many(
            "INSERT INTO referral_rewards (merchant_id, receipt_id, recipient_id, level, rate, "
            "base, amount, lot_id, created_at) VALUES (:m, :r, :c, :level, :rate, :base, "
            ":amount, :lot, :now)",
            rewards,
        )
    if messages:
        # The outbox worker renders and sends these after the commit (it records the
        # cost); a customer without consent to messages is never queued.
        await tx.execute_many(
            "INSERT INTO notifications (merchant_id, customer_id, channel, recipient_enc, "
            "body, status, cost, created_at, sent_at, kind, params) "
            "VALUES (:m, :c, 'sms', :recipient, '', 'pending', 0, :now, NULL, "
            "'referral_reward', :params)",
            messages,
        )


# ---- clawback at refund ----------------------------------------------------------------


async def claw_back(
    tx: Transaction, merchant_id: int, sale_receipt_id: int, refund_receipt_id: int,
    base_before: int, base_after: int, rounding: str, now: int,
) -> int:  # fmt: skip
    """Take back from each referrer what their reward on the sale's base before this
    refund exceeds their reward on what is left of it, the way a refund reverses the
    buyer's accrual (their lot first, then what they spent of it from their other lots;
    nothing that lapsed). Recipients are locked from level 1 up. Returns units taken."""
    rows = await tx.fetch_all(
        "SELECT recipient_id, rate FROM referral_rewards WHERE merchant_id = :m "
        "AND receipt_id = :r ORDER BY level",
        {"m": merchant_id, "r": sale_receipt_id},
    )
    taken = 0
    for row in rows:
        amount = reward(row["rate"], base_before, rounding) - reward(
            row["rate"], base_after, rounding
        )
        if amount <= 0:
            continue
        recipient = int(row["recipient_id"])
        await tx.lock_customer(merchant_id, recipient)
        await expire_customer_lots(tx, merchant_id, recipient, now)
        result = await reverse_accrual(
            tx, merchant_id=merchant_id, customer_id=recipient, sale_receipt_id=sale_receipt_id,
            refund_receipt_id=refund_receipt_id, amount=amount, now=now, lot_kind="referral",
        )  # fmt: skip
        taken += result.taken
    return taken
