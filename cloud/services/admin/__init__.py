"""Administration: the platform operator creates merchants; a merchant's staff (merchant
key, role owner or manager) manage stores, terminals of every channel, their tokens and
the merchant's own keys. The API (``cloud.api.admin``) and the CLI (``cloud.main``) both
go through these functions, so they enforce the same rules."""

from __future__ import annotations

from cloud.errors import BadRequest


def clean_name(name: str, what: str = "Название") -> str:
    """A name as stored: trimmed, 1..200 printable characters (the API checks the same
    in its models; the CLI comes through here)."""
    name = name.strip()
    if not name or len(name) > 200 or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise BadRequest("invalid_name", f"{what}: от 1 до 200 символов, без управляющих")
    return name
