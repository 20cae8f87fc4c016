"""Settings refuse public keys in production; the demo merchant loads through the
services and answers a terminal's calculation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cloud.services import demo
from cloud.services.deps import Deps
from cloud.settings import Settings


def test_production_refuses_the_development_keys() -> None:
    """LOYALTY_ENV=production with the built-in keys does not start, naming the keys."""
    with pytest.raises(ValidationError) as raised:
        Settings(env="production")
    assert "LOYALTY_DATA_KEY" in str(raised.value)
    assert "LOYALTY_EVOTOR_APP_TOKEN" in str(raised.value)
    ok = Settings(
        env="production",
        data_key="cHJvZC1kYXRhLWtleS0zMi1ieXRlcy1leGFjdGx5ISE=",
        index_key="cHJvZC1pbmRleC1rZXktMzItYnl0ZXMtZXhhY3RseSE=",
        secret_key="a-real-secret",
        evotor_app_token="a-real-evotor-app-token",
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
