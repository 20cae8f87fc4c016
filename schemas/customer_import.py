"""The answer to an import of a customer base (merchant API key)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.money import Money


class ImportRowError(BaseModel):
    model_config = ConfigDict(extra="forbid")
    row: int = Field(description="номер строки в файле (строка заголовков — 1)")
    column: str = Field(description="столбец шаблона, например «Телефон»")
    message: str = Field(description="что не так, по-русски")


class ImportReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["dry_run", "imported", "already_imported", "rejected"] = Field(
        description="dry_run: checked, nothing changed; imported; already_imported: this "
        "file was imported before (the first result, nothing changed); rejected: bad rows, "
        "nothing changed"
    )
    rows: int = Field(description="строк клиентов в файле")
    customers_new: int
    customers_merged: int = Field(description="уже были в базе: лоты добавлены, пустые поля "
                                  "заполнены, ничего не перезаписано")  # fmt: skip
    lots: int
    bonuses: Money = Field(description="сумма бонусов в файле, рубли")
    errors_total: int
    errors: list[ImportRowError] = Field(description="ошибочные строки (первые 1000)")
    import_id: int | None
    imported_at: datetime | None


class ImportRejected(BaseModel):
    """422 of a real run with bad rows: the error body with the report."""

    model_config = ConfigDict(extra="forbid")
    code: Literal["import_rejected"]
    message: str
    report: ImportReport
