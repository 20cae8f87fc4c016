"""The merchant's administration of its customers (merchant API key): search, the card
with its lots and movements, blocking, manual adjustments."""

from cloud.services.customers_admin.actions import adjust, set_blocked, set_referrer
from cloud.services.customers_admin.reading import customer_card, lots, movements, search

__all__ = ["adjust", "customer_card", "lots", "movements", "search", "set_blocked", "set_referrer"]
