"""Whatever a signed body holds, the adapter answers in Frontol's shape: HTTP 200 with an
integer ``code`` (and a Russian ``error`` when not 0), never a 500 (hypothesis over JSON
values and over documents with fields of the wrong kinds)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webhooks.frontol.conftest import Frontol, steps

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.text(max_size=12),
    st.floats(allow_nan=False, allow_infinity=False),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = ["action", "type", "uid", "client", "positions", "payment", "payments",
          "referenceUid", "businessUnit", "workPlace", "cashier", "dateTime", "values"]  # fmt: skip


def _check(answer: Any) -> None:
    assert isinstance(answer["code"], int)
    if answer["code"] != 0:
        assert isinstance(answer["error"], str) and answer["error"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["document", "client", "extra/client"]),
    field=st.sampled_from(FIELDS),
    value=values,
)
async def test_any_signed_body_is_answered_in_shape(
    frontol: Frontol, path: str, field: str, value: Any
) -> None:
    """A real request with one field replaced by an arbitrary JSON value: 200, in shape."""
    body = steps("sale_with_bonus_payment")[1]["request"]
    body["organization"] = frontol.organization
    body[field] = value
    raw = json.dumps(body, ensure_ascii=False).encode()
    _check(await frontol.raw(path, raw))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=values)
async def test_any_signed_json_value_is_answered_in_shape(frontol: Frontol, value: Any) -> None:
    """A body that is any JSON value at all: 200 and code -1 in shape."""
    _check(await frontol.raw("document", json.dumps(value).encode()))
