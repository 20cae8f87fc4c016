"""A throw-away PostgreSQL cluster for the test session, started with the server
binaries (``initdb`` / ``pg_ctl``). They refuse to run as root, so as root the cluster
belongs to an unprivileged user and the commands run through ``runuser``."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def find_bindir() -> Path | None:
    explicit = os.environ.get("LOYALTY_TEST_PG_BINDIR")
    if explicit:
        return Path(explicit)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    # The PyPI package ``pgserver`` (a test dependency) ships the server binaries, so a
    # machine with nothing but Python still runs the PostgreSQL half of the suite.
    try:
        import pgserver  # type: ignore[import-untyped]
    except ImportError:
        return None
    bundled = Path(pgserver.__file__).parent / "pginstall" / "bin"
    return bundled if (bundled / "initdb").exists() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unprivileged_user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and no unprivileged user to own the cluster")


@dataclass
class PostgresCluster:
    bindir: Path
    root: Path
    port: int
    user: str | None
    options: str = ""

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    @classmethod
    def start(cls, bindir: Path, settings: str = "") -> PostgresCluster:
        """Start a throw-away cluster; ``settings`` are more ``-c name=value`` options
        (the job benchmark gives it a server's memory)."""
        user = _unprivileged_user()
        root = Path(tempfile.mkdtemp(prefix="loyalty-pg-"))
        if user:
            os.chmod(root, 0o755)
            shutil.chown(root, user=user)
        cluster = cls(bindir=bindir, root=root, port=_free_port(), user=user)
        cluster._run(
            "initdb", "-D", str(cluster.datadir), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        cluster.options = (
            f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            f"-c max_connections=200 {settings}"
        )
        cluster.start_server()
        return cluster

    def start_server(self) -> None:
        """Start the server (again, after ``stop_server``), on the same port and data."""
        self._run(
            "pg_ctl", "-D", str(self.datadir), "-o", self.options, "-w", "-l",
            str(self.root / "server.log"), "start",
        )  # fmt: skip

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server and keep its data (the fault tests restart it mid-traffic):
        ``fast`` ends every session, ``immediate`` is a crash (recovery at the next
        start)."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def url(self, database: str, driver: str = "asyncpg") -> str:
        return f"postgresql+{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"
