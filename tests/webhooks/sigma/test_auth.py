"""Who may call the SIGMA hooks: a SIGMA terminal's Bearer token, or a request signed
with its signing secret (HMAC-SHA256 over ``timestamp.body``, 5 minutes either way, each
signed request once). Every refusal is a ``{"code", "message"}`` in Russian, and a
refused request changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient

from cloud.clock import ManualClock, to_epoch
from cloud.services import customers, merchants
from cloud.services.admin import signing
from cloud.services.deps import Deps
from tests.webhooks.sigma.conftest import (
    CARD,
    SigmaTerminal,
    bearer,
    encode,
    hook,
    signed,
    signed_hook,
)

LINES = [{"id": "1", "name": "Капучино", "price": "200.00", "quantity": 1, "amount": "190.00"}]


def closed(receipt_id: str = "S-1") -> dict[str, Any]:
    return {"event": "receipt.closed", "receipt_id": receipt_id, "customer": {"card": CARD},
            "lines": LINES}  # fmt: skip


async def balance(deps: Deps, till: SigmaTerminal) -> int:
    summary = await customers.customer_summary(deps, till.merchant_id, till.customer_id)
    return summary.available


async def sales(deps: Deps, merchant_id: int) -> int:
    return int(
        await deps.db.fetch_value(
            "SELECT COUNT(*) FROM receipts WHERE merchant_id = :m AND kind = 'sale'",
            {"m": merchant_id},
        )
    )


async def test_a_signed_close_is_accepted_once(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """A correctly signed receipt.closed accrues; the very same signed request sent again
    is refused with 409 sigma_replayed and accrues nothing more; re-signed (a new
    timestamp) it is the idempotent repeat and answers the same."""
    raw = encode(closed())
    headers = signed(till, raw, to_epoch(deps.clock()))
    first = await hook(sigma, None, headers, raw=raw, event="receipt.closed")
    assert first["accrued"] == "9.50" and first["status"] == "confirmed"
    after = await balance(deps, till)
    replay = await hook(sigma, None, headers, 409, raw=raw, event="receipt.closed")
    assert replay["code"] == "sigma_replayed" and "уже получен" in replay["message"]
    assert await balance(deps, till) == after
    deps.clock.advance(seconds=1)  # type: ignore[attr-defined]
    again = await signed_hook(sigma, deps, till, closed())
    assert again == first
    assert await balance(deps, till) == after and await sales(deps, till.merchant_id) == 1


async def test_a_wrong_or_altered_signature_changes_nothing(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """A signature made with another secret, a body altered after signing and a bad
    signature format are 401 sigma_bad_signature; no sale is recorded."""
    raw = encode(closed())
    now = to_epoch(deps.clock())
    wrong = signed(till, raw, now, secret="ss_not-the-secret")
    body = await hook(sigma, None, wrong, 401, raw=raw, event="receipt.closed")
    assert body == {"code": "sigma_bad_signature", "message": "Неверная подпись запроса"}
    altered = raw.replace(b'"190.00"', b'"1900.00"')
    body = await hook(sigma, None, signed(till, raw, now), 401, raw=altered,
                      event="receipt.closed")  # fmt: skip
    assert body["code"] == "sigma_bad_signature"
    garbled = {**signed(till, raw, now), "X-Sigma-Signature": "sha256=00"}
    body = await hook(sigma, None, garbled, 401, raw=raw, event="receipt.closed")
    assert body["code"] == "sigma_missing_credentials"
    assert await sales(deps, till.merchant_id) == 0


async def test_a_stale_or_future_timestamp_is_refused(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """A signature older or newer than 5 minutes is 401 sigma_stale_timestamp, even when
    the HMAC itself is right; 300 s is still accepted."""
    raw = encode(closed())
    now = to_epoch(deps.clock())
    for stamp in (now - 301, now + 301):
        body = await hook(sigma, None, signed(till, raw, stamp), 401, raw=raw,
                          event="receipt.closed")  # fmt: skip
        assert body["code"] == "sigma_stale_timestamp"
    assert await sales(deps, till.merchant_id) == 0
    await hook(sigma, None, signed(till, raw, now - 300), raw=raw, event="receipt.closed")
    assert await sales(deps, till.merchant_id) == 1


async def test_credentials_required_and_of_the_sigma_channel(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """No credentials, an unknown token and a native terminal's token are all 401; a
    token and a signature of two different terminals too."""
    plain = {"Content-Type": "application/json"}
    assert (await hook(sigma, closed(), plain, 401))["code"] == "sigma_missing_credentials"
    unknown = {**plain, "Authorization": "Bearer lt_unknown"}
    assert (await hook(sigma, closed(), unknown, 401))["code"] == "invalid_token"
    now = deps.clock()
    native = await merchants.create_terminal(deps.db, till.merchant_id, till.store_id, "1С", now)
    token = await merchants.issue_terminal_token(deps.db, till.merchant_id, native, now)
    wrong = {**plain, "Authorization": f"Bearer {token}"}
    assert (await hook(sigma, closed(), wrong, 401))["code"] == "wrong_channel"
    other = await merchants.create_terminal(
        deps.db, till.merchant_id, till.store_id, "SIGMA 2", now, channel="sigma"
    )
    token2 = await merchants.issue_terminal_token(deps.db, till.merchant_id, other, now)
    raw = encode(closed())
    mixed = {**signed(till, raw, to_epoch(now)), "Authorization": f"Bearer {token2}"}
    assert (await hook(sigma, None, mixed, 401, raw=raw, event="receipt.closed"))["code"] == (
        "sigma_bad_signature"
    )
    assert await sales(deps, till.merchant_id) == 0


async def test_rotation_keeps_the_old_secret_for_a_day_and_revocation_ends_all(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """After a rotation both secrets sign for 24 hours, then only the new one; a
    revocation stops every secret at once while the Bearer token still works."""
    clock: ManualClock = deps.clock  # type: ignore[assignment]
    issued = await signing.issue_secret(deps, till.merchant_id, till.terminal_id, clock())
    assert issued.previous_valid_until == to_epoch(clock()) + 24 * 3600
    for n, secret in enumerate((till.secret, issued.secret)):
        raw = encode(closed(f"R-{n}"))
        await hook(sigma, None, signed(till, raw, to_epoch(clock()), secret), raw=raw,
                   event="receipt.closed")  # fmt: skip
    clock.advance(hours=24, seconds=1)
    raw = encode(closed("R-old"))
    body = await hook(sigma, None, signed(till, raw, to_epoch(clock()), till.secret), 401,
                      raw=raw, event="receipt.closed")  # fmt: skip
    assert body["code"] == "sigma_bad_signature"
    assert await signing.revoke_secrets(deps, till.merchant_id, till.terminal_id, clock()) == 1
    raw = encode(closed("R-new"))
    await hook(sigma, None, signed(till, raw, to_epoch(clock()), issued.secret), 401, raw=raw,
               event="receipt.closed")  # fmt: skip
    await hook(sigma, closed("R-bearer"), bearer(till))
    assert await sales(deps, till.merchant_id) == 3


async def test_the_body_names_the_event_of_its_address(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """A signed receipt.cancelled body sent to bonus.release's address is refused (400
    sigma_event_mismatch): a signature never carries a body to another event."""
    body = {"event": "receipt.cancelled", "receipt_id": "S-1"}
    raw = encode(body)
    answer = await hook(sigma, None, signed(till, raw, to_epoch(deps.clock())), 400, raw=raw,
                        event="bonus.release")  # fmt: skip
    assert answer["code"] == "sigma_event_mismatch" and "bonus.release" in answer["message"]


async def test_bad_input_is_answered_in_our_shape(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """Malformed JSON, a missing field, an inexact amount, an unknown event and a GET
    are 4xx ``{"code", "message"}`` in Russian, never a 500."""
    headers = bearer(till)
    body = await hook(sigma, None, headers, 400, raw=b"{not json", event="receipt.opened")
    assert body["code"] == "malformed_json"
    body = await hook(sigma, {"event": "receipt.opened", "receipt_id": "S"}, headers, 400)
    assert body["code"] == "validation_error" and "lines" in body["message"]
    bad = {**closed(), "lines": [{**LINES[0], "amount": "190.005"}]}
    assert (await hook(sigma, bad, headers, 400))["code"] == "validation_error"
    huge = encode(closed()).replace(b'"190.00"', b"1e400")
    body = await hook(sigma, None, headers, 400, raw=huge, event="receipt.closed")
    assert body["code"] == "validation_error"
    assert (await hook(sigma, {"event": "x"}, headers, 404, event="receipt.lost"))["code"] == (
        "unknown_event"
    )
    response = await sigma.get("/sigma/v1/hooks/receipt.closed", headers=headers)
    assert response.status == 405 and (await response.json())["code"] == "method_not_allowed"


async def test_amounts_as_strings_and_numbers_are_read_exactly(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """0.1 as a JSON number and "0.10" as a string are the same ten kopecks (no float on
    the way); the answer gives amounts as strings with two places."""
    base = {"event": "receipt.opened", "receipt_id": "S-x", "customer": {"card": CARD}}
    as_number = await hook(sigma, {**base, "lines": [
        {"id": "1", "price": 0.1, "quantity": 3}]}, bearer(till))  # fmt: skip
    as_text = await hook(sigma, {**base, "lines": [
        {"id": "1", "price": "0.10", "quantity": "3"}]}, bearer(till))  # fmt: skip
    assert as_number == as_text
    assert as_number["amount"] == "0.30" and Decimal(as_number["amount"]) == Decimal("0.3")


async def test_a_suspended_merchant_is_refused_by_both_doors(
    sigma: TestClient, deps: Deps, till: SigmaTerminal
) -> None:
    """A suspended merchant's SIGMA terminal gets 402 merchant_suspended by token and by
    signature, and nothing is recorded."""
    await deps.db.execute(
        "UPDATE merchants SET status = 'suspended' WHERE id = :m", {"m": till.merchant_id}
    )
    assert (await hook(sigma, closed(), bearer(till), 402))["code"] == "merchant_suspended"
    answer = await signed_hook(sigma, deps, till, closed(), 402)
    assert answer["code"] == "merchant_suspended"
    assert await sales(deps, till.merchant_id) == 0
