"""Wire models of the program-management API (merchant API key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class ProgramVersionOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    status: str
    created_at: datetime
    activated_at: datetime | None
    document: dict[str, Any] | None = None


class ProgramVersionList(BaseModel):
    versions: list[ProgramVersionOut]


class ProgramValid(BaseModel):
    valid: bool
    name: str
