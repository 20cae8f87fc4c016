"""Only development shows SMS codes in the log (there the log is the developer's phone);
production and the tests keep the masked text."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from cloud.notify import LogSmsProvider
from cloud.services.deps import Deps
from cloud.settings import Settings
from tests.ops.test_secrets import generate, read_env

TEXT = "Код подтверждения: 424242. Никому не сообщайте его."
MASKED = "Код подтверждения: ******. Никому не сообщайте его."


async def _logged(settings: Settings, deps: Deps) -> list[dict[str, object]]:
    built = Deps.build(settings, deps.db)
    assert isinstance(built.sms, LogSmsProvider)
    with capture_logs() as events:
        await built.sms.send("+79001234567", TEXT, masked=MASKED)
    return [event for event in events if event["event"] == "sms.sent"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_code_in_the_log_only_in_development(deps: Deps, tmp_path: object) -> None:
    """Deps.build's log provider: development logs the text with the code (marked
    ``development``); test and production log the masked text."""
    development = await _logged(Settings(env="development", load_demo=False), deps)
    assert development[0]["text"] == TEXT and development[0]["development"] is True
    assert (await _logged(Settings(env="test"), deps))[0]["text"] == MASKED
    env_file = tmp_path / ".env"  # type: ignore[operator]
    assert generate("--output", str(env_file)).returncode == 0
    secrets = {k[len("LOYALTY_") :].lower(): v for k, v in read_env(env_file).items()
               if k.startswith("LOYALTY_")}  # fmt: skip
    production = await _logged(Settings(env="production", **secrets), deps)
    assert production[0]["text"] == MASKED and "development" not in production[0]
