"""Dependency audit (`./dev audit`, run by .ci/run): fails on a known vulnerability of
any package installed in ./.venv.

pip-audit asks PyPI for each installed release's advisories (`/pypi/NAME/VERSION/json`).
Where that answer is missing (a mirror that serves only the project document), the
package is checked here against the project document's `vulnerabilities`, which are
those of the latest release: exact when the installed release is the latest, as pip
installs it. What neither could check is listed as not audited (docs/security.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

OWN = {"loyalty-cloud"}
IGNORED: dict[str, str] = {
    # "GHSA-xxxx-xxxx-xxxx": "why it does not apply here, and until when",
}


def _latest_advisories(name: str, version: str) -> list[str] | None:
    """The advisories of ``name``'s latest release if that is ``version``; None if the
    project document cannot tell."""
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=30) as answer:
            document = json.load(answer)
    except (OSError, ValueError):
        return None
    if document["info"]["version"] != version:
        return None
    return [
        v["id"] for v in document.get("vulnerabilities") or []
        if not v.get("withdrawn") and v["id"] not in IGNORED
    ]  # fmt: skip


def main() -> int:
    command = [sys.executable, "-m", "pip_audit", "--local", "--format", "json",
               "--progress-spinner", "off"]  # fmt: skip
    for advisory in IGNORED:
        command += ["--ignore-vuln", advisory]
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        report = json.loads(run.stdout)
    except ValueError:
        print(run.stdout, run.stderr, sep="\n", file=sys.stderr)
        print("audit: pip-audit gave no report", file=sys.stderr)
        return 2
    found: list[str] = []
    unaudited: list[str] = []
    audited = 0
    skipped: list[tuple[str, str]] = []
    for dependency in report["dependencies"]:
        name, version = dependency["name"], dependency.get("version", "")
        if name in OWN:
            continue
        if "skip_reason" in dependency:
            skipped.append((name, version or metadata.version(name)))
            continue
        audited += 1
        found += [f"{name} {version}: {v['id']} (fixed in {', '.join(v['fix_versions']) or '—'})"
                  for v in dependency["vulns"]]  # fmt: skip
    with ThreadPoolExecutor(8) as pool:
        answers = pool.map(lambda pair: _latest_advisories(*pair), skipped)
        for (name, version), advisories in zip(skipped, answers, strict=True):
            if advisories is None:
                unaudited.append(f"{name} {version}")
                continue
            audited += 1
            found += [f"{name} {version}: {advisory}" for advisory in advisories]
    print(f"audit: {audited} installed packages audited, {len(found)} known vulnerabilities")
    if unaudited:
        print(f"audit: not audited (no advisory data for the release): {', '.join(unaudited)}")
    for line in found:
        print(f"audit: VULNERABLE {line}")
    if not audited:
        print("audit: nothing could be audited (no network to PyPI?)", file=sys.stderr)
        return 2
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
