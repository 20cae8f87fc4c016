"""The bridge's outbox: durable before the till is answered, replayed in arrival order,
a till's retry kept once, a refused item set aside and counted, never dropped."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from terminal_bridge.store.state import BridgeState


def _fill(state: BridgeState, count: int) -> None:
    for number in range(count):
        body = b'{"receipt":{"id":"r-%03d"}}' % number
        assert state.enqueue("native", "POST", "/api/v1/checkout/confirm",
                             {"Authorization": "Bearer t"}, body, f"confirm:r-{number:03d}",
                             now=1000.0 + number)  # fmt: skip


def test_outbox_survives_a_reopen_and_replays_in_arrival_order(tmp_path: Path) -> None:
    """What was committed is there after the file is reopened, and the head walks the
    items in the order they arrived, with their bytes and headers."""
    state = BridgeState(tmp_path / "b.sqlite3")
    _fill(state, 30)
    state.close()
    state = BridgeState(tmp_path / "b.sqlite3")
    assert state.depth() == 30 and state.oldest() == 1000.0
    seen = []
    while (item := state.head()) is not None:
        seen.append(item.key)
        assert item.body == b'{"receipt":{"id":"%s"}}' % item.key.split(":")[1].encode()
        assert item.headers == {"Authorization": "Bearer t"}
        state.delivered_many([item.seq])
    assert seen == [f"confirm:r-{number:03d}" for number in range(30)]
    assert state.oldest() is None


def test_wal_and_full_synchronous(tmp_path: Path) -> None:
    """The file is in WAL mode with synchronous=FULL: a commit is on disk before the
    bridge answers the till."""
    state = BridgeState(tmp_path / "b.sqlite3")
    assert state._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert state._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_retry_of_the_same_call_is_kept_once(tmp_path: Path) -> None:
    """A till repeating a sale the outbox already holds adds nothing (the cloud would
    record it once anyway)."""
    state = BridgeState(tmp_path / "b.sqlite3")
    assert state.enqueue("native", "POST", "/p", {}, b"{}", "confirm:x")
    assert not state.enqueue("native", "POST", "/p", {}, b"{}", "confirm:x")
    assert state.depth() == 1


def test_a_refused_item_is_set_aside_and_counted(tmp_path: Path) -> None:
    """A call the cloud refused for good leaves the outbox for the rejected table, with
    the cloud's answer; the next item becomes the head."""
    state = BridgeState(tmp_path / "b.sqlite3")
    _fill(state, 2)
    head = state.head()
    assert head is not None
    state.reject(head, 422, b'{"code":"validation_error"}')
    assert state.depth() == 1 and state.rejected_count() == 1
    assert state.rejected() == [(head.seq, "confirm:r-000", 422, b'{"code":"validation_error"}')]
    following = state.head()
    assert following is not None and following.key == "confirm:r-001"


def test_a_killed_process_loses_no_committed_item(tmp_path: Path) -> None:
    """A process killed right after ``enqueue`` returned (as SIGKILL or TerminateProcess
    would) left the item on disk."""
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from terminal_bridge.store.state import BridgeState
        state = BridgeState(Path({str(tmp_path / "b.sqlite3")!r}))
        for n in range(20):
            state.enqueue("native", "POST", "/p", {{}}, b"{{}}", f"confirm:{{n}}")
        print("committed", flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "committed"
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    state = BridgeState(tmp_path / "b.sqlite3")
    assert state.depth() == 20
    head = state.head()
    assert head is not None and head.key == "confirm:0"


def test_delivery_marks_leave_the_outbox_at_full_synchronous(tmp_path: Path) -> None:
    """Marking an item delivered skips its own fsync, and the next enqueue is FULL again."""
    state = BridgeState(tmp_path / "b.sqlite3")
    _fill(state, 2)
    head = state.head()
    assert head is not None
    state.delivered_many([head.seq])
    assert state._db.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert state.depth() == 1
