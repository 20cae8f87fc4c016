"""Activation and expiry on the store's local calendar."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from cloud.engine import accrual_dates
from tests.engine.programs import center_zolota, program, vintage

NOVOSIBIRSK = ZoneInfo("Asia/Novosibirsk")


def test_next_day_activation_in_novosibirsk_at_2330() -> None:
    """Винтаж (next day, 60 days): a receipt at 23:30 local on 10.03.2024 (16:30 UTC)
    activates at the local midnight 30 minutes later, 11.03 00:00 +07 = 10.03 17:00 UTC,
    and lapses 60 local days after the activation day: 10.05 00:00 +07 = 09.05 17:00 UTC.
    A UTC-date computation would say 11.03 00:00 UTC instead."""
    now = datetime(2024, 3, 10, 23, 30, tzinfo=NOVOSIBIRSK)
    available_from, expires_at = accrual_dates(vintage(), now, NOVOSIBIRSK)
    assert available_from == datetime(2024, 3, 10, 17, 0, tzinfo=UTC)
    assert expires_at == datetime(2024, 5, 9, 17, 0, tzinfo=UTC)
    assert available_from.tzinfo is UTC


def test_immediate_activation_and_lifetime_expiry() -> None:
    """Центр Золота (at once, 300 days): spendable at the purchase instant; a purchase on
    local 10.03.2024 lapses at local midnight of 04.01.2025 (10.03 + 300 days)."""
    now = datetime(2024, 3, 10, 16, 30, tzinfo=UTC)  # 23:30 in Novosibirsk
    available_from, expires_at = accrual_dates(center_zolota(), now, NOVOSIBIRSK)
    assert available_from == now
    assert expires_at == datetime(2025, 1, 4, tzinfo=NOVOSIBIRSK)


def test_never_expiring() -> None:
    """Without a lifetime the accrual never lapses."""
    never = program(
        name="iДоктор",
        tiers=[{"code": "one", "name": "Единая", "accrual_percent": "10"}],
        activation_delay_days=1,
    )
    now = datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert accrual_dates(never, now, NOVOSIBIRSK)[1] is None


def test_days_are_local_across_a_dst_change() -> None:
    """Where the offset changes (Berlin, 31.03.2024) midnights are local: next-day
    activation after a purchase on 30.03 is 31.03 00:00 CET (23:00 UTC on 30.03) and a
    one-day lifetime ends 01.04 00:00 CEST (22:00 UTC on 31.03), not 24 hours later."""
    berlin = ZoneInfo("Europe/Berlin")
    one_day = program(
        name="DST",
        tiers=[{"code": "one", "name": "Единая", "accrual_percent": "1"}],
        activation_delay_days=1,
        lifetime_days=1,
    )
    now = datetime(2024, 3, 30, 12, tzinfo=berlin)
    available_from, expires_at = accrual_dates(one_day, now, berlin)
    assert available_from == datetime(2024, 3, 30, 23, tzinfo=UTC)
    assert expires_at == datetime(2024, 3, 31, 22, tzinfo=UTC)


def test_naive_now_is_refused() -> None:
    """A naive datetime has no instant: refusing it beats guessing a zone."""
    with pytest.raises(ValueError):
        accrual_dates(vintage(), datetime(2024, 1, 1), NOVOSIBIRSK)
