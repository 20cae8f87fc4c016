"""``loyalty serve`` as an operator runs it: migrations applied on start, production
refuses public keys, and every request leaves one JSON log line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PROD_KEYS = {
    "LOYALTY_DATA_KEY": "cHJvZC1kYXRhLWtleS0zMi1ieXRlcy1leGFjdGx5ISE=",
    "LOYALTY_INDEX_KEY": "cHJvZC1pbmRleC1rZXktMzItYnl0ZXMtZXhhY3RseSE=",
    "LOYALTY_SECRET_KEY": "a-real-secret",
    "LOYALTY_EVOTOR_APP_TOKEN": "a-real-evotor-app-token",
    "LOYALTY_CABINET_KEY": "a-real-cabinet-session-key",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env.update(LOYALTY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/prod.sqlite3", **extra)
    return env


def test_production_refuses_development_keys(tmp_path: Path) -> None:
    """With LOYALTY_ENV=production and no keys set, serve exits with a message naming
    the missing variables instead of starting."""
    result = subprocess.run(
        [sys.executable, "-m", "cloud.main", "serve", "--port", str(_free_port())],
        env=_env(tmp_path, LOYALTY_ENV="production"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "LOYALTY_DATA_KEY" in result.stderr


def test_production_serves_and_logs_one_json_event_per_request(tmp_path: Path) -> None:
    """In production the service migrates, loads no demo, answers, and writes one JSON
    event per request with route, status and duration."""
    port = _free_port()
    env = _env(tmp_path, LOYALTY_ENV="production", **PROD_KEYS)
    server = subprocess.Popen(
        [sys.executable, "-m", "cloud.main", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.2)
        refused = httpx.post(f"{base}/api/v1/checkout/calculate", json={}, timeout=5)
        assert refused.status_code == 401
        assert refused.json()["code"] == "missing_token"
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    requests = [e for e in events if e.get("event") == "request"]
    calculate = [e for e in requests if e["route"] == "/api/v1/checkout/calculate"]
    assert len(calculate) == 1
    assert calculate[0]["status"] == 401 and calculate[0]["adapter"] == "api"
    assert isinstance(calculate[0]["duration_ms"], float)
    assert "Demo terminal token" not in output
