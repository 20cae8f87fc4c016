"""``loyalty secrets generate`` writes the ``.env`` production needs: every secret
setting fresh (production's settings accept the file), the compose database's password
inside its URL, mode 0600, and never over an existing file without ``--force``."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

from cloud.settings import BUILT_IN_SECRETS, Settings

ROOT = Path(__file__).resolve().parents[2]


def generate(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    # Production settings are refused until the secrets exist: the command must not need them.
    env["LOYALTY_ENV"] = "production"
    return subprocess.run(
        [sys.executable, "-m", "cloud.main", "secrets", "generate", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def read_env(path: Path) -> dict[str, str]:
    """The file as compose's env_file reads it: NAME=value lines, # comments."""
    values = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def test_generated_file_is_what_production_needs(tmp_path: Path) -> None:
    """Every built-in secret is in the file with a fresh value that production's
    settings accept; the data and index keys are 32 bytes; the database URL carries the
    PostgreSQL password and names the compose service; the file is 0600."""
    target = tmp_path / ".env"
    result = generate("--output", str(target))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    values = read_env(target)
    names = {f"LOYALTY_{name.upper()}" for name in BUILT_IN_SECRETS}
    assert names | {"POSTGRES_PASSWORD", "LOYALTY_DATABASE_URL"} == set(values)
    for name in ("LOYALTY_DATA_KEY", "LOYALTY_INDEX_KEY"):
        assert len(base64.b64decode(values[name], validate=True)) == 32
    password = values["POSTGRES_PASSWORD"]
    assert len(password) >= 32
    assert values["LOYALTY_DATABASE_URL"] == (
        f"postgresql+asyncpg://loyalty:{password}@db:5432/loyalty"
    )
    settings = Settings(
        env="production", **{k[len("LOYALTY_") :].lower(): v for k, v in values.items()
                             if k.startswith("LOYALTY_")},
    )  # fmt: skip
    assert settings.public_secrets_in_use == []
    assert not set(values.values()) & set(BUILT_IN_SECRETS.values())


def test_two_files_share_no_value(tmp_path: Path) -> None:
    """Values are random: two generated files have no secret in common."""
    for name in ("a.env", "b.env"):
        assert generate("--output", str(tmp_path / name)).returncode == 0
    a, b = read_env(tmp_path / "a.env"), read_env(tmp_path / "b.env")
    assert all(a[name] != b[name] for name in a)


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    """An existing file (its keys may encrypt real data) is kept, exit status 1 with a
    message naming --force; with --force it is replaced, and a file that was readable
    by others becomes 0600."""
    target = tmp_path / ".env"
    target.write_text("LOYALTY_DATA_KEY=keep-me\n")
    target.chmod(0o644)
    refused = generate("--output", str(target))
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert target.read_text() == "LOYALTY_DATA_KEY=keep-me\n"
    forced = generate("--output", str(target), "--force")
    assert forced.returncode == 0, forced.stderr
    assert read_env(target)["LOYALTY_DATA_KEY"] != "keep-me"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [".env"]  # no temporary file left
