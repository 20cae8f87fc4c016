"""The bodies of the day: the reference's examples with the values a real till would put
in place of its placeholders (a Russian phone, our counterparty id, the sale's id)."""

from __future__ import annotations

from typing import Any

from tests.webhooks.moysklad.conftest import example

SALE_ID = "a0c1f7e2-0b6e-11ef-0a80-0d7d00000001"
RETURN_ID = "b1d2e8f3-0b6e-11ef-0a80-0d7d00000002"
SECOND = "1f7f2c9e-5b8a-4c3e-9a51-2d2b00000002"
"""A second product of the receipt."""


def registration(status: str, phone: str = "8 (916) 123-45-67") -> Any:
    body = example("counterparty.create.request.json")
    body["phone"] = phone
    del body["discountCardNumber"]  # the reference's "MTIzNDU2Nzg5MA" is a placeholder
    body["statusCheck"] = status
    return body


def code_request(phone: str = "+7 916 123 45 67") -> Any:
    body = example("counterparty.verify.request.json")
    body["phone"] = phone
    return body


def recalc(preferred: int | None, spending: bool = True) -> Any:
    """The reference's recalc with three serial-numbered units and a second product."""
    body = example("retaildemand.recalc.request.json")
    body["agent"]["phone"] = "+7 916 123-45-67"
    position = body["positions"][0]
    position["quantity"] = 3
    serial = position["sn"][0]
    position["sn"] = [dict(serial, name=f"78955{n}") for n in range(3)]
    body["positions"].append({
        "assortment": {"meta": {"href": "https://api.moysklad.ru/api/remap/1.2/entity/"
                                f"product/{SECOND}", "id": SECOND}},
        "quantity": 1, "price": 50,
    })  # fmt: skip
    body["bonusProgram"]["transactionType"] = "SPENDING" if spending else "EARNING"
    if preferred is not None:
        body["preferredBonusToSpend"] = preferred
    return body


def sale(positions: list[Any], spent: Any, earned: Any) -> Any:
    body = example("retaildemand.request.json")
    body["meta"] = {"href": f"https://api.moysklad.ru/api/remap/1.2/entity/retaildemand/{SALE_ID}",
                    "id": SALE_ID}  # fmt: skip
    body["agent"]["phone"] = "+7 916 123-45-67"
    body["positions"] = [
        {"assortment": p["assortment"], "quantity": p["quantity"], "price": p["price"],
         "discountPercent": p["discountPercent"], "discountedPrice": p["discountedPrice"]}
        for p in positions
    ]  # fmt: skip
    body["bonusProgram"] = {"bonusValueToSpend": spent, "bonusValueToEarn": earned}
    body["giftCards"] = []
    return body


def sales_return(position: Any) -> Any:
    body = example("retailsalesreturn.request.json")
    body["meta"] = {"href": "", "id": RETURN_ID}
    body["demand"] = {"meta": {"href": "", "id": SALE_ID}}
    body["positions"] = [
        {"assortment": position["assortment"], "quantity": 1, "price": position["price"],
         "discountPercent": position["discountPercent"],
         "discountedPrice": position["discountedPrice"]}
    ]  # fmt: skip
    return body
