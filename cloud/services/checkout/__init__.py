"""The canonical checkout protocol: calculate, hold, confirm, cancel, refund.

Every terminal adapter ends up here. The hot path (``calculate``) reads one customer
snapshot in one query, takes the program from the in-process cache and runs the pure
engine; ``confirm`` does all its writes in one transaction under the customer's lock.
One module per operation; ``from cloud.services import checkout; checkout.confirm(...)``
is the interface.
"""

from cloud.services.checkout import snapshot
from cloud.services.checkout.calculation import (
    PricedReceipt,
    calculate,
    customer_id_of,
    price_receipt,
    quote_texts,
    wire_quote,
)
from cloud.services.checkout.confirmation import confirm
from cloud.services.checkout.gift_payments import hold as hold_gift_certificates
from cloud.services.checkout.holds import cancel, hold, spend_within
from cloud.services.checkout.refunds import refund
from cloud.services.checkout.render import (
    LEVEL_PREFIX,
    local_time,
    shown_tier,
    without_level,
)
from cloud.services.checkout.snapshot import (
    Snapshot,
    customer_lookup_index,
    engine_lines,
    purchase_time,
    read_snapshot,
)
from schemas import checkout as wire

__all__ = [
    "LEVEL_PREFIX",
    "PricedReceipt",
    "Snapshot",
    "calculate",
    "cancel",
    "confirm",
    "customer_id_of",
    "customer_lookup_index",
    "engine_lines",
    "hold",
    "hold_gift_certificates",
    "local_time",
    "price_receipt",
    "purchase_time",
    "quote_texts",
    "read_snapshot",
    "refund",
    "shown_tier",
    "snapshot",
    "spend_within",
    "wire",
    "wire_quote",
    "without_level",
]
