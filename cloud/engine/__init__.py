"""Pure calculation engine: no I/O, no clock (time is an argument), no database.

Imports nothing from the project but ``schemas``.
"""

from cloud.engine.calculate import calculate, settle
from cloud.engine.compiled import CompiledProgram, compile_program
from cloud.engine.distribution import distribute, fit_unit_prices
from cloud.engine.lifecycle import accrual_dates
from cloud.engine.text import format_roubles
from cloud.engine.tiers import effective_tier, tier_after_purchase
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
    "format_roubles",
    "settle",
    "tier_after_purchase",
]
