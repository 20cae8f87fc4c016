"""Bringing a customer base across: import from ``.xlsx`` / ``.csv`` (a dry run first),
export to ``.xlsx``. The layout is documented with templates in ``fixtures/import/``."""

from cloud.services.customers_io.exporter import export_base
from cloud.services.customers_io.importer import ImportResult, import_base

__all__ = ["ImportResult", "export_base", "import_base"]
