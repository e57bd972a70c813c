"""CPU seconds used by each side of a benchmark run (server, database, load generator), read from /proc.

On a 2-core machine the server under test, PostgreSQL and wrk all share the same cores; how many core-seconds
each used during a measurement says where the time went (and what the raw-database reference competes with).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, str, str, float]]:
    """pid -> (ppid, comm, cmdline, cpu seconds incl. reaped children)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        ppid = int(fields[1])
        utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
        out[int(entry.name)] = (ppid, comm, cmdline, (utime + stime + cutime + cstime) / TICKS)
    return out


def _tree(procs: dict[int, tuple[int, str, str, float]], roots: set[int]) -> set[int]:
    members = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, (ppid, *_rest) in procs.items():
            if ppid in members and pid not in members:
                members.add(pid)
                grew = True
    return members


def _snapshot(db_port: int, server_port: int) -> dict[str, float]:
    procs = _processes()
    db_roots = {p for p, (_pp, comm, cmd, _c) in procs.items() if comm == "postgres" and f"-p {db_port} " in cmd}
    server_roots = {p for p, (_pp, _comm, cmd, _c) in procs.items() if f"--port {server_port} " in cmd}
    groups = {"server": _tree(procs, server_roots), "db": _tree(procs, db_roots)}
    seconds = {name: sum(procs[p][3] for p in pids) for name, pids in groups.items()}
    children = os.times()  # wrk runs as our child and has been reaped when the block ends
    seconds["wrk"] = children.children_user + children.children_system
    return seconds


@dataclass
class CpuUse:
    seconds: dict[str, float] = field(default_factory=dict)

    def row(self, wall: float) -> str:
        return "cores used: " + ", ".join(f"{name} {secs / wall:.2f}" for name, secs in self.seconds.items())


@contextmanager
def cpu_use(db_port: int, server_port: int) -> Iterator[CpuUse]:
    """CPU seconds per side (server process tree, the PostgreSQL cluster, wrk) used inside the block; run wrk
    (and nothing else) as a child process inside it."""
    use = CpuUse()
    before = _snapshot(db_port, server_port)
    yield use
    after = _snapshot(db_port, server_port)
    use.seconds = {name: max(after[name] - before.get(name, 0.0), 0.0) for name in after}
