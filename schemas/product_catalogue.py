"""The merchant's product catalogue on the wire (merchant API key): which program
category a product code, or every code with a prefix, belongs to. Instants are ISO-8601
in the merchant's zone."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CatalogueEntry(WireModel):
    id: int = Field(description="the entry's id, in the uploaded file's order (the cursor)")
    code: str = Field(description="a product code, or a prefix of codes ending in «*»")
    category: str = Field(description="the program category its lines get")


class CataloguePage(WireModel):
    """The catalogue as uploaded, in the file's order."""

    total: int = Field(description="entries in the whole catalogue")
    prefixes: int = Field(description="of them, prefix rules")
    uploaded_at: datetime | None = Field(description="when it was uploaded; null: no catalogue")
    items: list[CatalogueEntry]
    next: int | None = Field(description="pass as ?after= for the next page")


class CatalogueUploaded(WireModel):
    """The merchant's catalogue was replaced by the file's, as a whole."""

    entries: int = Field(description="entries now in the catalogue")
    codes: int = Field(description="of them, exact product codes")
    prefixes: int = Field(description="of them, prefix rules (a code ending in «*»)")
    replaced: int = Field(description="entries of the previous catalogue, now gone")
    uploaded_at: datetime


class CatalogueCleared(WireModel):
    deleted: int = Field(description="entries removed; lines now keep no category from it")
