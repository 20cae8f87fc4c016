"""``./dev`` installs what each command needs, once: ``serve`` and ``loyalty`` only the
service (``pip install -e .``), ``test``/``lint``/``bench`` the test extra on top, each
tracked by its own stamp so switching commands installs nothing; it says what it is
doing while it does. Run in a copy of the script with a stand-in interpreter that
records the calls (the real install is what every other test runs on)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WHOLE_SUITE = "-m pytest -n 2 --dist worksteal"
RECORDER = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/../calls.log"
"""


def _checkout(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "dev", tmp_path / "dev")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bindir = tmp_path / ".venv" / "bin"
    bindir.mkdir(parents=True)
    for name in ("python", "loyalty", "ruff", "mypy"):
        (bindir / name).write_text(RECORDER)
        (bindir / name).chmod(0o755)
    return tmp_path


def _dev(checkout: Path, *args: str, workers: str | None = None) -> tuple[list[str], str]:
    """Run ``./dev``; the calls it made and what it said on stderr."""
    log = checkout / ".venv" / "calls.log"
    log.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "LOYALTY_TEST_WORKERS"}
    if workers is not None:
        env["LOYALTY_TEST_WORKERS"] = workers
    result = subprocess.run(
        ["bash", str(checkout / "dev"), *args],
        env={**env, "PYTHON": sys.executable}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines() if log.exists() else []
    return calls, result.stderr


def test_serve_installs_only_the_service_and_test_adds_its_tools_once(tmp_path: Path) -> None:
    """First ``loyalty``: ``pip install -e .`` with a progress line; again: nothing.
    ``test``: ``-e .[test]``; then ``loyalty``, ``test``, ``lint`` install nothing more;
    a newer pyproject.toml reinstalls once."""
    checkout = _checkout(tmp_path)
    calls, said = _dev(checkout, "loyalty", "migrate")
    assert calls == ["-m pip install -e .", "migrate"]
    assert "dev: installing the service and only what it needs to run" in said
    assert _dev(checkout, "loyalty", "migrate") == (["migrate"], "")

    calls, said = _dev(checkout, "test", "-q")
    assert calls == ["-m pip install -e .[test]", "-m pytest -n 2 --dist worksteal -q"]
    assert "test and lint tools" in said
    assert _dev(checkout, "loyalty", "demo")[0] == ["demo"]
    assert _dev(checkout, "test")[0] == [WHOLE_SUITE]
    assert _dev(checkout, "lint")[0] == ["check .", "format --check .",
                                         "cloud schemas webhooks terminal_bridge"]  # fmt: skip

    earlier = time.time() - 60  # pyproject.toml edited after the last install
    for stamp in (checkout / ".venv").glob(".installed-*"):
        os.utime(stamp, (earlier, earlier))
    assert _dev(checkout, "test")[0] == ["-m pip install -e .[test]", WHOLE_SUITE]
    assert _dev(checkout, "test")[0] == [WHOLE_SUITE]


def test_the_whole_suite_runs_on_two_processes_a_named_test_in_one(tmp_path: Path) -> None:
    """``./dev test`` (options only) is the whole suite on two xdist workers; naming a
    file or a test runs it in one process; ``LOYALTY_TEST_WORKERS=1`` turns it off."""
    checkout = _checkout(tmp_path)
    _dev(checkout, "test")
    assert _dev(checkout, "test", "-q", "-x")[0] == ["-m pytest -n 2 --dist worksteal -q -x"]
    assert _dev(checkout, "test", "tests/db", "-q")[0] == ["-m pytest tests/db -q"]
    assert _dev(checkout, "test", "-q", workers="1")[0] == ["-m pytest -q"]
