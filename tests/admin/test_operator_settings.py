"""The operator token setting: off by default, never a public value in production or on
an address other machines reach, never a short one."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cloud.main import RefusedToStart, check_exposure
from cloud.settings import DEV_OPERATOR_TOKEN, Settings

PROD = {
    "env": "production",
    "data_key": "cHJvZC1kYXRhLWtleS0zMi1ieXRlcy1leGFjdGx5ISE=",
    "index_key": "cHJvZC1pbmRleC1rZXktMzItYnl0ZXMtZXhhY3RseSE=",
    "secret_key": "a-real-secret",
    "evotor_app_token": "a-real-evotor-app-token",
    "cabinet_key": "a-real-cabinet-session-key",
}


def test_operator_api_is_off_by_default_and_production_refuses_the_public_token() -> None:
    """No token by default (the operator API is off); production names
    LOYALTY_OPERATOR_TOKEN when it holds the README's public value, and accepts a real
    one."""
    assert Settings().operator_token is None
    assert Settings(**PROD).operator_token is None
    with pytest.raises(ValidationError) as refused:
        Settings(**PROD, operator_token=DEV_OPERATOR_TOKEN)
    assert "LOYALTY_OPERATOR_TOKEN" in str(refused.value)
    assert Settings(**PROD, operator_token="x" * 40).operator_token == "x" * 40


def test_a_short_operator_token_is_refused() -> None:
    """The operator token is the platform's master key: fewer than 24 characters is a
    settings error, not a guessable credential."""
    with pytest.raises(ValidationError):
        Settings(operator_token="short-token")


def test_development_on_a_public_address_refuses_the_public_operator_token() -> None:
    """Listening beyond loopback with the public operator token would let anyone create
    merchants: serve refuses and names the setting."""
    settings = Settings(
        host="0.0.0.0", load_demo=False, evotor_app_token="a-real-evotor-app-token",
        operator_token=DEV_OPERATOR_TOKEN,
    )  # fmt: skip
    with pytest.raises(RefusedToStart) as refused:
        check_exposure(settings)
    assert "LOYALTY_OPERATOR_TOKEN" in str(refused.value)
