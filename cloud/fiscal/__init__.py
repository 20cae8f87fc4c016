"""Bonuses for a receipt from any cash register, claimed by its fiscal QR code.

``qr`` reads the code's text; ``provider`` is the verification interface and its
registry, ``fns`` the Federal Tax Service's receipt-check API for partners; ``setup``
the merchant's INN, credentials and fiscal drives; ``claims`` the claim itself (one per
fiscal document), its verification, the accrual through the checkout and the retry job;
``api`` the merchant's routes; ``pages`` the customer's self-service pages. The shape of
the provider's API and where it comes from: ``docs/fiscal-qr.md``.
"""
