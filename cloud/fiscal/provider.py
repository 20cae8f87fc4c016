"""Receipt verification: the interface every provider implements, what it answers, and
the registry the merchant's ``provider`` setting names.

A provider is asked about one QR code with the merchant's credentials and answers one of
four outcomes. ``found`` carries the receipt as the provider stores it (the merchant's
INN, the lines); ``not_found`` is the usual state of a receipt minutes old (it reaches
the operator, then the tax service, later) and keeps the claim pending; ``unavailable``
(a timeout, a 5xx, a garbled answer, the provider's own refusal of our credentials)
keeps it pending too; ``refused`` is the provider saying the document is not what the QR
says (a wrong fiscal sign, sum or time), final.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

from cloud.errors import BadRequest
from cloud.fiscal.qr import FiscalQr
from cloud.settings import Settings

Outcome = Literal["found", "not_found", "unavailable", "refused"]


@dataclass(frozen=True, slots=True)
class VerifiedLine:
    name: str
    price: int
    """Kopecks per unit."""
    quantity: Decimal
    amount: int
    """Kopecks the line cost (after the register's own discounts)."""


@dataclass(frozen=True, slots=True)
class VerifiedReceipt:
    user_inn: str
    fn: str
    fd: int
    amount: int
    time: datetime
    """Naive: the register's local time."""
    operation: int
    lines: tuple[VerifiedLine, ...]


@dataclass(frozen=True, slots=True)
class Verification:
    outcome: Outcome
    receipt: VerifiedReceipt | None = None
    detail: str = ""
    """For the log and, for ``refused``, the Russian reason the customer reads."""
    raw: dict[str, object] = field(default_factory=dict)


class ReceiptProvider(Protocol):
    name: str

    async def verify(
        self, credentials: str, qr: FiscalQr, user: str, now: datetime
    ) -> Verification:
        """Look the QR's document up. ``credentials``: the merchant's secret for this
        provider (decrypted); ``user``: an opaque id of the claiming customer, for the
        provider's per-user limits; ``now``: the service clock (token lifetimes)."""
        ...


PROVIDERS = ("fns",)
"""What a merchant may choose (``fiscal_settings.provider``)."""


def provider_for(name: str, settings: Settings) -> ReceiptProvider:
    if name == "fns":
        from cloud.fiscal.fns import FnsProvider

        return FnsProvider(
            settings.fns_api_url,
            settings.fiscal_timeout_seconds,
            polls=settings.fiscal_polls,
            poll_seconds=settings.fiscal_poll_seconds,
        )
    raise BadRequest("unknown_fiscal_provider", f"Неизвестный способ проверки чеков «{name}»")
