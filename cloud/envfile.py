"""``loyalty secrets generate``: the ``.env`` a production deployment reads (the compose
file's ``env_file``), with a fresh random value for every secret.

The secrets are the settings of ``cloud.settings.BUILT_IN_SECRETS`` (each has a public
development value that production refuses), so a new secret setting is generated here
without a change; plus the PostgreSQL password of the compose file and the database URL
that carries it.
"""

from __future__ import annotations

import base64
import os
import secrets
import tempfile
from pathlib import Path

from cloud.settings import BUILT_IN_SECRETS

KEYS_32_BYTES = {"data_key", "index_key"}
"""AES-GCM and HMAC keys: 32 random bytes in base64 (``cloud.crypto`` refuses others)."""

COMPOSE_DATABASE = "postgresql+asyncpg://loyalty:{password}@db:5432/loyalty"
"""The database of ``docker/compose.yaml``: user and database ``loyalty`` on host ``db``."""

_NOTES = {
    "data_key": "AES-256-GCM key of personal data: losing it loses every phone and name",
    "index_key": "HMAC key of the blind index (phones and cards are found through it)",
    "secret_key": "signs sessions and one-time codes",
    "evotor_app_token": "the token Evotor presents to us: enter it in the Evotor developer "
    "console as the application's token",
    "operator_token": "the platform operator's Bearer token (creates merchants)",
    "cabinet_key": "encrypts the merchant cabinet's session cookies",
}


class EnvFileExists(Exception):
    """The output exists and --force was not given."""


def _value(name: str) -> str:
    if name in KEYS_32_BYTES:
        return base64.b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(32)


def render() -> str:
    """The file's text: comments, then ``NAME=value`` lines (no quotes: compose and a
    POSIX shell read them alike; the values hold only base64 and URL-safe characters)."""
    lines = [
        "# Secrets of the loyalty cloud, written by `loyalty secrets generate`.",
        "# Keep this file private (mode 0600) and back it up: the data key cannot be",
        "# recovered. docker/compose.yaml reads it (env_file); elsewhere export it:",
        "#   set -a; . ./.env; set +a",
        "",
    ]
    for name in BUILT_IN_SECRETS:
        lines.append(f"# {_NOTES.get(name, name)}")
        lines.append(f"LOYALTY_{name.upper()}={_value(name)}")
    password = secrets.token_hex(24)
    lines += [
        "",
        "# PostgreSQL of docker/compose.yaml, and the service's URL of it",
        f"POSTGRES_PASSWORD={password}",
        f"LOYALTY_DATABASE_URL={COMPOSE_DATABASE.format(password=password)}",
    ]
    return "\n".join(lines) + "\n"


def write(path: Path, *, force: bool = False) -> None:
    """Write a fresh file at ``path``, mode 0600 from its first byte (written beside it,
    then renamed over it, so a reader never sees half a file)."""
    if path.exists() and not force:
        raise EnvFileExists(f"{path} exists; pass --force to replace it (the old keys are lost)")
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file with mode 0600.
    fd, temporary = tempfile.mkstemp(prefix=".env-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(render())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
