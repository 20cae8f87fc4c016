"""Referral rewards on Evotor: a sale reported by the SELL document credits the buyer's
referrer in the same transaction, and a PAYBACK takes back that share (the document
paths commit through the same checkout confirm and refund as the native API)."""

from __future__ import annotations

import json
from decimal import ROUND_FLOOR, Decimal

from aiohttp.test_utils import TestClient

from cloud.services import customers, programs
from cloud.services.deps import Deps
from schemas.customers import Consent, ReferrerRef, RegisterCustomer
from tests.golden.support import PROGRAMS
from tests.webhooks.evotor.conftest import call, fixture
from tests.webhooks.evotor.test_documents_and_sync import PHONE, headers, install_only


def ten_percent(kopecks: int) -> int:
    return int((Decimal(kopecks) / 10).to_integral_value(ROUND_FLOOR))


async def test_evotor_documents_credit_and_claw_back_the_referrer(
    evotor: TestClient, deps: Deps
) -> None:
    """The buyer (the fixtures' phone) was invited by R. The SELL document gives R 10 %
    of the money paid; the partial PAYBACK leaves R 10 % of what is left of the sale."""
    token, merchant_id = await install_only(evotor, deps)
    document = json.loads((PROGRAMS / "11_kaloud_club.json").read_text())
    document["gifts"]["referral"] = {"levels": [{"accrual_percent": "10"}]}
    await programs.publish(deps.db, merchant_id, json.dumps(document), deps.clock())
    consent = Consent(personal_data=True)
    referrer = await customers.register_customer(
        deps, merchant_id, RegisterCustomer(phone="+79160005555", consent=consent),
        store_id=None, channel="import", sms_code=None,
    )  # fmt: skip
    await customers.register_customer(
        deps, merchant_id,
        RegisterCustomer(phone=PHONE, consent=consent,
                         referrer=ReferrerRef(phone="+79160005555")),
        store_id=None, channel="import", sms_code=None,
    )  # fmt: skip

    async def referral() -> int:
        return int(await deps.db.fetch_value(
            "SELECT COALESCE(SUM(remaining), 0) FROM bonus_lots WHERE customer_id = :c "
            "AND kind = 'referral'", {"c": referrer},
        ))  # fmt: skip

    sell = await call(evotor, "PUT", "/api/v2/documents", fixture("documents/sell_v2.json"),
                      headers(token))  # fmt: skip
    assert sell["results"][0]["status"] == "confirmed"
    sold = int(await deps.db.fetch_value(
        "SELECT amount - redeemed FROM receipts WHERE merchant_id = :m AND kind = 'sale'",
        {"m": merchant_id},
    ))  # fmt: skip
    assert sold > 0
    assert await referral() == ten_percent(sold)
    payback = await call(evotor, "PUT", "/api/v2/documents",
                         fixture("documents/payback_v2_partial.json"), headers(token))  # fmt: skip
    assert payback["results"][0]["status"] == "refunded"
    returned = int(await deps.db.fetch_value(
        "SELECT amount FROM receipts WHERE merchant_id = :m AND kind = 'refund'",
        {"m": merchant_id},
    ))  # fmt: skip
    assert 0 < returned < sold
    assert await referral() == ten_percent(sold - returned)
