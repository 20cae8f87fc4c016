"""``loyalty serve`` never exposes a public credential: development listens on loopback
by default and refuses a public address while the demo or the built-in Evotor token is
live; production refuses a database that still accepts the demo's tokens."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.test_serve import PROD_KEYS, _env, _free_port

LOYALTY = [sys.executable, "-m", "cloud.main"]


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the command; one that starts serving instead of refusing fails the test."""
    try:
        return subprocess.run(
            LOYALTY + args, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`loyalty {' '.join(args)}` kept running instead of refusing to start")


def test_development_refuses_a_public_address(tmp_path: Path) -> None:
    """`serve --host 0.0.0.0` in development (demo on, built-in Evotor token) exits with a
    message naming LOYALTY_HOST and what is public, before it listens."""
    result = run(
        ["serve", "--host", "0.0.0.0", "--port", str(_free_port())],
        _env(tmp_path, LOYALTY_ENV="development"),
        timeout=30,
    )
    assert result.returncode == 2, result.stdout
    assert "LOYALTY_HOST=0.0.0.0" in result.stderr
    assert "LOYALTY_EVOTOR_APP_TOKEN" in result.stderr


def test_production_refuses_a_database_with_the_demo_tokens(tmp_path: Path) -> None:
    """A database once served in development holds the demo's public tokens: production
    refuses it, naming them and `loyalty demo --revoke`; after the revocation it starts."""
    development = _env(tmp_path, LOYALTY_ENV="development")
    assert run(["demo"], development).returncode == 0
    production = _env(tmp_path, LOYALTY_ENV="production", **PROD_KEYS)
    port = str(_free_port())
    refused = run(["serve", "--port", port], production, timeout=30)
    assert refused.returncode == 2, refused.stdout
    assert "demo-tverskaya-till-1" in refused.stderr
    assert "loyalty demo --revoke" in refused.stderr
    revoked = run(["demo", "--revoke"], production)
    assert revoked.returncode == 0 and "Revoked 4" in revoked.stdout
    server = subprocess.Popen(
        [*LOYALTY, "serve", "--port", port], env=production,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert _healthy(f"http://127.0.0.1:{port}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def _healthy(base: str, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return False


def _outward_address() -> str | None:
    """This machine's address on its outward interface (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_development_listens_on_loopback_by_default(tmp_path: Path) -> None:
    """With no host given, development (demo loaded) answers on 127.0.0.1 and not on the
    machine's outward address."""
    port = _free_port()
    server = subprocess.Popen(
        [*LOYALTY, "serve", "--port", str(port)], env=_env(tmp_path, LOYALTY_ENV="development"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert _healthy(f"http://127.0.0.1:{port}")
        outward = _outward_address()
        if outward is not None:
            with pytest.raises(httpx.TransportError):
                httpx.get(f"http://{outward}:{port}/health", timeout=2)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert f"listening on http://127.0.0.1:{port}" in output
