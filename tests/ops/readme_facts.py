"""What the README states about the demo and the onboarding, computed from the code:
the README tests compare the README's text with these."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

from cloud.services import customers, demo
from cloud.services.deps import Deps

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DEMO_HEADING = "## The demo customers"
ONBOARD_HEADING = "## Onboard a merchant"


def phone_text(e164: str) -> str:
    """+79001000001 -> +7 900 100-00-01, as the README writes phones."""
    d = e164[2:]
    return f"+7 {d[:3]} {d[3:6]}-{d[6:8]}-{d[8:]}"


def roubles(kopecks: int) -> str:
    return f"{Decimal(kopecks) / 100:.2f}"


async def demo_rows(deps: Deps) -> list[list[str]]:
    """The demo's customers after ``load_demo``: phone, name, physical card (or —), tier
    and available bonuses, in the fixture's order."""
    loaded = await demo.load_demo(deps)
    spec = json.loads(demo.DEMO_FILE.read_text())
    rows = []
    for person in spec["customers"]:
        found = await customers.find_customer(deps, loaded.merchant_id, phone=person["phone"])
        assert found is not None
        profile = await customers.customer_profile(deps, loaded.merchant_id, found)
        rows.append([
            phone_text(profile.phone), profile.name or "", person.get("card", "—"),
            profile.tier_name or "—", roubles(profile.balance.available),
        ])  # fmt: skip
    return rows


def section(heading: str) -> str:
    text = README.read_text()
    start = text.index(heading + "\n")
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the first Markdown table in ``text``."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def commands(text: str, prefix: str = "./dev loyalty ") -> list[tuple[str, str]]:
    """The indented command lines of ``text`` that start with ``prefix``: (command,
    trailing comment)."""
    found = []
    for line in text.splitlines():
        stripped = line.strip()
        if line.startswith("    ") and stripped.startswith(prefix):
            command, _, comment = stripped.partition("   #")
            found.append((command.strip(), comment.strip()))
    return found


def numbers_in(comment: str) -> list[str]:
    return re.findall(r"#(\d+)", comment)
