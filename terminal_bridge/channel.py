"""What the store-side bridge needs to know about a channel it fronts.

The bridge (``loyalty bridge serve``) is a transparent proxy in the store's network: a
till calls it on the channel's own paths (``/modulkassa/v1/...``, ``/1c/v1/...``,
``/api/v1/checkout/...``) with its own credential, and the bridge forwards the request
as it came to the cloud, where the same adapter answers. Only when the cloud does not
answer in time does the bridge need to understand a call, and then only enough to:

- price a receipt itself (``quote``): accrual only, no redemption, from the program
  version and customer snapshots it cached -- the channel turns its body into a
  ``CalculateRequest`` and renders the offline figures in its own answer shape, with a
  cashier message that says the answer is offline;
- keep a sale, a cancel or a return (``record``) in its durable outbox, replayed later
  to the cloud byte for byte in arrival order, idempotent on the call's own key; the
  channel renders the answer that tells the till the call was accepted;
- look a customer up (``lookup``) from the cached snapshot;
- refuse anything else (``online_only``: a hold, an SMS code, a registration) in the
  channel's own error shape, so the till shows the cashier why.

Each channel implements ``BridgeChannel`` in ``terminal_bridge/channels/<name>.py``;
the bridge core never parses a vendor's JSON itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol

from schemas import checkout as wire

CallKind = Literal["quote", "record", "lookup", "online_only", "passthrough"]


@dataclass(frozen=True, slots=True)
class Call:
    """One request as the bridge classifies it."""

    kind: CallKind
    key: str | None = None
    """For ``record``: the call's idempotency key (the sale's receipt id, the return's
    id), the same key the cloud de-duplicates on when the outbox replays it."""


@dataclass(frozen=True, slots=True)
class CachedCustomer:
    """A customer as the bridge's snapshot knows them (no balance: offline redeems
    nothing)."""

    customer_id: int
    tier: str | None
    tier_name: str | None
    blocked: bool = False


@dataclass(frozen=True, slots=True)
class OfflineLine:
    id: str
    amount: Decimal
    accrual: Decimal


@dataclass(frozen=True, slots=True)
class OfflineQuote:
    """The bridge's own pricing of a receipt while the cloud is away: no discount is
    promised that the cloud might not honour and nothing is redeemed."""

    receipt: wire.Receipt
    customer: CachedCustomer | None
    customer_found: bool
    """False when a phone or card was given and the snapshot has nobody with it."""
    program_version: int | None
    lines: list[OfflineLine] = field(default_factory=list)
    accrual: Decimal = Decimal(0)
    """Bonuses the sale is expected to earn; credited when the cloud records the sale."""
    messages: list[str] = field(default_factory=list)
    """Russian lines for the cashier, starting with the offline notice."""


class BridgeChannel(Protocol):
    name: str
    """The channel's name (``modulkassa``, ``1c``, ``native``)."""
    prefix: str
    """The path prefix the channel's adapter is mounted on in the cloud."""

    def classify(self, method: str, path: str, body: bytes) -> Call:
        """What the call is (``path`` is the full request path)."""

    def quote_request(self, body: bytes) -> wire.CalculateRequest:
        """The receipt of a ``quote`` call. Raises ``ValueError`` with a Russian
        message when the body is not a valid call of this channel."""

    def render_quote(self, body: bytes, quote: OfflineQuote) -> tuple[int, bytes]:
        """The channel's own answer (status, JSON bytes) to a ``quote`` call priced
        offline."""

    def render_recorded(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        """The answer to a ``record`` call kept in the outbox (not yet in the cloud)."""

    def render_lookup(
        self, body: bytes, query: dict[str, str], customer: CachedCustomer | None
    ) -> tuple[int, bytes]:
        """The answer to a ``lookup`` call from the snapshot."""

    def lookup_key(self, body: bytes, query: dict[str, str]) -> wire.CustomerRef | None:
        """The phone or card a ``lookup`` call asks about."""

    def render_error(self, status: int, code: str, message: str) -> tuple[int, bytes]:
        """A refusal in the channel's own error shape (``online_only`` calls offline,
        a body the bridge cannot read)."""
