"""Answers of the service's own probes (``/health``, ``/ready``): no credentials, no
merchant data."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: Literal["ok"] = Field(description="the process answers (no database involved)")


class Readiness(BaseModel):
    status: Literal["ready"] = Field(description="the database answered SELECT 1 in time")
