"""``./dev audit`` (.ci/audit.py) fails CI on a known vulnerability, from pip-audit's
report or, for a release pip-audit could not look up, from the project's latest-release
advisories; a release neither can check is named, not passed over in silence. pip-audit
and PyPI are stood in for: the real run is CI's own."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "audit.py"


def _audit(monkeypatch: pytest.MonkeyPatch, report: dict[str, Any], latest: dict[str, Any]) -> Any:
    spec = importlib.util.spec_from_file_location("ci_audit", SCRIPT)
    assert spec is not None and spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        assert command[1:3] == ["-m", "pip_audit"]
        return subprocess.CompletedProcess(command, 1, json.dumps(report), "")

    monkeypatch.setattr(module.subprocess, "run", run)
    monkeypatch.setattr(module, "_latest_advisories", lambda name, version: latest.get(name))
    return module.main()


def test_a_vulnerability_fails_and_an_unaudited_release_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A vulnerability pip-audit reports fails the run; one found in the fallback fails it
    too; a clean report passes, listing what could not be audited; a run that could audit
    nothing fails."""
    vulnerable = {"name": "aiohttp", "version": "3.9.0",
                  "vulns": [{"id": "GHSA-1", "fix_versions": ["3.9.4"]}]}  # fmt: skip
    skipped = {"name": "yarl", "version": "1.0", "skip_reason": "not found"}
    assert _audit(monkeypatch, {"dependencies": [vulnerable]}, {}) == 1
    assert "VULNERABLE aiohttp 3.9.0: GHSA-1" in capsys.readouterr().out
    assert _audit(monkeypatch, {"dependencies": [skipped]}, {"yarl": ["PYSEC-2"]}) == 1
    assert "VULNERABLE yarl 1.0: PYSEC-2" in capsys.readouterr().out
    clean = {"name": "idna", "version": "3.0", "vulns": []}
    assert _audit(monkeypatch, {"dependencies": [clean, skipped]}, {}) == 0
    assert "not audited (no advisory data for the release): yarl 1.0" in capsys.readouterr().out
    assert _audit(monkeypatch, {"dependencies": [skipped]}, {}) == 2  # no PyPI: not a pass
