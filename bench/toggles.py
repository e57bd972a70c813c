"""What the benchmarks that weigh a set of triggers share: switching the triggers off and on, timing single edits in
blocks that alternate between the two, and the load average to print beside each figure."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

import psycopg

EVENTS = ("insert", "update", "delete", "truncate")
BLOCK = 50


def set_triggers(url: str, table: str, prefix: str, state: str) -> None:
    """Enable (`on`) or disable (`off`) the four `<prefix>_<event>` statement triggers of `table`."""
    action = "ENABLE" if state == "on" else "DISABLE"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {table} " + ", ".join(f"{action} TRIGGER {prefix}_{e}" for e in EVENTS))


def load_avg() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def alternating_edits(url: str, ids: Sequence[int], edit: Callable[[int], tuple[str, tuple]],
                      switch: Callable[[str], None]) -> dict[str, list[float]]:
    """Milliseconds of each one-row edit transaction (`edit(id)` → SQL and parameters), in blocks of BLOCK edits,
    off and on in turn; the triggers are left on."""
    timings: dict[str, list[float]] = {"off": [], "on": []}
    for block in range(0, len(ids), BLOCK):
        state = "off" if (block // BLOCK) % 2 == 0 else "on"
        switch(state)
        with psycopg.connect(url) as conn:
            for fid in ids[block:block + BLOCK]:
                started = time.perf_counter()
                conn.execute(*edit(fid))
                conn.commit()
                timings[state].append((time.perf_counter() - started) * 1000)
    switch("on")
    return timings
