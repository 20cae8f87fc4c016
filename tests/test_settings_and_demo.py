"""Settings refuse public keys in production; the demo merchant loads through the
services and answers a terminal's calculation; public credentials are never exposed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cloud.errors import Unauthorized
from cloud.main import RefusedToStart, check_exposure
from cloud.services import demo, merchants
from cloud.services.deps import Deps
from cloud.settings import BUILT_IN_SECRETS, DEV_DATA_KEY, Settings


def test_production_refuses_the_development_keys() -> None:
    """LOYALTY_ENV=production with the built-in keys does not start, naming the keys."""
    with pytest.raises(ValidationError) as raised:
        Settings(env="production")
    assert "LOYALTY_DATA_KEY" in str(raised.value)
    assert "LOYALTY_EVOTOR_APP_TOKEN" in str(raised.value)
    assert "LOYALTY_CABINET_KEY" in str(raised.value)
    ok = Settings(
        env="production",
        data_key="cHJvZC1kYXRhLWtleS0zMi1ieXRlcy1leGFjdGx5ISE=",
        index_key="cHJvZC1pbmRleC1rZXktMzItYnl0ZXMtZXhhY3RseSE=",
        secret_key="a-real-secret",
        evotor_app_token="a-real-evotor-app-token",
        cabinet_key="a-real-cabinet-session-key",
    )
    assert ok.effective_log_format == "json"


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every setting comes from a LOYALTY_ variable."""
    monkeypatch.setenv("LOYALTY_HOLD_TTL_SECONDS", "600")
    monkeypatch.setenv("LOYALTY_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    settings = Settings()
    assert settings.hold_ttl_seconds == 600 and not settings.is_sqlite


async def test_demo_merchant_loads_with_history_and_refreshes(deps: Deps) -> None:
    """The demo has 2 stores, 3 terminals, 20 customers with purchases; loading again is a
    no-op, refreshing rebuilds it with the same tokens."""
    loaded = await demo.load_demo(deps)
    assert loaded.customers == 20 and loaded.receipts > 20
    counts = [
        await deps.db.fetch_value(f"SELECT COUNT(*) FROM {table} WHERE merchant_id = :m",
                                  {"m": loaded.merchant_id})
        for table in ("stores", "terminals", "customers")
    ]  # fmt: skip
    assert counts == [2, 3, 20]
    buyers = await deps.db.fetch_value(
        "SELECT COUNT(DISTINCT customer_id) FROM receipts WHERE merchant_id = :m",
        {"m": loaded.merchant_id},
    )
    assert buyers == 20
    again = await demo.load_demo(deps)
    assert again.merchant_id == loaded.merchant_id
    fresh = await demo.load_demo(deps, refresh=True)
    assert fresh.tokens == loaded.tokens and fresh.merchant_id != loaded.merchant_id
    assert await deps.db.fetch_value("SELECT COUNT(*) FROM merchants") == 1


async def test_demo_is_never_loaded_in_production(deps: Deps) -> None:
    """Public demo tokens must not exist on a production database."""
    production = deps.settings.model_copy(update={"env": "production"})
    with pytest.raises(RuntimeError):
        await demo.load_demo(Deps.build(production, deps.db))


def test_production_refuses_a_built_in_value_in_any_secret_setting() -> None:
    """A built-in value is public in whichever secret setting it is put (here the
    development data key pasted as the secret key): production names that setting."""
    with pytest.raises(ValidationError) as raised:
        Settings(
            env="production",
            data_key="cHJvZC1kYXRhLWtleS0zMi1ieXRlcy1leGFjdGx5ISE=",
            index_key="cHJvZC1pbmRleC1rZXktMzItYnl0ZXMtZXhhY3RseSE=",
            secret_key=DEV_DATA_KEY,
            evotor_app_token="a-real-evotor-app-token",
        )
    assert "LOYALTY_SECRET_KEY" in str(raised.value)
    assert "LOYALTY_DATA_KEY" not in str(raised.value)
    assert set(BUILT_IN_SECRETS) == {
        "data_key",
        "index_key",
        "secret_key",
        "evotor_app_token",
        "operator_token",
        "cabinet_key",
    }


async def test_demo_credentials_are_found_and_revoked(deps: Deps) -> None:
    """Every token of the demo (three tills, the merchant key) is reported live after
    loading; revoking them leaves none that authenticates, and the data stays."""
    loaded = await demo.load_demo(deps)
    live = await demo.live_public_credentials(deps)
    assert live == sorted([*loaded.tokens, loaded.merchant_key])
    assert await demo.revoke_public_credentials(deps) == 4
    assert await demo.live_public_credentials(deps) == []
    authenticator = merchants.TerminalAuthenticator(deps.db)
    for token in loaded.tokens:
        with pytest.raises(Unauthorized):
            await authenticator.authenticate(token)
    with pytest.raises(Unauthorized):
        await merchants.authenticate_merchant(deps.db, loaded.merchant_key)
    assert await demo.demo_merchant_id(deps) == loaded.merchant_id


PROD = {
    "env": "production",
    "data_key": "cHJvZC1kYXRhLWtleS0zMi1ieXRlcy1leGFjdGx5ISE=",
    "index_key": "cHJvZC1pbmRleC1rZXktMzItYnl0ZXMtZXhhY3RseSE=",
    "secret_key": "a-real-secret",
    "evotor_app_token": "a-real-evotor-app-token",
    "cabinet_key": "a-real-cabinet-session-key",
}


def test_production_refuses_live_demo_credentials() -> None:
    """Production does not start on a database where the public demo tokens still
    authenticate, and says how to revoke them."""
    with pytest.raises(RefusedToStart, match=r"demo-tverskaya-till-1.*loyalty demo --revoke"):
        check_exposure(Settings(**PROD), ["demo-tverskaya-till-1"])
    check_exposure(Settings(**PROD), [])
    check_exposure(Settings(**PROD, host="0.0.0.0"), [])


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_development_serves_loopback_with_public_defaults(host: str) -> None:
    """On an address only this machine reaches, the development defaults are fine."""
    assert Settings(env="development").host == "127.0.0.1"
    check_exposure(Settings(env="development", host=host), ["demo-tverskaya-till-1"])


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "dev.example.com"])
def test_development_refuses_a_public_address_with_public_credentials(host: str) -> None:
    """Bound beyond loopback, development refuses while the Evotor app token is the
    built-in one, the demo is to be loaded, or demo tokens are live, naming each."""
    with pytest.raises(RefusedToStart) as refused:
        check_exposure(Settings(env="development", host=host))
    message = str(refused.value)
    assert f"LOYALTY_HOST={host}" in message
    assert "LOYALTY_EVOTOR_APP_TOKEN" in message and "LOYALTY_LOAD_DEMO" in message
    private = Settings(
        env="development", host=host, load_demo=False, evotor_app_token="a-real-token"
    )
    with pytest.raises(RefusedToStart, match="demo-novosibirsk-bar"):
        check_exposure(private, ["demo-novosibirsk-bar"])
    check_exposure(private, [])
