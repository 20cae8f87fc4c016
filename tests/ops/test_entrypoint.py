"""The image's entry point without Docker: the same commands the compose stack runs
(``loyalty secrets generate``, then ``docker/entrypoint.sh loyalty serve`` for two
replicas starting at once, then the README's onboarding through the CLI) against a
fresh database of a temporary PostgreSQL cluster. Only the database host differs from
the compose file (``db`` there, the temporary cluster here)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ops.test_secrets import read_env
from tests.postgres_cluster import PostgresCluster

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
RECEIPT = {
    "receipt": {
        "id": "smoke-1",
        "lines": [{"id": "1", "name": "Жидкость 30 мл", "price": 450.00, "quantity": 2}],
    }
}
PUBLISHED_DEMO_TOKEN = "demo-tverskaya-till-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} did not answer 200"
        time.sleep(0.3)


@pytest.fixture
def stack_env(postgres_cluster: PostgresCluster, tmp_path: Path) -> dict[str, str]:
    """The container's environment: the generated .env (database host aside), the
    image's LOYALTY_ENV=production, ``loyalty`` on the PATH."""
    generated = subprocess.run(
        [sys.executable, "-m", "cloud.main", "secrets", "generate",
         "--output", str(tmp_path / ".env")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    values = read_env(tmp_path / ".env")
    name = f"stack_{os.getpid()}"
    postgres_cluster.create_database(name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env.update(values)
    env.update(
        LOYALTY_DATABASE_URL=postgres_cluster.url(name),
        LOYALTY_ENV="production",
        LOYALTY_HOST="127.0.0.1",
        LOYALTY_LOG_LEVEL="WARNING",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def run(env: dict[str, str], *command: str) -> str:
    result = subprocess.run(
        ["sh", str(ENTRYPOINT), *command], env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def replicas(stack_env: dict[str, str]) -> Iterator[list[tuple[str, subprocess.Popen[str]]]]:
    """Two service replicas started together on the empty database, both with
    LOYALTY_DEMO=1 (the compose file's app service asked for the demo, scaled to two)."""
    started = []
    for _ in range(2):
        port = _free_port()
        env = {**stack_env, "LOYALTY_PORT": str(port), "LOYALTY_DEMO": "1"}
        process = subprocess.Popen(
            ["sh", str(ENTRYPOINT), "loyalty", "serve"], env=env, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        started.append((f"http://127.0.0.1:{port}", process))
    try:
        yield started
    finally:
        for _, process in started:
            process.terminate()
            process.communicate(timeout=30)


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match is not None, text
    return match.group(1)


@pytest.mark.postgres
def test_entrypoint_brings_up_replicas_and_a_cli_onboarded_terminal_prices(
    stack_env: dict[str, str], replicas: list[tuple[str, subprocess.Popen[str]]]
) -> None:
    """Two replicas migrating at once both become live (/health) and ready (/ready);
    the demo loads once though both asked, with fresh tokens (the published ones stay
    refused); the
    README's five onboarding commands give a terminal whose printed token prices a
    receipt on either replica; a restart with LOYALTY_DEMO=1 leaves the demo alone."""
    for base, _ in replicas:
        _wait(f"{base}/health")
        _wait(f"{base}/ready")
        assert httpx.get(f"{base}/ready", timeout=5).json() == {"status": "ready"}

    created = run(stack_env, "loyalty", "merchants", "create", "Кофейня на Ленина",
                  "--timezone", "Europe/Samara")  # fmt: skip
    merchant = _find(r"Merchant #(\d+)", created)
    first = run(stack_env, "loyalty", "stores", "add", "--merchant", merchant, "Ленина, 1",
                "--address", "Самара, ул. Ленина, 1")  # fmt: skip
    run(stack_env, "loyalty", "stores", "add", "--merchant", merchant, "Мира, 5",
        "--timezone", "Europe/Samara")  # fmt: skip
    run(stack_env, "loyalty", "programs", "load", "fixtures/programs/03_breezevape.json",
        "--merchant", merchant, "--activate")  # fmt: skip
    terminal = run(stack_env, "loyalty", "terminals", "add", "--merchant", merchant,
                   "--store", _find(r"Store #(\d+)", first), "Касса 1")  # fmt: skip
    token = _find(r"Terminal token[^:]*: (\S+)", terminal)
    for base, _ in replicas:
        priced = httpx.post(
            f"{base}/api/v1/checkout/calculate", json=RECEIPT,
            headers={"Authorization": f"Bearer {token}"}, timeout=10,
        )  # fmt: skip
        assert priced.status_code == 200, priced.text
        assert priced.json()["program_version"] == 1

    base, _ = replicas[0]
    published = httpx.post(
        f"{base}/api/v1/checkout/calculate", json=RECEIPT,
        headers={"Authorization": f"Bearer {PUBLISHED_DEMO_TOKEN}"}, timeout=10,
    )  # fmt: skip
    assert published.status_code == 401
    again = run({**stack_env, "LOYALTY_DEMO": "1"}, "true")
    assert "is already loaded" in again

    for _, process in replicas:
        process.terminate()
    logs = [process.communicate(timeout=30)[0] for _, process in replicas]
    assert all("entrypoint: applying migrations" in log for log in logs)
    loaded = [log for log in logs if "terminal tokens" in log]
    assert len(loaded) == 1, logs
    assert sum("is already loaded" in log for log in logs) == 1
    demo_tokens = _find(r"terminal tokens: (.+)", loaded[0]).split(", ")
    assert len(demo_tokens) == 3 and PUBLISHED_DEMO_TOKEN not in demo_tokens
