"""``loyalty customers import`` / ``export``, as the README shows them, on the template of
``fixtures/import/``: a dry run changes nothing, the import reports what it wrote and
shows progress, the export writes a workbook openpyxl opens."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cloud.services.deps import Deps
from tests.cli.test_onboarding import _loyalty
from tests.conftest import FIXTURES, Tenant

TEMPLATES = FIXTURES / "import"


# The commands call the same service as the API, tested on both databases there; one
# backend keeps the subprocess runs (each migrates and imports afresh) affordable.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_import_and_export_from_the_command_line(
    database_url: str, deps: Deps, demo_tenant: Tenant, tmp_path: Path
) -> None:
    """The csv template dry-runs clean and changes nothing; the xlsx one (same content)
    imports two customers (the second row is a second lot of the first phone, spelt with
    8) with progress on stderr; the export has both with their balances; a missing file
    is a one-line error."""
    merchant = str(demo_tenant.merchant_id)
    for name in ("template.csv",):
        dry = await asyncio.to_thread(
            _loyalty, database_url, "customers", "import", str(TEMPLATES / name),
            "--merchant", merchant, "--dry-run",
        )  # fmt: skip
        assert dry.returncode == 0, dry.stderr
        assert dry.stdout.startswith("dry_run: 3 row(s); new customers 2, merged 0; 3 lot(s)")
    count = await deps.db.fetch_value("SELECT COUNT(*) FROM customers")
    assert count == 0
    imported = await asyncio.to_thread(
        _loyalty, database_url, "customers", "import", str(TEMPLATES / "template.xlsx"),
        "--merchant", merchant,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith("imported: 3 row(s); new customers 2")
    assert "строк прочитано: 3" in imported.stderr and "клиентов записано" in imported.stderr
    target = tmp_path / "base.xlsx"
    exported = await asyncio.to_thread(
        _loyalty, database_url, "customers", "export", "--merchant", merchant, "-o", str(target)
    )
    assert exported.returncode == 0, exported.stderr
    assert "Exported 2 customer(s)" in exported.stdout
    rows = list(load_workbook(target, read_only=True).worksheets[0].iter_rows(values_only=True))
    balances = {r[0]: r[9] for r in rows[1:]}
    assert balances == {"+79161234567": 700, "+79031112233": 1250.75}
    missing = await asyncio.to_thread(
        _loyalty, database_url, "customers", "import", str(tmp_path / "none.xlsx"),
        "--merchant", merchant,
    )  # fmt: skip
    assert missing.returncode == 1 and "none.xlsx" in missing.stderr
