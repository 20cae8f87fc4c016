"""Pure calculation engine: no I/O, no clock (time is an argument), no database.

Imports nothing from the project but ``schemas``.
"""

from cloud.engine.calculate import calculate, settle
from cloud.engine.compiled import CompiledProgram, compile_program
from cloud.engine.distribution import distribute, fit_unit_prices
from cloud.engine.lifecycle import (
    accrual_dates,
    follow_up_offer_window,
    follow_up_reminder_date,
    lot_dates,
)
from cloud.engine.rules import in_birthday_window
from cloud.engine.text import format_roubles
from cloud.engine.tiers import (
    effective_tier,
    rolling_window,
    spend_window_days,
    spend_window_start,
    tier_after_purchase,
    tier_change_after_purchase,
    tier_for_rolling_purchases,
    tier_recompute_due,
)
from cloud.engine.types import CustomerSnapshot, EngineError, Line, Quote, QuoteLine

__all__ = [
    "CompiledProgram",
    "CustomerSnapshot",
    "EngineError",
    "Line",
    "Quote",
    "QuoteLine",
    "accrual_dates",
    "calculate",
    "compile_program",
    "distribute",
    "effective_tier",
    "fit_unit_prices",
    "follow_up_offer_window",
    "follow_up_reminder_date",
    "format_roubles",
    "in_birthday_window",
    "lot_dates",
    "rolling_window",
    "settle",
    "spend_window_days",
    "spend_window_start",
    "tier_after_purchase",
    "tier_change_after_purchase",
    "tier_for_rolling_purchases",
    "tier_recompute_due",
]
