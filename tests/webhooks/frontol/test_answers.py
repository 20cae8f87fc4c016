"""A calculate's answer is built as JSON, not through the answer models: it must still be
exactly what the model (and so the OpenAPI document) describes, in every case the till
meets: a known customer, a phone nobody has, no card at all."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cloud.services.deps import Deps
from schemas import frontol as fr
from tests.ledger.helpers import create_customer
from tests.webhooks.frontol.conftest import Frontol, give_bonuses, steps


def _as_the_model_dumps(answer: dict[str, Any]) -> dict[str, Any]:
    return fr.Answer.model_validate(answer).model_dump(exclude_none=True)


@pytest.mark.parametrize("client", ["known", "unknown", "none"])
async def test_a_calculate_answer_is_what_the_answer_model_describes(
    frontol: Frontol, deps: Deps, client: str
) -> None:
    """Every key the calculate answers is the model's, with the model's types and
    values; nothing the model would leave out (a ``null``) is sent."""
    calculate = copy.deepcopy(steps("sale_with_bonus_payment")[0]["request"])
    if client == "known":
        member = await create_customer(deps, frontol.merchant_id)
        await give_bonuses(deps, frontol.merchant_id, member.id, 10000)
        calculate["client"] = {"mobilePhone": member.phone}
    elif client == "unknown":
        calculate["client"] = {"mobilePhone": "+79160000000"}
    else:
        calculate.pop("client", None)
    answer = await frontol.ok("document", calculate)
    assert answer == _as_the_model_dumps(answer)
    assert list(answer) == list(_as_the_model_dumps(answer))
    assert ("client" in answer) == (client == "known")
    if client == "unknown":
        assert answer["cashierInformation"][0] == {"text": "Клиент не найден"}
