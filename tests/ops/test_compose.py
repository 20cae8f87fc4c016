"""The compose file and the image, read as Docker reads them (no Docker daemon here:
tests/ops/test_entrypoint.py runs the entry point itself): every secret from the
repository's ``.env`` and none with a default, the probes wired, restart policy, the
scheduler beside the service, and an image holding only what runs."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloud.settings import BUILT_IN_SECRETS

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
SECRETS = {f"LOYALTY_{name.upper()}" for name in BUILT_IN_SECRETS} | {
    "POSTGRES_PASSWORD", "LOYALTY_DATABASE_URL"
}  # fmt: skip


def compose() -> dict[str, Any]:
    document = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert isinstance(document, dict)
    return document


def test_every_secret_comes_from_the_env_file_with_no_default() -> None:
    """Each service reads ``../.env`` (the repository root's, where ``loyalty secrets
    generate`` writes); no secret is written in the file nor interpolated with a
    default; the only variables with defaults are the demo switch and the port."""
    text = (DOCKER / "compose.yaml").read_text()
    services = compose()["services"]
    assert set(services) == {"db", "app", "scheduler"}
    for name, service in services.items():
        assert service["env_file"] == "../.env", name
        assert (DOCKER / service["env_file"]).resolve() == ROOT / ".env"
        assert not SECRETS & set(service.get("environment") or {}), name
    assert set(re.findall(r"\$\{(\w+)", text)) == {"LOYALTY_DEMO", "LOYALTY_HTTP_PORT"}
    for secret in SECRETS:
        assert f"{secret}:" not in text and f"{secret}=" not in text
    for ignore in (".gitignore", ".dockerignore"):
        assert ".env" in (ROOT / ignore).read_text().split(), ignore


def test_services_restart_wait_for_the_database_and_probe() -> None:
    """Every service restarts unless stopped; the service and the scheduler start
    once PostgreSQL is healthy; the service's health check asks /health and /ready;
    the scheduler runs ``loyalty scheduler`` with the image's HTTP check disabled."""
    services = compose()["services"]
    for name, service in services.items():
        assert service["restart"] == "unless-stopped", name
    for name in ("app", "scheduler"):
        assert services[name]["depends_on"] == {"db": {"condition": "service_healthy"}}
        assert services[name]["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
        assert "entrypoint" not in services[name]  # the image's: migrate under the lock
    probe = " ".join(services["app"]["healthcheck"]["test"])
    assert "/health" in probe and "/ready" in probe
    assert services["app"]["command"] == ["loyalty", "serve"]
    assert services["scheduler"]["command"] == ["loyalty", "scheduler"]
    assert services["scheduler"]["healthcheck"] == {"disable": True}
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])


def _cli_commands() -> set[str]:
    shown = subprocess.run(
        [sys.executable, "-m", "cloud.main", "--help"], capture_output=True, text=True,
        timeout=60, cwd=ROOT,
    ).stdout  # fmt: skip
    match = re.search(r"\{([\w,-]+)\}", shown)
    assert match is not None, shown
    return set(match.group(1).split(","))


def test_the_commands_named_exist() -> None:
    """The entry point's and the compose file's ``loyalty`` commands are commands of
    the CLI (``scheduler`` arrives with the scheduler's own change)."""
    available = _cli_commands()
    script = (DOCKER / "entrypoint.sh").read_text()
    named = set(re.findall(r"^\s*loyalty (\w+)", script, re.MULTILINE))
    assert named == {"migrate", "demo"} and named <= available
    if "scheduler" not in available:
        pytest.skip("`loyalty scheduler` is not in this branch yet")
    assert {"serve", "scheduler"} <= available


def test_the_image_copies_only_what_runs_and_checks_health() -> None:
    """The Dockerfile copies existing paths, never tests, benchmarks or an .env;
    its HEALTHCHECK asks /health; the entry point is the script the tests run."""
    dockerfile = (DOCKER / "Dockerfile").read_text()
    copied = [shlex.split(line)[1] for line in dockerfile.splitlines()
              if line.startswith("COPY ")]  # fmt: skip
    assert copied and all((ROOT / source).exists() for source in copied)
    assert not {"tests", "bench", ".env", "."} & set(copied)
    assert "docker/entrypoint.sh" in copied
    healthcheck = dockerfile[dockerfile.index("HEALTHCHECK") :]
    assert "/health" in healthcheck.split("ENTRYPOINT")[0]
    assert 'ENTRYPOINT ["loyalty-entrypoint"]' in dockerfile
    assert 'CMD ["loyalty", "serve"]' in dockerfile
