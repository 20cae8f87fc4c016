"""CPU time of the service per calculate, native against Frontol: the figure a loaded
machine moves least (``bench/frontol.py``'s rates follow the other processes' load).

    python bench/frontol_cpu.py [--customers 1000] [--requests 1000] [--rounds 5]

The same database, service process and bodies as ``bench/frontol.py``; the requests sent
by ``--connections`` aiohttp connections from this process; the service's own CPU
(``/proc/<pid>/stat`` user + system) read before and after each round, rounds
interleaved native, Frontol, native, ...; the median of rounds and of their ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import aiohttp
from checkout import CALCULATE  # type: ignore[import-not-found]
from frontol import serve_seeded  # type: ignore[import-not-found]

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


async def measure(pid: int, base: str, files: dict[str, Path], urls: dict[str, str],
                  rounds: int, connections: int) -> dict[str, list[float]]:  # fmt: skip
    bodies = {
        name: [line.split("\t", 1) for line in file.read_text().splitlines()]
        for name, file in files.items()
    }
    async with aiohttp.ClientSession(base) as session:

        async def send(name: str, part: list[list[str]]) -> None:
            for header, body in part:
                async with session.post(
                    urls[name], data=body.encode(),
                    headers={"Authorization": header, "Content-Type": "application/json"},
                ) as response:  # fmt: skip
                    text = await response.read()
                    assert response.status == 200 and b'"code":-1' not in text, text[:300]

        async def run(name: str) -> float:
            items = bodies[name]
            before = cpu_seconds(pid)
            await asyncio.gather(*(send(name, items[i::connections]) for i in range(connections)))
            return (cpu_seconds(pid) - before) / len(items) * 1000

        for name in files:  # warm-up: caches, and the store and till Frontol creates
            await run(name)
        results: dict[str, list[float]] = {name: [] for name in files}
        for _ in range(rounds):
            for name in files:
                results[name].append(await run(name))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="loyalty-bench-frontol-cpu-"))
    server = None
    try:
        server, organization, native, frontol = serve_seeded(workdir, args.customers, args.requests)
        files = {"n": native, "f": frontol}
        urls = {"n": CALCULATE, "f": f"/frontol/v1/{organization}/document"}
        results = asyncio.run(
            measure(server.process.pid, server.url, files, urls, args.rounds, args.connections)
        )
        ratios = [n / f for n, f in zip(results["n"], results["f"], strict=True)]
        for name, title in (("n", "native calculate"), ("f", "Frontol calculate")):
            figures = ", ".join(f"{x:.3f}" for x in results[name])
            print(
                f"{title:18}: {statistics.median(results[name]):.3f} ms CPU a request ({figures})"
            )
        load = os.getloadavg()[0]
        print(f"native / Frontol (median of rounds): {statistics.median(ratios):.3f} (rounds "
              f"{min(ratios):.2f}-{max(ratios):.2f}); load average {load:.2f}")  # fmt: skip
        return 0
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
