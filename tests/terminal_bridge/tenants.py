"""A merchant as a till channel's tests need it: one store with one terminal of the
channel and its token, the channel's fixture program (its text) live, and one customer with a
phone and a plastic card."""

from __future__ import annotations

from dataclasses import dataclass

from cloud.services import customers, merchants, programs
from cloud.services.deps import Deps
from schemas.customers import Consent, RegisterCustomer

PHONE = "+79161234567"
CARD = "7700123456789"


@dataclass
class Till:
    merchant_id: int
    store_id: int
    terminal_id: int
    token: str
    customer_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}


async def till_tenant(
    deps: Deps, channel: str, program: str, *, name: str, store: str, terminal: str,
    token: str | None = None,
) -> Till:  # fmt: skip
    now = deps.clock()
    merchant_id = await merchants.create_merchant(deps.db, name, now)
    store_id = await merchants.create_store(deps.db, merchant_id, store, now)
    terminal_id = await merchants.create_terminal(
        deps.db, merchant_id, store_id, terminal, now, channel=channel
    )
    issued = await merchants.issue_terminal_token(deps.db, merchant_id, terminal_id, now, token)
    await programs.publish(deps.db, merchant_id, program, now)
    customer_id = await customers.register_customer(
        deps, merchant_id,
        RegisterCustomer(phone=PHONE, card=CARD, consent=Consent(personal_data=True)),
        store_id=store_id, channel="import", sms_code=None,
    )  # fmt: skip
    return Till(merchant_id, store_id, terminal_id, issued, customer_id)
